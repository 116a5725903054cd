"""Simulator benchmark: what the simulator adds per attempt, and payment -> mirror latency.

1. Overhead. The gateway sandbox runs in its own process with 20 ms of latency per step.
   The baseline is the same three calls (tokenize, checkout, pay) made with a bare
   `httpx.Client`, in the same run, before and after the simulator. The simulator makes 200
   attempts through `run_simulation`: cards, customers, idempotency keys, judging, and the
   run and its attempts stored in SQLite. Overhead per attempt = (simulator wall time -
   baseline wall time) / attempts; the target is at most 5 ms.
2. Freshness. A Stripe sandbox delivers signed webhooks to `paysync serve`'s app (in this
   process, one webhook worker, SQLite); 200 `pm_card_visa` payments on a target linked to
   the workspace, paced (one attempt per run, as the loop makes them) and in a burst (one run
   of 200, back to back); p50 and p99 of the payment -> `payment_intents` row latency the
   probe records (the row's `synced_at` minus the moment the confirm answered).

Run: .venv/bin/python benchmarks/simulator.py [--attempts N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from paysync_dagster.demo_simulator import webhook_server
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.sandbox.gateway.settings import GatewaySandboxSettings
from paysync_dagster.sandbox.stripe import StripeSandboxSettings, running_sandbox
from paysync_dagster.settings import Settings
from paysync_dagster.simulator.cards import load_cards, parse_cards
from paysync_dagster.simulator.customers import synthetic_customers
from paysync_dagster.simulator.engine import RunOptions, run_simulation
from paysync_dagster.simulator.evaluation import percentile
from paysync_dagster.simulator.targets import Target, load_target, save_target
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.vault import KeyRing, Vault

LATENCY_MS = 20
TARGET_OVERHEAD_MS = 5.0
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gateway_process(latency_ms: int) -> Iterator[str]:
    """`paysync sandbox gateway` in a child process on a free port; yields its base URL."""
    env = {**os.environ, "PYTHONPATH": str(_SOURCE_ROOT)}
    command = [sys.executable, "-c", "from paysync_dagster.cli import main; main()",
               "sandbox", "gateway", "--port", "0", "--latency-ms", str(latency_ms)]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            if not selector.select(30):
                raise TimeoutError("the gateway sandbox did not start within 30 s")
        line = child.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the gateway sandbox failed to start: {line!r}")
        yield line.removeprefix("listening on ").strip()
    finally:
        child.terminate()
        child.wait(10)


def baseline(url: str, attempts: int, settings: GatewaySandboxSettings) -> float:
    """Seconds for `attempts` x three bare httpx calls, with the simulator's bodies."""
    customer = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.test"}
    card = {"number": "4111111111111111", "cvv": "123", "expiryMonth": "12", "expiryYear": "34"}
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        for index in range(attempts):
            token = client.post(
                f"{url}/v1/tokenize", json={"formId": settings.form_id, "card": card}
            ).json()
            checkout = client.post(
                f"{url}/v1/checkouts",
                json={"formId": settings.form_id, "merchantId": settings.merchant_id,
                      "refno": f"b{index}", "amount": 1000, "currency": "EUR",
                      "customer": customer},
            ).json()  # fmt: skip
            paid = client.post(
                f"{url}/v1/payments",
                json={"merchantId": settings.merchant_id, "checkoutId": checkout["checkoutId"],
                      "transactionId": token["transactionId"]},
            )  # fmt: skip
            assert paid.status_code == 200, paid.text
        return time.perf_counter() - started


def overhead(workdir: Path, vault: Vault, attempts: int) -> dict[str, float]:
    """Baseline, simulator, baseline against one gateway process; per-attempt figures."""
    engine = create_engine(f"sqlite:///{workdir / 'overhead.db'}")
    upgrade(engine)
    settings = GatewaySandboxSettings()
    success, _ = parse_cards(json.dumps([{"number": "4111111111111111", "cvv": "123",
                                          "month": "12", "year": "2034"}]), "gateway")  # fmt: skip
    customers = synthetic_customers(20)
    with gateway_process(LATENCY_MS) as url:
        save_target(
            engine,
            vault,
            Target(name="bench-gateway", kind="gateway", tokenization_url=f"{url}/v1/tokenize",
                   checkout_url=f"{url}/v1/checkouts", payment_url=f"{url}/v1/payments",
                   form_id=settings.form_id, merchant_id=settings.merchant_id),
        )  # fmt: skip
        target = load_target(engine, vault, "bench-gateway")
        baseline(url, 10, settings)  # warm up both sides' connections and code paths
        before = baseline(url, attempts, settings)
        options = RunOptions(iterations=attempts, trigger="manual", cards=success,
                             customers=customers, first_card=0)  # fmt: skip
        started = time.perf_counter()
        summary = run_simulation(engine, target, options)
        simulated = time.perf_counter() - started
        after = baseline(url, attempts, settings)
    assert summary.all_passed, [a.status for a in summary.attempts if a.status != "passed"]
    engine.dispose()
    base = (before + after) / 2
    return {
        "baseline_ms_per_attempt": base / attempts * 1000,
        "baseline_spread_ms_per_attempt": abs(before - after) / attempts * 1000,
        "simulator_ms_per_attempt": simulated / attempts * 1000,
        "overhead_ms_per_attempt": (simulated - base) / attempts * 1000,
    }


