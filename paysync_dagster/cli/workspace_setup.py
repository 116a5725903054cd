"""What `workspace add|list` do beyond parsing: validate, complete, store, register."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from paysync_dagster.cli.context import CliContext
from paysync_dagster.dagster_names import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.providers.base import Credentials
from paysync_dagster.providers.configure import add_workspace, stored_mock_mode_reason
from paysync_dagster.providers.registry import get_provider
from paysync_dagster.store.workspaces import WorkspaceSummary


def configure_workspace(
    obj: CliContext,
    *,
    workspace_id: str,
    provider: str,
    api_key: str,
    webhook_secret: str | None,
    api_base: str | None,
    rate_limit_per_second: float | None,
    options: Mapping[str, str],
    replace: bool,
) -> tuple[WorkspaceSummary, str | None]:
    """Store the configuration (options the provider can find are filled in first) and
    register the workspace's partition; returns it and its mock-mode reason, if any."""
    spec = get_provider(provider)
    credentials = Credentials(workspace_id, api_key, api_base, dict(options))
    if spec.complete_options is not None:
        options = spec.complete_options(credentials)
    summary = add_workspace(
        obj.engine(),
        obj.vault(),
        workspace_id=workspace_id,
        provider=provider,
        api_key=api_key,
        webhook_secret=webhook_secret,
        api_base=api_base,
        rate_limit_per_second=rate_limit_per_second,
        options=options,
        replace=replace,
    )
    obj.add_partitions(WORKSPACE_PARTITIONS_NAME, [summary.workspace_id])
    reason = spec.mock_mode_reason(Credentials(workspace_id, api_key, api_base, dict(options)))
    return summary, reason


def mock_mode_reasons(
    obj: CliContext, summaries: Sequence[WorkspaceSummary]
) -> dict[tuple[str, str], str]:
    """(workspace, provider) -> why it is in mock mode, for providers that have one."""
    reasons: dict[tuple[str, str], str] = {}
    for summary in summaries:
        spec = get_provider(summary.provider)
        if not spec.has_mock_mode:
            continue
        reason = stored_mock_mode_reason(
            obj.engine(), obj.vault(), workspace_id=summary.workspace_id, provider=spec
        )
        if reason is not None:
            reasons[(summary.workspace_id, summary.provider)] = reason
    return reasons
