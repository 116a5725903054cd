"""Stripe in the provider registry: its entities, credentials, client and connection test.

`client.py` (and with it the `stripe` SDK, which takes longer to import than the rest of
`paysync workspace add`) is imported only when a client or transport is opened: commands that
validate and store credentials never need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysync_dagster.providers.base import (
    ClientSettings,
    ConnectionResult,
    CredentialField,
    Credentials,
    Entity,
    Provider,
    SharedTransport,
)
from paysync_dagster.providers.errors import ProviderError
from paysync_dagster.providers.rate_budget import RateBudget
from paysync_dagster.providers.stripe.credentials import validate_api_key, validate_webhook_secret
from paysync_dagster.providers.stripe.entities import (
    DESCRIPTIONS,
    LINEAGE,
    PROVIDER,
    REFERENCES,
    is_test_key,
)
from paysync_dagster.providers.stripe.mapping import MAPPERS

if TYPE_CHECKING:
    import stripe

    from paysync_dagster.providers.stripe.client import StripeApi


def _default_requests_per_second(credentials: Credentials) -> float:
    from paysync_dagster.providers.stripe.client import default_requests_per_second

    return default_requests_per_second(credentials.api_key)


def _open_transport(timeout_seconds: float) -> stripe.HTTPXClient:
    from paysync_dagster.providers.stripe.client import open_http_client

    return open_http_client(timeout_seconds)


def _open_client(
    credentials: Credentials, settings: ClientSettings, transport: SharedTransport | None
) -> StripeApi:
    import stripe

    from paysync_dagster.providers.stripe.client import StripeApi

    if transport is not None and not isinstance(transport, stripe.HTTPXClient):
        raise TypeError("Stripe clients share a stripe.HTTPXClient")
    return StripeApi(
        credentials.api_key,
        api_base=credentials.api_base,
        budget=RateBudget(settings.requests_per_second),
        max_retries=settings.max_retries,
        timeout_seconds=settings.timeout_seconds,
        http_client=transport,
    )


def _test_connection(credentials: Credentials) -> ConnectionResult:
    """List one customer: proves the key, the base URL and the network in one call."""
    from paysync_dagster.providers.stripe.client import StripeApi

    api = StripeApi(credentials.api_key, api_base=credentials.api_base, max_retries=1)
    try:
        page = next(api.list_pages("customers", page_size=1))
    except ProviderError as error:
        return ConnectionResult(False, str(error))
    finally:
        api.close()
    mode = "test" if is_test_key(credentials.api_key) else "live"
    return ConnectionResult(
        True, f"connected to Stripe ({mode} mode); customers listed: {len(page.objects)}"
    )


STRIPE = Provider(
    name=PROVIDER,
    title="Stripe",
    entities=tuple(
        Entity(
            name=name,
            table=name,
            mapper=MAPPERS[name],
            description=DESCRIPTIONS[name],
            upstream=upstream,
            references=REFERENCES.get(name, ()),
        )
        for name, upstream in LINEAGE.items()
    ),
    credential_fields=(
        CredentialField(
            "api_key", "Secret or restricted key (sk_… / rk_…).", True, True, validate_api_key
        ),
        CredentialField(
            "webhook_secret",
            "Webhook signing secret (whsec_…).",
            True,
            False,
            validate_webhook_secret,
        ),
    ),
    default_requests_per_second=_default_requests_per_second,
    open_transport=_open_transport,
    open_client=_open_client,
    test_connection=_test_connection,
    is_test_mode=is_test_key,
    takes_webhooks=True,
)
