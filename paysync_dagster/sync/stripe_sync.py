"""Stripe full syncs for many workspaces at once, each within its own rate budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass

import sqlalchemy as sa
import stripe

from paysync_dagster.providers.rate_budget import RateBudget
from paysync_dagster.providers.stripe.client import (
    StripeApi,
    default_requests_per_second,
    open_http_client,
)
from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.providers.stripe.mapping import MAPPERS
from paysync_dagster.store.sessions import RunIsActive
from paysync_dagster.store.tables import CANONICAL_TABLES
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import WorkspaceCredentials, load_credentials
from paysync_dagster.sync.checks import CheckOutcome, evaluate_workspace
from paysync_dagster.sync.full_sync import DEFAULT_BATCH_SIZE, EntitySyncResult, sync_entity
from paysync_dagster.sync.workspace_runs import EntityOutcome, run_workspaces


@dataclass(frozen=True)
class StripeSyncOptions:
    """Tunables for Stripe syncs; rate limits default to Stripe's per-mode limits."""

    batch_size: int = DEFAULT_BATCH_SIZE
    max_retries: int = 8
    timeout_seconds: float = 30.0
    test_mode_requests_per_second: float | None = None
    live_mode_requests_per_second: float | None = None
    max_concurrent_workspaces: int = 8


def open_stripe_api(
    credentials: WorkspaceCredentials,
    options: StripeSyncOptions,
    http_client: stripe.HTTPXClient | None = None,
) -> StripeApi:
    """A client for one workspace: its own account, base URL and rate budget.

    The budget is the workspace's configured rate, else the options' per-mode rate, else
    Stripe's documented limit for the key's mode.
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
        or default_requests_per_second(credentials.api_key)
    )
    return StripeApi(
        credentials.api_key,
        api_base=summary.api_base,
        budget=RateBudget(rate),
        max_retries=options.max_retries,
        timeout_seconds=options.timeout_seconds,
        http_client=http_client,
    )


def sync_stripe_entity(
    engine: sa.Engine,
    vault: Vault,
    *,
    workspace_id: str,
    entity_type: str,
    options: StripeSyncOptions,
    dagster_run_id: str | None = None,
    run_is_active: RunIsActive | None = None,
    on_progress: Callable[[EntitySyncResult], None] | None = None,
    http_client: stripe.HTTPXClient | None = None,
) -> EntitySyncResult:
    """Fully sync one Stripe entity for one workspace (over `http_client` when shared);
    `run_is_active` as in `sync_entity`."""
    credentials = load_credentials(engine, vault, workspace_id=workspace_id, provider=PROVIDER)
    api = open_stripe_api(credentials, options, http_client)
    try:
        return sync_entity(
            engine,
            api,
            workspace_id=workspace_id,
            provider=PROVIDER,
            entity_type=entity_type,
            table=CANONICAL_TABLES[entity_type],
            mapper=MAPPERS[entity_type],
            dagster_run_id=dagster_run_id,
            run_is_active=run_is_active,
            batch_size=options.batch_size,
            on_progress=on_progress,
        )
    finally:
        api.close()


def sync_stripe_workspaces(
    engine: sa.Engine,
    vault: Vault,
    workspace_ids: Sequence[str],
    *,
    entity_types: Sequence[str],
    lineage: Mapping[str, Sequence[str]],
    options: StripeSyncOptions,
    dagster_run_id: str | None = None,
    run_is_active: RunIsActive | None = None,
    already_done: Set[tuple[str, str]] = frozenset(),
    on_progress: Callable[[EntitySyncResult], None] | None = None,
) -> Iterator[EntityOutcome]:
    """Sync `entity_types` for many workspaces concurrently; yield each workspace's outcomes.

    One workspace's failure never stops or marks the others (see `run_workspaces`). The
    workspaces share one pool of HTTP connections; each keeps its own key and rate budget.
    Each entity's integrity checks run right after it is written, for that workspace only.
    `run_is_active` lets each sync close and resume a session a killed run left `running`
    (see `sync_entity`).
    """
    http_client = open_http_client(options.timeout_seconds)

    def sync_one(workspace_id: str, entity_type: str) -> EntitySyncResult:
        return sync_stripe_entity(
            engine,
            vault,
            workspace_id=workspace_id,
            entity_type=entity_type,
            options=options,
            dagster_run_id=dagster_run_id,
            run_is_active=run_is_active,
            on_progress=on_progress,
            http_client=http_client,
        )

    def evaluate(workspace_id: str, result: EntitySyncResult) -> tuple[list[CheckOutcome], int]:
        with engine.connect() as connection:
            return evaluate_workspace(
                connection,
                workspace_id=workspace_id,
                provider=PROVIDER,
                entity_type=result.entity_type,
                session_id=result.session_id,
            )

    try:
        yield from run_workspaces(
            workspace_ids,
            entity_types,
            lineage,
            sync_one=sync_one,
            evaluate=evaluate,
            already_done=already_done,
            max_concurrent_workspaces=options.max_concurrent_workspaces,
        )
    finally:
        http_client.close()
