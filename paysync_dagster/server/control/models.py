"""Request and response bodies of the control API (`/api/v1/…`), as pydantic models.

Every request field is bounded (length, count, range), and no response model has a field
that could hold a secret: a configuration says which secret fields are set, never their values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from paysync_dagster.webhooks.inbox import STATUSES

ProviderName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", max_length=32)]
EntityName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", max_length=64)]
FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", max_length=64)]
FieldValue = Annotated[str, Field(min_length=1, max_length=4096)]
EventId = Annotated[str, Field(min_length=1, max_length=255)]
SessionId = Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$", max_length=36)]
InboxStatus = Literal[STATUSES]  # type: ignore[valid-type] - Literal of the inbox's statuses


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- providers ----------------------------------------------------------------------------------


class EntityInfo(BaseModel):
    """One entity a provider mirrors."""

    name: str
    table: str
    description: str
    upstream: list[str]


class CredentialFieldInfo(BaseModel):
    """One configuration field a provider takes; secret fields are write-only."""

    name: str
    description: str
    secret: bool
    required: bool


class ProviderInfo(BaseModel):
    """A registered provider."""

    name: str
    title: str
    entities: list[EntityInfo]
    credential_fields: list[CredentialFieldInfo]
    takes_webhooks: bool
    has_mock_mode: bool


# -- configurations -----------------------------------------------------------------------------


class ConfigCreate(_Request):
    """A provider configuration for the request's workspace (seed 002's request)."""

    provider_name: ProviderName
    configuration: Annotated[dict[FieldName, FieldValue], Field(max_length=16)] = Field(
        description="The provider's credential fields (see /providers): api_key, webhook_secret,"
        " and its own settings such as PayFit's company_id."
    )
    api_base: Annotated[str, Field(max_length=2048)] | None = None
    rate_limit_per_second: Annotated[float, Field(gt=0, le=10_000)] | None = None


class ConfigUpdate(_Request):
    """Changes to a configuration; fields left out keep their stored values."""

    configuration: Annotated[dict[FieldName, FieldValue], Field(max_length=16)] = Field(
        default_factory=dict
    )
    api_base: Annotated[str, Field(max_length=2048)] | None = None
    rate_limit_per_second: Annotated[float, Field(gt=0, le=10_000)] | None = None


class ConfigResponse(BaseModel):
    """A stored configuration: which secret fields are set, never their values."""

    id: int
    workspace_id: str
    provider_name: str
    is_active: bool
    is_test_mode: bool
    api_base: str | None
    rate_limit_per_second: float | None
    api_key_set: bool
    webhook_secret_set: bool
    options: dict[str, str]
    webhook_path: str | None
    created_at: datetime


class ConnectionTestResponse(BaseModel):
    """The registry's connection test, in a sentence safe to show."""

    config_id: int
    provider_name: str
    ok: bool
    message: str


# -- syncs and sessions -------------------------------------------------------------------------


class InitialSyncRequest(_Request):
    """Which entities to sync (all when empty); only full syncs exist (webhooks do the rest)."""

    entity_types: Annotated[list[EntityName], Field(max_length=16)] = Field(default_factory=list)
    full_sync: Literal[True] = True


class LaunchResponse(BaseModel):
    """A Dagster run was submitted."""

    run_id: str
    workspace_id: str
    provider_name: str
    entity_types: list[str]
    status_url: str = Field(description="Lists the run's sessions, with progress.")
    dagster_run_url: str


class SessionResponse(BaseModel):
    """One entity's sync: what it listed and wrote, and how it ended."""

    id: str
    workspace_id: str
    provider_name: str
    entity_type: str
    status: str
    dagster_run_id: str | None
    resumed_from_session_id: str | None
    resumable: bool = Field(description="A failed session that kept a cursor to resume from.")
    listed: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    failed: int
    pages: int
    api_calls: int
    retries: int
    error_message: str | None
    started_at: datetime
    finished_at: datetime | None


class ProgressResponse(BaseModel):
    """How far a session has got."""

    listed: int
    pages: int
    elapsed_seconds: float
    objects_per_second: float | None
    expected_total: int | None = Field(description="What the previous completed sync listed.")
    percent: float | None
    eta_seconds: float | None
    estimated_finish_at: datetime | None


class SessionStatusResponse(BaseModel):
    """A session's status with its progress."""

    session: SessionResponse
    progress: ProgressResponse


class RecoverRequest(_Request):
    """Recover a failed session: `resume` from its cursor or `restart` its entity from the
    beginning; either launches a run like `/initial`."""

    session_id: SessionId
    mode: Literal["resume", "restart"]


class RecoverResponse(LaunchResponse):
    """The recovery's run."""

    session_id: str
    mode: str


# -- webhooks -----------------------------------------------------------------------------------


class ReplayRequest(_Request):
    """Which of the workspace's inbox events to make due again (as `paysync webhooks replay`)."""

    event_ids: Annotated[list[EventId], Field(max_length=1000)] = Field(default_factory=list)
    status: InboxStatus | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 1000


class ReplayResponse(BaseModel):
    """The replayed events' inbox ids; the webhook workers apply them next."""

    replayed: int
    inbox_ids: list[int]


class InboxEventResponse(BaseModel):
    """An inbox event without its payload."""

    id: int
    workspace_id: str
    provider_event_id: str
    event_type: str
    source: str
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None


class DlqStatsResponse(BaseModel):
    """The workspace's inbox by status."""

    workspace_id: str
    by_status: dict[str, int]
    dead: int
    oldest_dead_received_at: datetime | None
