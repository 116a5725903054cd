"""Full syncs of any registered provider, for many workspaces at once, each within its own
rate budget; the provider's registry entry supplies the client, the mappers and the tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import dataclass

import sqlalchemy as sa

from paysync_dagster.providers.base import ClientSettings, PageSource, Provider, SharedTransport
from paysync_dagster.providers.configure import client_credentials
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import CANONICAL_TABLES
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import (
    WorkspaceCredentials,
    list_workspaces,
    load_credentials,
)
from paysync_dagster.sync.checks import CheckOutcome, evaluate_workspace
from paysync_dagster.sync.full_sync import (
    DEFAULT_BATCH_SIZE,
    EntitySyncResult,
    SyncInProgressError,
    sync_entity,
)
from paysync_dagster.sync.workspace_runs import (
    EntityOutcome,
    OutcomeStatus,
    SkipWorkspace,
    run_workspaces,
)


@dataclass(frozen=True)
class SyncOptions:
    """Tunables for full syncs; rate limits default to the provider's per-mode limits."""

    batch_size: int = DEFAULT_BATCH_SIZE
    max_retries: int = 8
    timeout_seconds: float = 30.0
    test_mode_requests_per_second: float | None = None
    live_mode_requests_per_second: float | None = None
    max_concurrent_workspaces: int = 8


def client_settings(
    provider: Provider, credentials: WorkspaceCredentials, options: SyncOptions
) -> ClientSettings:
    """The workspace's rate budget and retry policy.

    The rate is the workspace's configured rate, else the options' per-mode rate, else the
    provider's documented limit for the key.
    """
    summary = credentials.summary
    mode_rate = (
        options.test_mode_requests_per_second
        if summary.is_test_mode
        else options.live_mode_requests_per_second
    )
    rate = (
        summary.rate_limit_per_second
        or mode_rate
        or provider.default_requests_per_second(client_credentials(credentials))
    )
    return ClientSettings(
        requests_per_second=rate,
        max_retries=options.max_retries,
        timeout_seconds=options.timeout_seconds,
    )


def open_client(
    provider: Provider,
    credentials: WorkspaceCredentials,
    options: SyncOptions,
    transport: SharedTransport | None = None,
) -> PageSource:
    """A client for one workspace: its own account, base URL and rate budget."""
    return provider.open_client(
        client_credentials(credentials),
        client_settings(provider, credentials, options),
        transport,
    )


def sync_provider_entity(
    provider: Provider,
    engine: sa.Engine,
    vault: Vault,
    *,
    workspace_id: str,
    entity_type: str,
    options: SyncOptions,
    dagster_run_id: str | None = None,
    run_is_active: sessions.RunIsActive | None = None,
    on_progress: Callable[[EntitySyncResult], None] | None = None,
    transport: SharedTransport | None = None,
) -> EntitySyncResult:
    """Fully sync one entity of `provider` for one workspace (over `transport` when shared).

    A workspace in mock mode is recorded as a `skipped_mock_mode` session and raises
    `SkipWorkspace`: no client is opened, so no request leaves the process. `run_is_active`
    as in `sync_entity`: it lets the sync close and resume a session a killed run left running.
    """
    credentials = load_credentials(engine, vault, workspace_id=workspace_id, provider=provider.name)
    reason = provider.mock_mode_reason(client_credentials(credentials))
    if reason is not None:
        with engine.begin() as connection:
            sessions.record_skipped_session(
                connection,
                workspace_id=workspace_id,
                provider=provider.name,
                entity_type=entity_type,
                status=sessions.SKIPPED_MOCK_MODE,
                reason=reason,
                dagster_run_id=dagster_run_id,
            )
        raise SkipWorkspace(OutcomeStatus.MOCK_MODE, reason)
    entity = provider.entity(entity_type)
    client = open_client(provider, credentials, options, transport)
    try:
        return sync_entity(
            engine,
            client,
            workspace_id=workspace_id,
            provider=provider.name,
            entity_type=entity_type,
            table=CANONICAL_TABLES[entity.table],
            mapper=entity.mapper,
            dagster_run_id=dagster_run_id,
            run_is_active=run_is_active,
            batch_size=options.batch_size,
            on_progress=on_progress,
        )
    except SyncInProgressError as error:
        raise SkipWorkspace(OutcomeStatus.SYNCING_ELSEWHERE, str(error)) from None
    finally:
        client.close()


def sync_workspaces(
    provider: Provider,
    engine: sa.Engine,
    vault: Vault,
    workspace_ids: Sequence[str],
    *,
    entity_types: Sequence[str],
    options: SyncOptions,
    dagster_run_id: str | None = None,
    run_is_active: sessions.RunIsActive | None = None,
    already_done: Set[tuple[str, str]] = frozenset(),
    on_progress: Callable[[EntitySyncResult], None] | None = None,
) -> Iterator[EntityOutcome]:
    """Sync `entity_types` of `provider` for many workspaces concurrently; yield outcomes.

    One workspace's failure never stops or marks the others (see `run_workspaces`). A
    workspace configured only for other providers is left alone (`not_configured`); one with
    no configuration at all fails, naming the command that adds it. The workspaces share one
    pool of HTTP connections; each keeps its own key and rate budget. Each entity's checks
    run right after it is written, for that workspace only.
    """
    configured = list_workspaces(engine)
    for_provider = {s.workspace_id for s in configured if s.provider == provider.name}
    elsewhere = {s.workspace_id for s in configured} - for_provider
    transport = provider.open_transport(options.timeout_seconds)

    def sync_one(workspace_id: str, entity_type: str) -> EntitySyncResult:
        if workspace_id in elsewhere:
            raise SkipWorkspace(
                OutcomeStatus.NOT_CONFIGURED,
                f"workspace {workspace_id!r} has no {provider.name} configuration",
            )
        return sync_provider_entity(
            provider,
            engine,
            vault,
            workspace_id=workspace_id,
            entity_type=entity_type,
            options=options,
            dagster_run_id=dagster_run_id,
            run_is_active=run_is_active,
            on_progress=on_progress,
            transport=transport,
        )

    def evaluate(workspace_id: str, result: EntitySyncResult) -> tuple[list[CheckOutcome], int]:
        with engine.connect() as connection:
            return evaluate_workspace(
                connection,
                provider,
                provider.entity(result.entity_type),
                workspace_id=workspace_id,
                session_id=result.session_id,
            )

    try:
        yield from run_workspaces(
            workspace_ids,
            entity_types,
            provider.lineage,
            sync_one=sync_one,
            evaluate=evaluate,
            already_done=already_done,
            max_concurrent_workspaces=options.max_concurrent_workspaces,
        )
    finally:
        transport.close()
