"""`paysync workspace`: workspaces (tenants) and their provider credentials."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paysync_dagster.cli.context import (
    CliContext,
    FiniteFloatRange,
    clear_errors,
    new_table,
    rich_console,
    say,
)

if TYPE_CHECKING:
    from paysync_dagster.store.workspaces import WorkspaceSummary


@click.group()
def workspace() -> None:
    """Add, list and remove workspaces (tenants) and their provider credentials."""


class _ProviderChoice(click.Choice):
    """The registered providers, read from the registry only when a command needs them, so
    that `paysync --help` does not import every provider's client."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from paysync_dagster.providers.registry import provider_names

        return provider_names()

    @choices.setter
    def choices(self, _value: object) -> None:
        """Set by `click.Choice.__init__`; the registry is the only source."""


@workspace.command("add")
@click.argument("workspace_id")
@click.option(
    "--provider", type=_ProviderChoice(), default="stripe", show_default=True,
    help="Provider to configure (from the provider registry).",
)  # fmt: skip
@click.option(
    "--api-key",
    envvar="PAYSYNC_API_KEY",
    default=None,
    help="Provider secret key (or PAYSYNC_API_KEY); prompted for, hidden, when omitted.",
)
@click.option("--api-base", default=None, help="Provider API base URL, e.g. a sandbox.")
@click.option(
    "--rate-limit", type=FiniteFloatRange(min=0, min_open=True, max=10_000), default=None,
    help="Requests per second budget (default: the provider's documented limit).",
)  # fmt: skip
@click.option("--webhook-secret", default=None, help="stripe: webhook signing secret (whsec_…).")
@click.option(
    "--company-id", default=None,
    help="payfit: the company id (default: from PayFit's /introspect, unless in mock mode).",
)  # fmt: skip
@click.option("--oauth-base", default=None, help="payfit: base URL of /introspect.")
@click.option(
    "--from-env", is_flag=True,
    help="payfit: read PAYFIT_API_KEY, PAYFIT_API_URL and PAYFIT_COMPANY_ID.",
)  # fmt: skip
@click.option("--replace", is_flag=True, help="Overwrite an existing configuration.")
@click.pass_obj
@clear_errors
def workspace_add(
    obj: CliContext,
    workspace_id: str,
    provider: str,
    api_key: str | None,
    api_base: str | None,
    rate_limit: float | None,
    webhook_secret: str | None,
    company_id: str | None,
    oauth_base: str | None,
    from_env: bool,
    replace: bool,
) -> None:
    """Store WORKSPACE_ID's credentials for a provider, encrypted, and register its partition.

    A PayFit workspace whose key or company id is missing or a placeholder is stored in mock
    mode: it is never called, and its syncs are skipped saying why, until real credentials
    are stored with --replace.
    """
    from paysync_dagster.cli.workspace_setup import configure_workspace

    if from_env:
        if provider != "payfit":
            raise click.UsageError("--from-env reads PayFit's variables: use --provider payfit")
        api_key = api_key if api_key is not None else os.environ.get("PAYFIT_API_KEY", "")
        api_base = api_base or os.environ.get("PAYFIT_API_URL") or None
        company_id = company_id if company_id is not None else os.environ.get("PAYFIT_COMPANY_ID")
    if api_key is None:
        api_key = click.prompt("API key", hide_input=True)
    options = {"company_id": company_id, "oauth_base": oauth_base}
    summary, mock_reason = configure_workspace(
        obj,
        workspace_id=workspace_id,
        provider=provider,
        api_key=api_key,
        webhook_secret=webhook_secret,
        api_base=api_base,
        rate_limit_per_second=rate_limit,
        options={name: value for name, value in options.items() if value is not None},
        replace=replace,
    )
    if mock_reason is not None:
        say(f"workspace {summary.workspace_id!r}: {provider} configured in {mock_reason}")
    else:
        say(f"workspace {summary.workspace_id!r}: {provider}{_mode(summary)} configured")


def _mode(summary: WorkspaceSummary) -> str:
    """` (test mode)` or ` (live mode)` for providers that have modes, else nothing."""
    from paysync_dagster.providers.registry import get_provider

    if get_provider(summary.provider).is_test_mode is None:
        return ""
    return " (test mode)" if summary.is_test_mode else " (live mode)"


