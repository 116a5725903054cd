"""Simulator tests: real Stripe and gateway sandboxes, targets stored in real databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import sqlalchemy as sa

from paysync_dagster.sandbox.gateway import GatewaySandboxSettings
from paysync_dagster.sandbox.gateway import running_sandbox as running_gateway
from paysync_dagster.simulator.targets import Target, save_target
from paysync_dagster.store.vault import Vault
from tests.server.conftest import paysync_server

__all__ = ["paysync_server"]

GatewayFactory = Callable[..., tuple[str, GatewaySandboxSettings]]


@pytest.fixture
def gateway_sandbox() -> Iterator[GatewayFactory]:
    """Start gateway sandboxes: `gateway_sandbox(latency_ms=20)` -> (base URL, settings)."""
    with ExitStack() as stack:

        def start(**options) -> tuple[str, GatewaySandboxSettings]:
            settings = GatewaySandboxSettings(**options)
            return stack.enter_context(running_gateway(settings)), settings

        yield start


@pytest.fixture
def gateway_target(engine: sa.Engine, vault: Vault, gateway_sandbox: GatewayFactory):
    """Configure a gateway target on a fresh sandbox: `gateway_target("gw", latency_ms=5)`."""

    def configure(name: str, **sandbox_options) -> str:
        url, settings = gateway_sandbox(**sandbox_options)
        save_target(
            engine,
            vault,
            Target(
                name=name,
                kind="gateway",
                tokenization_url=f"{url}/v1/tokenize",
                checkout_url=f"{url}/v1/checkouts",
                payment_url=f"{url}/v1/payments",
                form_id=settings.form_id,
                merchant_id=settings.merchant_id,
                api_key=settings.api_key,
            ),
        )
        return url

    return configure


@pytest.fixture
def stripe_target(engine: sa.Engine, vault: Vault, stripe_sandbox):
    """Configure a Stripe target on a fresh sandbox: `stripe_target("st")` -> sandbox URL."""

    def configure(name: str, *, workspace_id: str | None = None, **sandbox_options) -> str:
        sandbox_options.setdefault("customers", 3)
        url, settings = stripe_sandbox(**sandbox_options)
        save_target(
            engine,
            vault,
            Target(
                name=name,
                kind="stripe",
                api_key=settings.api_key,
                api_base=url,
                workspace_id=workspace_id,
            ),
        )
        return url

    return configure