def freshness(workdir: Path, vault: Vault, attempts: int) -> dict[str, float]:
    """Payment -> mirror latency of `attempts` succeeded Stripe payments via paysync serve."""
    url_db = f"sqlite:///{workdir / 'freshness.db'}"
    engine = create_engine(url_db)
    upgrade(engine)
    settings = Settings(home=workdir, database_url=url_db, production=False)
    secret, api_key = f"whsec_{secrets.token_hex(16)}", f"sk_test_{secrets.token_hex(12)}"
    with ExitStack() as stack:
        server = stack.enter_context(webhook_server(settings, engine, vault))
        sandbox = stack.enter_context(
            running_sandbox(
                StripeSandboxSettings(customers=0, api_key=api_key, webhook_secret=secret,
                                      webhook_urls=(f"{server}/webhooks/stripe/bench",))
            )
        )  # fmt: skip
        add_workspace(engine, vault, workspace_id="bench", provider="stripe", api_key=api_key,
                      webhook_secret=secret, api_base=sandbox)  # fmt: skip
        save_target(engine, vault, Target(name="bench-stripe", kind="stripe", api_key=api_key,
                                          api_base=sandbox, workspace_id="bench"))  # fmt: skip
        target = load_target(engine, vault, "bench-stripe")
        cards = [card for card in load_cards(None, "stripe")[0] if card.expect == "succeeded"]
        customers = synthetic_customers(20)
        # Paced: one attempt per run, as the loop's small runs make them; each run waits for
        # its payment, so the pipeline is idle when the next payment is made.
        paced = []
        for _ in range(attempts):
            options = RunOptions(iterations=1, trigger="manual", cards=cards, customers=customers)
            paced += run_simulation(engine, target, options).attempts
        # Burst: every attempt in one run, back to back; the pipeline queues them.
        options = RunOptions(
            iterations=attempts, trigger="manual", cards=cards, customers=customers
        )
        burst = run_simulation(engine, target, options).attempts
    engine.dispose()
    figures: dict[str, float] = {}
    for name, made in (("paced", paced), ("burst", burst)):
        latencies = [a.freshness_ms for a in made if a.freshness_ms is not None]
        figures[f"{name}_freshness_p50_ms"] = percentile(latencies, 0.5)
        figures[f"{name}_freshness_p99_ms"] = percentile(latencies, 0.99)
        figures[f"{name}_freshness_missing"] = sum(
            1 for a in made if a.freshness_status == "missing"
        )
    figures["stripe_attempt_p50_ms"] = percentile([a.total_ms for a in burst], 0.5)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=200)
    args = parser.parse_args()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    vault = Vault(KeyRing.generate("bench"))
    with tempfile.TemporaryDirectory() as tmp:
        figures = overhead(Path(tmp), vault, args.attempts)
        figures.update(freshness(Path(tmp), vault, args.attempts))
    print(f"gateway sandbox, {LATENCY_MS} ms per step, {args.attempts} attempts:")
    print(
        f"  three raw httpx calls   {figures['baseline_ms_per_attempt']:7.2f} ms per attempt"
        f" (before/after differ by {figures['baseline_spread_ms_per_attempt']:.2f} ms)"
    )
    print(f"  simulator               {figures['simulator_ms_per_attempt']:7.2f} ms per attempt")
    verdict = "within" if figures["overhead_ms_per_attempt"] <= TARGET_OVERHEAD_MS else "OVER"
    print(
        f"  overhead                {figures['overhead_ms_per_attempt']:7.2f} ms per attempt"
        f" ({verdict} the {TARGET_OVERHEAD_MS:.0f} ms target)"
    )
    print(f"payment -> payment_intents row through paysync serve ({args.attempts} payments):")
    for name, how in (("paced", "one attempt per run"), ("burst", "one run, back to back")):
        print(
            f"  {name} ({how}): p50 {figures[f'{name}_freshness_p50_ms']:.0f} ms,"
            f" p99 {figures[f'{name}_freshness_p99_ms']:.0f} ms,"
            f" missing {figures[f'{name}_freshness_missing']}"
        )
    print(f"machine: {os.cpu_count()} cores; load average before the run: {load}")
    print(
        json.dumps(
            {
                "benchmark": "simulator",
                "attempts": args.attempts,
                "latency_ms_per_step": LATENCY_MS,
                "load_average": load,
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