@workspace.command("list")
@click.pass_obj
@clear_errors
def workspace_list(obj: CliContext) -> None:
    """List configured workspaces, with mock mode and why; secrets are never shown."""
    from paysync_dagster.cli.workspace_setup import mock_mode_reasons
    from paysync_dagster.store.workspaces import list_workspaces

    summaries = list_workspaces(obj.engine())
    reasons = mock_mode_reasons(obj, summaries)
    table = new_table("workspace", "provider", "mode", "active", "api base", "webhook secret")
    for summary in summaries:
        mode = _mode(summary).strip(" ()").removesuffix(" mode") or "-"
        reason = reasons.get((summary.workspace_id, summary.provider))
        table.add_row(
            summary.workspace_id,
            summary.provider,
            reason if reason is not None else mode,
            "yes" if summary.is_active else "no",
            summary.api_base or "(provider default)",
            "set" if summary.has_webhook_secret else "-",
        )
    rich_console().print(table)


@workspace.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite existing configurations.")
@click.pass_obj
@clear_errors
def workspace_import(obj: CliContext, file: Path, replace: bool) -> None:
    """Add every workspace in FILE (CSV with a header, or JSON lines): all or nothing.

    Columns: workspace_id, provider (default stripe), api_key, webhook_secret, api_base,
    rate_limit_per_second, company_id, oauth_base. Every row is validated first; a bad row
    rejects the file, naming its line. PayFit rows need company_id (no lookup per row).
    """
    from paysync_dagster.cli.workspace_import import read_import_file
    from paysync_dagster.dagster_names import WORKSPACE_PARTITIONS_NAME
    from paysync_dagster.store.workspaces import save_workspaces

    configs = read_import_file(file)
    summaries = save_workspaces(obj.engine(), obj.vault(), configs, replace_existing=replace)
    obj.add_partitions(WORKSPACE_PARTITIONS_NAME, sorted({s.workspace_id for s in summaries}))
    say(f"{len(summaries)} workspace configuration(s) imported from {file}")


@workspace.command("remove")
@click.argument("workspace_id")
@click.option("--purge-data", is_flag=True, help="Also delete the workspace's synced rows.")
@click.pass_obj
@clear_errors
def workspace_remove(obj: CliContext, workspace_id: str, purge_data: bool) -> None:
    """Remove WORKSPACE_ID's configuration and its Dagster partition."""
    from paysync_dagster.dagster_names import WORKSPACE_PARTITIONS_NAME
    from paysync_dagster.store.workspaces import remove_workspace

    removed = remove_workspace(obj.engine(), workspace_id, purge_data=purge_data)
    obj.delete_partitions(WORKSPACE_PARTITIONS_NAME, [workspace_id])
    say(f"workspace {workspace_id!r}: {removed} configuration(s) removed")


@workspace.command("rotate-webhook-secret")
@click.argument("workspace_id")
@click.option("--provider", default="stripe", show_default=True)
@click.option(
    "--webhook-secret",
    envvar="PAYSYNC_WEBHOOK_SECRET",
    prompt=True,
    hide_input=True,
    help="The new signing secret (whsec_…, or PAYSYNC_WEBHOOK_SECRET); prompted for, hidden.",
)
@click.option(
    "--previous-valid-hours",
    type=FiniteFloatRange(0, 720),
    default=24.0,
    show_default=True,
    help="How long the current secret keeps verifying deliveries (0: revoke it now).",
)
@click.pass_obj
@clear_errors
def workspace_rotate_webhook_secret(
    obj: CliContext,
    workspace_id: str,
    provider: str,
    webhook_secret: str,
    previous_valid_hours: float,
) -> None:
    """Replace WORKSPACE_ID's webhook secret; the old one stays valid for a while."""
    from datetime import timedelta

    from paysync_dagster.providers.configure import rotate_webhook_secret

    expires_at = rotate_webhook_secret(
        obj.engine(),
        obj.vault(),
        workspace_id=workspace_id,
        provider=provider,
        new_secret=webhook_secret,
        previous_valid_for=timedelta(hours=previous_valid_hours),
    )
    until = "" if expires_at is None else f"; the previous one is valid until {expires_at:%c} UTC"
    say(f"workspace {workspace_id!r}: webhook secret rotated{until}")


@workspace.command("webhook-refetch")
@click.argument("workspace_id")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--provider", default="stripe", show_default=True)
@click.pass_obj
@clear_errors
def workspace_webhook_refetch(
    obj: CliContext, workspace_id: str, state: str, provider: str
) -> None:
    """Whether webhook processing fetches each object from the provider (STATE on/off)."""
    from paysync_dagster.store.workspaces import set_webhook_refetch

    set_webhook_refetch(
        obj.engine(), workspace_id=workspace_id, provider=provider, on=state == "on"
    )
    say(f"workspace {workspace_id!r}: webhook refetch {state}")
