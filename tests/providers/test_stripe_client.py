"""The Stripe client's rate budget and retries, against the sandbox over real HTTP."""

from __future__ import annotations

import secrets
import time

import pytest

from paysync_dagster.providers.errors import (
    ProviderAuthError,
    ProviderUnavailableError,
    ProviderUnreachableError,
)
from paysync_dagster.providers.rate_budget import RateBudget
from paysync_dagster.providers.stripe.client import StripeApi, default_requests_per_second
from paysync_dagster.sandbox.stripe import StripeDataset


class _FakeClock:
    """Time that only moves when the budget sleeps, so the arithmetic is exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_budget_allows_a_burst_then_paces_at_the_rate():
    clock = _FakeClock()
    budget = RateBudget(25, clock=clock, sleep=clock.sleep)
    waits = [budget.acquire() for _ in range(75)]
    assert waits[:25] == [0.0] * 25
    assert all(wait > 0 for wait in waits[25:])
    assert clock.now == pytest.approx(50 / 25)


def test_budget_refills_while_idle():
    clock = _FakeClock()
    budget = RateBudget(10, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        budget.acquire()
    clock.now += 1.0
    assert [budget.acquire() for _ in range(10)] == [0.0] * 10


def test_default_rates_follow_stripe_modes():
    assert default_requests_per_second(f"sk_test_{secrets.token_hex(8)}") == 25
    assert default_requests_per_second(f"sk_live_{secrets.token_hex(8)}") == 100


def test_429_retries_wait_at_least_retry_after(stripe_sandbox):
    url, settings = stripe_sandbox(customers=300, seed=1, rate_limit=2.0)
    sleeps: list[float] = []

    def recorded_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)  # the client's own backoff, really waited out against the sandbox

    api = StripeApi(
        settings.api_key,
        api_base=url,
        budget=RateBudget(10_000),
        max_retries=50,
        sleep=recorded_sleep,
    )
    pages = list(api.list_pages("customers", page_size=50))
    api.close()
    assert sum(len(page.objects) for page in pages) == 300
    # At 2 req/s a throttled request must wait ~0.5 s; backoff alone would start far lower
    # and need several tries. Honouring Retry-After takes exactly one retry per page.
    assert len(sleeps) > 0
    assert all(page.retries <= 1 for page in pages)
    assert min(sleeps) >= 0.3


def test_server_errors_exhaust_retries_with_a_clear_error(stripe_sandbox):
    url, settings = stripe_sandbox(customers=10, fail_rate=1.0)
    api = StripeApi(settings.api_key, api_base=url, max_retries=2, sleep=lambda _: None)
    with pytest.raises(ProviderUnavailableError, match="after 2 retries"):
        list(api.list_pages("customers"))
    api.close()


def test_refused_key_is_not_retried_and_not_echoed(stripe_sandbox):
    url, _ = stripe_sandbox(customers=10)
    sleeps: list[float] = []
    wrong_key = "sk_test_" + "9" * 24
    api = StripeApi(wrong_key, api_base=url, max_retries=5, sleep=sleeps.append)
    with pytest.raises(ProviderAuthError) as listing:
        next(api.list_pages("customers"))
    with pytest.raises(ProviderAuthError) as retrieval:
        api.retrieve("customers", "cus_any")
    api.close()
    assert sleeps == []
    for raised in (listing, retrieval):
        assert wrong_key not in str(raised.value)
        assert "9999" not in str(raised.value)


def test_resuming_after_a_cursor_continues_the_listing(stripe_sandbox):
    url, settings = stripe_sandbox(customers=250, seed=3)
    dataset = StripeDataset(customers=250, seed=3)
    api = StripeApi(settings.api_key, api_base=url, budget=RateBudget(10_000))
    cursor = dataset.get("customers", 99)["id"]
    pages = list(api.list_pages("customers", starting_after=cursor))
    api.close()
    ids = [obj["id"] for page in pages for obj in page.objects]
    assert ids == [dataset.get("customers", i)["id"] for i in range(100, 250)]


def test_retrieve_returns_the_object_or_none_when_stripe_has_none(stripe_sandbox):
    url, settings = stripe_sandbox(customers=20, seed=4)
    dataset = StripeDataset(customers=20, seed=4)
    api = StripeApi(settings.api_key, api_base=url, budget=RateBudget(10_000))
    expected = dataset.get("invoices", 3)
    found = api.retrieve("invoices", expected["id"])
    missing = api.retrieve("customers", "cus_doesnotexist")
    api.close()
    assert found == expected
    assert missing is None


def test_list_pages_decode_to_the_same_objects_the_sandbox_serves(stripe_sandbox):
    url, settings = stripe_sandbox(customers=30, seed=5)
    dataset = StripeDataset(customers=30, seed=5)
    api = StripeApi(settings.api_key, api_base=url, budget=RateBudget(10_000))
    objects = [obj for page in api.list_pages("subscriptions", page_size=7) for obj in page.objects]
    api.close()
    assert objects == [
        dataset.get("subscriptions", i) for i in range(dataset.count("subscriptions"))
    ]


def _closed_port_url() -> str:
    """A base URL on 127.0.0.1 with nothing listening: a sandbox that was stopped."""
    from paysync_dagster.sandbox.stripe import StripeSandboxSettings, running_sandbox

    with running_sandbox(StripeSandboxSettings(customers=1)) as url:
        return url


def test_an_api_base_that_never_answers_fails_fast_naming_the_url_and_the_fix():
    url = _closed_port_url()
    slept: list[float] = []
    api = StripeApi(f"sk_test_{secrets.token_hex(8)}", api_base=url, sleep=slept.append)
    with pytest.raises(ProviderUnreachableError) as raised:
        next(api.list_pages("customers"))
    api.close()
    message = str(raised.value)
    assert url in message
    assert "paysync dev" in message
    # Two short retries, not the eight long ones an outage of a reachable base gets.
    assert len(slept) == 2
    assert "sk_test_" not in message
