"""What every provider shares with the engine: pages, rows, and the provider's declaration.

The sync engine, the webhook processor and the Dagster layer only speak these types; each
provider package (`providers/<name>/`) fills in a `Provider`, and `providers/registry.py`
is the one list of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from paysync_dagster.providers.errors import ProviderError

Row = dict[str, Any]
Mapper = Callable[[Mapping[str, Any], datetime], Row]


class MappingError(ValueError):
    """A provider object could not be mapped; names the object and the field."""

    def __init__(self, external_id: str | None, message: str) -> None:
        super().__init__(message)
        self.external_id = external_id


class CursorGoneError(ProviderError):
    """The object a listing was to resume after no longer exists; restart the listing."""


@dataclass(frozen=True)
class Page:
    """One list page: its objects, when it was fetched and what fetching it cost."""

    objects: list[dict[str, Any]]
    has_more: bool
    fetched_at: datetime
    api_calls: int
    retries: int

    def resume_cursor(self) -> str | None:
        """Where a listing resumes after this page: its last object's id, which is what
        Stripe's `starting_after` takes. Providers that page by token override this."""
        for obj in reversed(self.objects):
            if isinstance(obj, Mapping) and isinstance(obj.get("id"), str):
                return obj["id"]
        return None


class PageSource(Protocol):
    """A provider client that lists an entity page by page."""

    def list_pages(self, entity: str, *, starting_after: str | None = None) -> Iterator[Page]:
        """Pages of `entity`, resuming after `starting_after` when given."""
        ...

    def close(self) -> None:
        """Release the client's connections."""
        ...


@dataclass(frozen=True)
class Entity:
    """One mirrored entity: its canonical table, what it builds on, and how it maps.

    `upstream` are the entities its rows reference, which sync first; `references` are the
    (typed column, upstream entity) pairs the reference check verifies.
    """

    name: str
    table: str
    mapper: Mapper
    description: str
    upstream: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CredentialField:
    """One configuration value a provider needs.

    `validate` returns the normalized value or raises `ValueError` with a message that never
    repeats a secret's text. Secret fields are stored encrypted and never shown.
    """

    name: str
    description: str
    secret: bool
    required: bool
    validate: Callable[[str], str]


@dataclass(frozen=True)
class Credentials:
    """A workspace's decrypted configuration for one provider, as its client needs it."""

    workspace_id: str
    api_key: str = field(repr=False)
    api_base: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientSettings:
    """How a client pages, retries and paces itself."""

    requests_per_second: float
    max_retries: int = 8
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ConnectionResult:
    """The outcome of a provider's connection test, in a sentence safe to show."""

    ok: bool
    message: str


class SharedTransport(Protocol):
    """HTTP connections a run's clients share; each client keeps its own key and budget."""

    def close(self) -> None:
        """Release the connections."""
        ...


@dataclass(frozen=True)
class Provider:
    """Everything paysync knows about one provider, in one place.

    - `entities`, in sync (lineage) order;
    - `credential_fields`: the API key, the webhook secret where it takes webhooks, and its
      own non-secret settings (e.g. PayFit's company id), each with its validation;
    - `default_requests_per_second(credentials)`: the rate budget when none is configured;
    - `open_transport(timeout)` and `open_client(credentials, settings, transport)`;
    - `test_connection(credentials)`;
    - `mock_mode(credentials)`: why the workspace must not be called (None: it may be);
    - `is_test_mode(api_key)`; `takes_webhooks`.
    """

    name: str
    title: str
    entities: tuple[Entity, ...]
    default_requests_per_second: Callable[[Credentials], float]
    open_transport: Callable[[float], SharedTransport]
    open_client: Callable[[Credentials, ClientSettings, SharedTransport | None], PageSource]
    test_connection: Callable[[Credentials], ConnectionResult]
    credential_fields: tuple[CredentialField, ...] = ()
    mock_mode: Callable[[Credentials], str | None] | None = None
    # Fills in options the provider can find itself (PayFit's company id, from /introspect).
    complete_options: Callable[[Credentials], Mapping[str, str]] | None = None
    # Whether the provider distinguishes test and live keys (Stripe does, PayFit does not).
    is_test_mode: Callable[[str], bool] | None = None
    takes_webhooks: bool = False

    def key_is_test_mode(self, api_key: str) -> bool:
        """Whether `api_key` is a test-mode key; False for providers without modes."""
        return self.is_test_mode is not None and self.is_test_mode(api_key)

    @property
    def has_mock_mode(self) -> bool:
        """Whether placeholder credentials put a workspace in mock mode (no requests)."""
        return self.mock_mode is not None

    def mock_mode_reason(self, credentials: Credentials) -> str | None:
        """Why `credentials` must not be used to call the provider; None when they may."""
        return None if self.mock_mode is None else self.mock_mode(credentials)

    @property
    def entity_names(self) -> tuple[str, ...]:
        """The entities' names, in sync order."""
        return tuple(entity.name for entity in self.entities)

    @property
    def lineage(self) -> dict[str, tuple[str, ...]]:
        """Entity name -> the upstream entities it builds on."""
        return {entity.name: entity.upstream for entity in self.entities}

    def entity(self, name: str) -> Entity:
        """The entity called `name`; a clear error naming the choices otherwise."""
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise ValueError(
            f"{self.name} has no entity {name[:40]!r}: choose from {', '.join(self.entity_names)}"
        )
