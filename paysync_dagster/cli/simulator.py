"""`paysync simulator`: synthetic checkouts against configured targets, and their inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from paysync_dagster.cli.context import CliContext, clear_errors, new_table, rich_console, say

_READABLE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def simulator() -> None:
    """Synthetic payments: targets, runs and test customers."""


@simulator.group("target")
def target() -> None:
    """Configure the checkout flows the simulator exercises."""


@target.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(["stripe", "gateway"]), required=True)
@click.option(
    "--workspace",
    "workspace_id",
    default=None,
    help="Stripe: the mirrored workspace whose freshness runs measure.",
)
@click.option(
    "--api-key",
    default=None,
    help="Stripe: secret key (prompted, hidden, if omitted). Gateway: optional token.",
)
@click.option("--api-base", default=None, help="Stripe: API base URL (default api.stripe.com).")
@click.option("--tokenization-url", default=None, help="Gateway: TOKENIZATION_URL.")
@click.option("--checkout-url", default=None, help="Gateway: CHECKOUT_URL.")
@click.option("--payment-url", default=None, help="Gateway: PAYMENT_URL.")
@click.option("--form-id", default=None, help="Gateway: FORM_ID.")
@click.option("--merchant-id", default=None, help="Gateway: MERCHANT_ID.")
@click.option(
    "--amount",
    type=click.IntRange(1, 99_999_999),
    default=1000,
    show_default=True,
    help="Amount per attempt, in the currency's smallest unit.",
)
@click.option("--currency", default="eur", show_default=True)
@click.option("--replace", is_flag=True, help="Overwrite an existing target of this name.")
@click.pass_obj
@clear_errors
def target_add(obj: CliContext, name: str, replace: bool, **fields: Any) -> None:  # fmt: skip
    """Add (or with --replace, overwrite) the simulator target NAME; its key is encrypted."""
    from paysync_dagster.dagster_names import SIMULATOR_TARGET_PARTITIONS_NAME
    from paysync_dagster.simulator.targets import Target, save_target

    if fields["kind"] == "stripe" and fields["api_key"] is None:
        fields["api_key"] = click.prompt("Stripe API key", hide_input=True)
    save_target(obj.engine(), obj.vault(), Target(name=name, **fields), replace=replace)
    obj.add_partitions(SIMULATOR_TARGET_PARTITIONS_NAME, [name])
    linked = f", freshness measured on workspace {fields['workspace_id']!r}"
    say(
        f"simulator target {name!r} ({fields['kind']}) saved"
        + (linked if fields["workspace_id"] else "")
    )


@target.command("list")
@click.pass_obj
@clear_errors
def target_list(obj: CliContext) -> None:
    """List the simulator targets (never their keys)."""
    from paysync_dagster.simulator.targets import list_targets

    table = new_table("target", "kind", "endpoint", "workspace", "amount")
    for item in list_targets(obj.engine()):
        endpoint = item.api_base or item.payment_url or "https://api.stripe.com"
        amount = f"{item.amount} {item.currency}"
        table.add_row(item.name, item.kind, endpoint, item.workspace_id or "-", amount)
    rich_console().print(table)


@target.command("remove")
@click.argument("name")
@click.pass_obj
@clear_errors
def target_remove(obj: CliContext, name: str) -> None:
    """Remove the simulator target NAME (its recorded runs stay)."""
    from paysync_dagster.dagster_names import SIMULATOR_TARGET_PARTITIONS_NAME
    from paysync_dagster.simulator.targets import remove_target

    remove_target(obj.engine(), name)
    obj.delete_partitions(SIMULATOR_TARGET_PARTITIONS_NAME, [name])
    say(f"simulator target {name!r} removed")


def _attempt_line(attempt: Any) -> str:
    steps = " ".join(
        f"{step}={value:.0f}ms"
        for step, value in (
            ("tokenize", attempt.tokenize_ms),
            ("checkout", attempt.checkout_ms),
            ("pay", attempt.pay_ms),
        )
        if value is not None
    )
    line = (
        f"#{attempt.iteration} {attempt.status:<8} {attempt.card_scenario}:"
        f" expected {attempt.expected_outcome}, got {attempt.actual_outcome or 'no outcome'}"
        f" ({steps}) {attempt.provider_payment_id or ''}"
    )
    if attempt.error_code:
        line += f" [{attempt.error_code}]"
    return line


@simulator.command("run")
@click.argument("name")
@click.option(
    "--iterations",
    type=click.IntRange(1, 1000),
    default=None,
    help="Attempts (default ITERATIONS_PER_RUN, else 2).",
)
@click.option(
    "--cards",
    type=_READABLE_FILE,
    default=None,
    help="Cards JSON (default: the shipped set for the target's kind).",
)
@click.option(
    "--customers",
    type=_READABLE_FILE,
    default=None,
    help="Customers CSV (default: synthetic customers).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 120),
    default=30.0,
    show_default=True,
    help="Seconds each step may take.",
)
@click.pass_obj
@clear_errors
def run(obj: CliContext, name: str, iterations: int | None, cards: Path | None,
        customers: Path | None, timeout: float) -> None:  # fmt: skip
    """Run checkout attempts against target NAME; exit 0 when every attempt passed, else 1."""
    from paysync_dagster.simulator import outcomes
    from paysync_dagster.simulator.engine import RunOptions, run_simulation
    from paysync_dagster.simulator.inputs import load_inputs
    from paysync_dagster.simulator.settings import LoopSettings
    from paysync_dagster.simulator.targets import load_target

    engine = obj.engine()
    configured = load_target(engine, obj.vault(), name)
    inputs = load_inputs(configured.kind, cards, customers)
    for problem in inputs.problems:
        say(f"skipped {problem}")
    options = RunOptions(
        iterations=iterations or LoopSettings.from_environment().iterations,
        trigger="manual",
        cards=inputs.cards,
        customers=inputs.customers,
        timeout_seconds=timeout,
    )
    summary = run_simulation(
        engine, configured, options, on_attempt=lambda a: say(_attempt_line(a))
    )
    counts = ", ".join(f"{summary.count(s)} {s}" for s in outcomes.STATUSES)
    fresh = [a.freshness_ms for a in summary.attempts if a.freshness_ms is not None]
    missing = sum(1 for a in summary.attempts if a.freshness_status == "missing")
    freshness = ""
    if fresh or missing:
        freshness = f"; payment->mirror max {max(fresh, default=0):.0f} ms, {missing} missing"
    say(
        f"run {summary.run_id} on {name!r}: {len(summary.attempts)} attempt(s): {counts}{freshness}"
    )
    if not summary.all_passed:
        raise click.exceptions.Exit(1)


@simulator.command("runs")
@click.option("--target", "target_name", default=None, help="Only this target's runs.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_obj
@clear_errors
def runs(obj: CliContext, target_name: str | None, limit: int) -> None:
    """The latest simulator runs, newest first."""
    from paysync_dagster.simulator.records import recent_runs

    table = new_table("run", "target", "trigger", "status", "passed", "degraded", "failed", "error")
    for row in recent_runs(obj.engine(), target=target_name, limit=limit):
        table.add_row(
            row["id"], row["target"], row["trigger"], row["status"],
            *(str(row[key]) for key in ("passed", "degraded", "failed", "errors")),
        )  # fmt: skip
    rich_console().print(table)


@simulator.command("customers")
@click.option("--rows", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
def customers_command(rows: int, out: Path, seed: int) -> None:
    """Write a CSV of synthetic customers (Faker) with the seed's columns."""
    from paysync_dagster.simulator.customers import write_customers_csv

    write_customers_csv(out, rows, seed=seed)
    say(f"{rows} synthetic customer(s) written to {out}")
