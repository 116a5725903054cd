"""`paysync mpesa`: audit and repair drift between bars and their M-Pesa credentials."""

from __future__ import annotations

import sys

import click

from paysync_dagster.cli.context import CliContext, new_table, rich_console, say, yes_no


@click.group()
def mpesa() -> None:
    """M-Pesa status consistency: audit and repair drift (tokens: `paysync token`)."""


@mpesa.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def mpesa_audit(obj: CliContext, limit: int) -> None:
    """Report bars whose mpesa_enabled differs from their credentials' is_active, and bars
    whose credentials do not decrypt.

    Exits 1 when any bar is inconsistent or waits for manual repair.
    """
    from paysync_dagster.mpesa.audit import audit

    report = audit(obj.engine(), obj.vault(), limit=limit)
    say(
        f"{report.bars} bar(s), {report.bars_with_credentials} with credentials,"
        f" {report.inconsistent_count} inconsistent ({report.undecryptable} with credentials"
        f" that do not decrypt), {report.unresolved.bars} waiting for manual repair"
    )
    if report.inconsistent:
        table = new_table("bar", "mpesa_enabled", "must be", "problem")
        for bar in report.inconsistent:
            table.add_row(
                str(bar.bar_id),
                yes_no(bar.mpesa_enabled),
                yes_no(bar.expected_enabled),
                bar.kind,
            )
        rich_console().print(table)
        if report.drift.count > len(report.inconsistent):
            say(f"(first {len(report.inconsistent)} shown; use --limit for more)")
    if report.undecryptable_sample:
        say(
            "credentials that do not decrypt (save the bar's settings again):"
            f" bar(s) {', '.join(str(bar_id) for bar_id in report.undecryptable_sample)}"
        )
    if report.unresolved.records:
        table = new_table("bar", "attempts", "error")
        for failure in report.unresolved.records:
            table.add_row(str(failure.bar_id), str(failure.attempts), failure.error)
        rich_console().print(table)
    sys.exit(1 if report.inconsistent_count or report.unresolved.bars else 0)


@mpesa.command("repair")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--chunk-size", type=click.IntRange(1, 50_000), default=1000, show_default=True)
@click.pass_obj
def mpesa_repair(obj: CliContext, dry_run: bool, chunk_size: int) -> None:
    """Set each inconsistent bar's mpesa_enabled from its credentials' is_active.

    Bars without credentials get mpesa_enabled = false. Bars that still fail after three
    retries are recorded for manual intervention (see `paysync mpesa audit`); exits 1 then.
    """
    from rich.progress import Progress

    from paysync_dagster.mpesa.audit import audit
    from paysync_dagster.mpesa.repair import repair_drift

    engine = obj.engine()
    if dry_run:
        report = audit(engine, obj.vault(), limit=50)
        say(f"dry run: {report.drift.count} bar(s) would be repaired")
        for bar in report.inconsistent:
            say(
                f"  bar {bar.bar_id}: mpesa_enabled {yes_no(bar.mpesa_enabled)} ->"
                f" {yes_no(bar.expected_enabled)} ({bar.kind})"
            )
        return
    with Progress(console=rich_console(), transient=True) as progress:
        task = progress.add_task("repairing", total=None)
        result = repair_drift(
            engine,
            chunk_size=chunk_size,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    say(
        f"{result.repaired} of {result.drifted} inconsistent bar(s) repaired,"
        f" {len(result.failed)} failed, in {result.seconds:.2f}s"
    )
    for failure in result.failed:
        say(f"  bar {failure.bar_id}: {failure.error}")
    sys.exit(1 if result.failed else 0)
