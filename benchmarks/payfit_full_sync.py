"""PayFit full sync of 20,000 collaborators against the PayFit sandbox (issue 11's targets).

Two cases, each contender in a fresh child process (its peak RSS is its own) and the sandbox
in another:

- **budget**: the sandbox enforces PayFit's 50 requests/s; paysync syncs with its default
  budget. The figure is objects/s as a share of the ceiling (50 req/s x 50 per page = 2,500
  objects/s); target >= 90% with zero 429s.
- **unthrottled**: no limit anywhere; paysync against a raw httpx fetch of the same pages
  (maxResults=50, following nextPageToken, decoding each body) in the same run; target >= 0.7x.

Usage: python benchmarks/payfit_full_sync.py [--collaborators N]. Prints a table and one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from paysync_dagster.providers.payfit.budgets import PAYFIT_READ_LIMIT_PER_SECOND
from paysync_dagster.providers.payfit.client import PAGE_SIZE
from paysync_dagster.sandbox.payfit import PayfitSandboxSettings, requests_received, running_sandbox

COMPANY = "bench-company"
CEILING_OBJECTS_PER_SECOND = PAYFIT_READ_LIMIT_PER_SECOND * PAGE_SIZE
UNLIMITED = 10_000.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_fetch(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor: httpx GETs of every page, each body decoded, nothing else."""
    headers = {"Authorization": f"Bearer {spec['api_key']}"}
    url = f"{spec['base_url']}/companies/{COMPANY}/collaborators"
    objects, token = 0, None
    started = time.perf_counter()
    with httpx.Client(headers=headers, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"maxResults": PAGE_SIZE}
            if token:
                params["nextPageToken"] = token
            body = orjson.loads(client.get(url, params=params).raise_for_status().content)
            objects += len(body["collaborators"])
            token = body.get("meta", {}).get("nextPageToken")
            if not token:
                break
    return {"objects": objects, "seconds": time.perf_counter() - started}


def paysync_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """paysync's engine: a full sync of collaborators into a fresh SQLite file."""
    from paysync_dagster.providers.configure import add_workspace
    from paysync_dagster.providers.payfit.provider import COMPANY_ID, OAUTH_BASE, PAYFIT
    from paysync_dagster.store.database import create_engine, upgrade
    from paysync_dagster.store.vault import KeyRing, Vault
    from paysync_dagster.sync.provider_sync import SyncOptions, sync_provider_entity

    engine = create_engine(f"sqlite:///{spec['workdir']}/paysync.db")
    upgrade(engine)
    vault = Vault(KeyRing.generate("bench1"))
    add_workspace(
        engine, vault, workspace_id="bench", provider="payfit", api_key=spec["api_key"],
        api_base=spec["base_url"], options={COMPANY_ID: COMPANY, OAUTH_BASE: spec["base_url"]},
        rate_limit_per_second=spec["rate_limit"],
    )  # fmt: skip
    started = time.perf_counter()
    result = sync_provider_entity(
        PAYFIT, engine, vault, workspace_id="bench", entity_type="collaborators",
        options=SyncOptions(),
    )  # fmt: skip
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"objects": result.listed, "seconds": seconds, "retries": result.retries}


CONTENDERS = {"raw": raw_fetch, "paysync": paysync_sync}


def _run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec_path = Path(spec["workdir"]) / f"{kind}.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    output = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(spec_path)],
        check=True, capture_output=True, text=True, env=env, timeout=1800,
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def _case(collaborators: int, rate_limit: float | None, contenders: list[str]) -> dict:
    """Each contender against its own fresh sandbox: the sandbox caches generated pages, so a
    second contender on the same one would be served faster."""
    figures: dict[str, Any] = {}
    for kind in contenders:
        api_key = f"pf-bench-{secrets.token_hex(12)}"
        settings = PayfitSandboxSettings(
            collaborators=collaborators, seed=1, api_key=api_key, company_id=COMPANY,
            rate_limit=rate_limit, record_requests=True,
        )  # fmt: skip
        with (
            running_sandbox(settings, subprocess=True) as url,
            tempfile.TemporaryDirectory() as work,
        ):
            spec = {"base_url": url, "api_key": api_key, "workdir": work,
                    "rate_limit": None if rate_limit else UNLIMITED}  # fmt: skip
            result = _run_child(kind, spec)
            result["http_429"] = sum(1 for e in requests_received(url) if e["status"] == 429)
        result["objects_per_second"] = result["objects"] / result["seconds"]
        figures[kind] = result
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collaborators", type=int, default=20_000)
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3]
    budget = _case(args.collaborators, PAYFIT_READ_LIMIT_PER_SECOND, ["paysync"])["paysync"]
    unthrottled = _case(args.collaborators, None, ["raw", "paysync"])
    share = budget["objects_per_second"] / CEILING_OBJECTS_PER_SECOND
    ratio = unthrottled["paysync"]["objects_per_second"] / unthrottled["raw"]["objects_per_second"]
    rows = [
        ("budget: paysync at 50 req/s", budget),
        ("unthrottled: raw httpx", unthrottled["raw"]),
        ("unthrottled: paysync", unthrottled["paysync"]),
    ]
    print(f"PayFit full sync, {args.collaborators:,} collaborators; load average {' '.join(load)}")
    print(f"{'case':<30} {'objects':>8} {'seconds':>8} {'obj/s':>8} {'429s':>5} {'RSS MB':>7}")
    for name, r in rows:
        print(
            f"{name:<30} {r['objects']:>8,} {r['seconds']:>8.2f} {r['objects_per_second']:>8,.0f}"
            f" {r['http_429']:>5} {r['peak_rss_mb']:>7.0f}"
        )
    print(f"share of the 2,500 objects/s ceiling: {share:.1%} (target >= 90%, zero 429s)")
    print(f"paysync vs raw, unthrottled: {ratio:.2f}x (target >= 0.7x)")
    print(
        json.dumps(
            {
                "benchmark": "payfit_full_sync",
                "collaborators": args.collaborators,
                "load_average": load,
                "budget_share_of_ceiling": round(share, 4),
                "budget_http_429": budget["http_429"],
                "unthrottled_ratio_vs_raw": round(ratio, 3),
                "results": {name: r for name, r in rows},
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        outcome = CONTENDERS[sys.argv[2]](json.loads(Path(sys.argv[3]).read_text()))
        print(json.dumps({**outcome, "peak_rss_mb": _peak_rss_mb()}))
    else:
        main()
