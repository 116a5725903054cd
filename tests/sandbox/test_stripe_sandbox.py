"""The Stripe sandbox speaks Stripe's API: the official SDK works against it over real HTTP."""

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import httpx
import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from paysync_dagster.sandbox.stripe import (
    StripeDataset,
    StripeSandboxSettings,
    build_app,
    running_sandbox,
)
from paysync_dagster.sandbox.stripe.ids import IdCodec
from paysync_dagster.sandbox.stripe.params import ListQuery
from paysync_dagster.sandbox.stripe.settings import DEFAULT_API_KEY
from paysync_dagster.sandbox.stripe.timeline import Timeline

KEY = DEFAULT_API_KEY
CUSTOMERS = 120
SEED = 7
ENTITIES = ("customers", "products", "prices", "subscriptions", "invoices")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A read-only sandbox shared by the tests that do not mutate it."""
    with running_sandbox(StripeSandboxSettings(customers=CUSTOMERS, seed=SEED)) as url:
        yield url


@pytest.fixture(scope="module")
def dataset() -> StripeDataset:
    return StripeDataset(customers=CUSTOMERS, seed=SEED)


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


def sdk(url: str) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)


def get_page(api: httpx.Client, entity: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/{entity}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def all_ids(api: httpx.Client, entity: str, **params: Any) -> list[str]:
    ids: list[str] = []
    while True:
        page = get_page(
            api, entity, limit=100, **params, **({"starting_after": ids[-1]} if ids else {})
        )
        ids += [obj["id"] for obj in page["data"]]
        if not page["has_more"]:
            return ids


def strictly_decreasing(values: Sequence[int]) -> bool:
    return all(newer > older for newer, older in pairwise(values))


def error_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


# -- the official SDK -----------------------------------------------------------------------


def test_sdk_raw_request_lists_a_full_page(base_url: str, dataset: StripeDataset) -> None:
    client = sdk(base_url)
    response = client.raw_request("get", "/v1/customers", limit=100)
    page = client.deserialize(response, api_mode="V1")
    assert len(page.data) == 100
    assert page.has_more is True
    assert [customer.id for customer in page.data] == list(dataset.ids("customers"))[:100]


def test_sdk_auto_paginates_every_entity(base_url: str, dataset: StripeDataset) -> None:
    client = sdk(base_url)
    for entity in ENTITIES:
        params: dict[str, Any] = {"limit": 100}
        if entity == "subscriptions":
            params["status"] = "all"
        listed = [obj.id for obj in getattr(client.v1, entity).list(params).auto_paging_iter()]
        assert listed == list(dataset.ids(entity)), entity
        assert len(listed) == dataset.count(entity)


def test_sdk_retrieve_matches_the_listed_object(base_url: str, dataset: StripeDataset) -> None:
    client = sdk(base_url)
    listed = client.v1.customers.list({"limit": 3}).data[2]
    retrieved = client.v1.customers.retrieve(listed.id)
    assert retrieved.to_dict() == listed.to_dict() == dataset.get("customers", 2)


def test_sdk_raises_typed_errors(base_url: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk(base_url).v1.customers.retrieve("cus_doesnotexist0000")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            "sk_test_wrong", base_addresses={"api": base_url}, max_network_retries=0
        ).v1.customers.list()


# -- pagination -----------------------------------------------------------------------------


def test_starting_after_walks_every_object_once(api: httpx.Client, dataset: StripeDataset) -> None:
    ids: list[str] = []
    page = get_page(api, "customers", limit=7)
    while True:
        ids += [obj["id"] for obj in page["data"]]
        if not page["has_more"]:
            break
        page = get_page(api, "customers", limit=7, starting_after=ids[-1])
    assert ids == list(dataset.ids("customers"))
    assert get_page(api, "customers", starting_after=ids[-1]) == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/customers",
    }


def test_has_more_is_false_exactly_at_the_end(api: httpx.Client, dataset: StripeDataset) -> None:
    ids = list(dataset.ids("customers"))
    last_full = get_page(api, "customers", limit=10, starting_after=ids[-11])
    assert [obj["id"] for obj in last_full["data"]] == ids[-10:]
    assert last_full["has_more"] is False
    one_short = get_page(api, "customers", limit=10, starting_after=ids[-12])
    assert one_short["has_more"] is True


def test_ending_before_pages_towards_newer_objects(
    api: httpx.Client, dataset: StripeDataset
) -> None:
    ids = list(dataset.ids("invoices"))
    page = get_page(api, "invoices", limit=5, ending_before=ids[20])
    assert [obj["id"] for obj in page["data"]] == ids[15:20]
    assert page["has_more"] is True
    first = get_page(api, "invoices", limit=5, ending_before=ids[5])
    assert [obj["id"] for obj in first["data"]] == ids[0:5]
    assert first["has_more"] is False
    assert get_page(api, "invoices", ending_before=ids[0])["data"] == []


def test_sdk_auto_paginates_backwards_from_ending_before(
    base_url: str, dataset: StripeDataset
) -> None:
    ids = list(dataset.ids("prices"))
    listed = sdk(base_url).v1.prices.list({"limit": 2, "ending_before": ids[-1]})
    assert [price.id for price in listed.auto_paging_iter()] == ids[-2::-1]


def test_created_filters_select_by_time(api: httpx.Client, dataset: StripeDataset) -> None:
    created = [dataset.get("subscriptions", index)["created"] for index in range(CUSTOMERS)]
    assert strictly_decreasing(created)
    ids = list(dataset.ids("subscriptions"))
    pivot = created[40]
    cases = {
        "created[gte]": ids[:41],
        "created[gt]": ids[:40],
        "created[lte]": ids[40:],
        "created[lt]": ids[41:],
        "created": ids[40:41],
    }
    for param, expected in cases.items():
        assert all_ids(api, "subscriptions", status="all", **{param: pivot}) == expected, param
    window = {"created[gt]": created[60], "created[lte]": created[50]}
    assert all_ids(api, "subscriptions", status="all", **window) == ids[50:60]


def test_subscriptions_exclude_canceled_unless_asked(
    api: httpx.Client, dataset: StripeDataset
) -> None:
    statuses = {
        obj["id"]: obj["status"]
        for obj in (dataset.get("subscriptions", index) for index in range(CUSTOMERS))
    }
    assert "canceled" in statuses.values()
    assert all_ids(api, "subscriptions") == [i for i, s in statuses.items() if s != "canceled"]
    assert all_ids(api, "subscriptions", status="canceled") == [
        i for i, s in statuses.items() if s == "canceled"
    ]


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"limit": 0}, "limit", None),
        ({"limit": 101}, "limit", None),
        ({"limit": "ten"}, "limit", "parameter_invalid_integer"),
        ({"created[gte]": "yesterday"}, "created[gte]", "parameter_invalid_integer"),
        ({"email": "a@example.com"}, "email", "parameter_unknown"),
        ({"starting_after": "cus_unknown"}, "starting_after", "resource_missing"),
        ({"ending_before": "cus_unknown"}, "ending_before", "resource_missing"),
    ],
)
def test_bad_list_parameters_get_stripe_errors(
    api: httpx.Client, params: dict[str, Any], param: str, code: str | None
) -> None:
    response = api.get("/v1/customers", params=params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error.get("code") == code


def test_limit_bounds_and_default(api: httpx.Client) -> None:
    assert len(get_page(api, "customers")["data"]) == 10
    assert len(get_page(api, "customers", limit=1)["data"]) == 1
    assert len(get_page(api, "customers", limit=100)["data"]) == 100


def test_only_one_cursor_is_allowed(api: httpx.Client, dataset: StripeDataset) -> None:
    first = dataset.id_of("customers", 0)
    response = api.get("/v1/customers", params={"starting_after": first, "ending_before": first})
    assert response.status_code == 400


def test_unknown_ids_and_urls_are_404(api: httpx.Client, dataset: StripeDataset) -> None:
    for object_id in ("cus_nope", dataset.id_of("products", 0), dataset.id_of("customers", 10**6)):
        response = api.get(f"/v1/customers/{object_id}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "resource_missing"
        assert object_id in error_of(response)["message"]
    assert api.get("/v1/widgets").status_code == 404
    assert api.put("/v1/customers").status_code == 404
    assert error_of(api.delete("/v1/products/prod_x"))["type"] == "invalid_request_error"


# -- data -----------------------------------------------------------------------------------


def test_objects_have_stripe_shapes(dataset: StripeDataset) -> None:
    prefixes = {
        "customers": "cus_",
        "products": "prod_",
        "prices": "price_",
        "subscriptions": "sub_",
        "invoices": "in_",
    }
    for entity, prefix in prefixes.items():
        for index in range(dataset.count(entity)):
            obj = dataset.get(entity, index)
            assert obj["id"].startswith(prefix)
            assert obj["object"] == entity[:-1]
            assert obj["livemode"] is False
            assert isinstance(obj["metadata"], dict)
            assert isinstance(obj["created"], int)
    customer = dataset.get("customers", 0)
    assert customer["email"].endswith("@example.com")
    assert set(customer["address"]) == {"city", "country", "line1", "line2", "postal_code", "state"}
    assert set(customer["invoice_settings"]) >= {"default_payment_method", "footer"}


def test_relations_are_consistent(api: httpx.Client, dataset: StripeDataset) -> None:
    ids = {entity: set(dataset.ids(entity)) for entity in ENTITIES}
    products = {dataset.get("products", i)["id"]: dataset.get("products", i) for i in range(3)}
    for product in products.values():
        assert product["default_price"] in ids["prices"]
    for index in range(dataset.count("prices")):
        price = dataset.get("prices", index)
        assert price["product"] in ids["products"]
        assert (price["type"] == "recurring") == (price["recurring"] is not None)
    owner = {}
    for index in range(dataset.count("subscriptions")):
        subscription = dataset.get("subscriptions", index)
        owner[subscription["id"]] = subscription["customer"]
        assert subscription["customer"] in ids["customers"]
        items = subscription["items"]["data"]
        assert 1 <= len(items) <= 2
        assert len({item["price"]["recurring"]["interval"] for item in items}) == 1
        for item in items:
            assert item["price"] == dataset.get(
                "prices", dataset.index_of("prices", item["price"]["id"])
            )
            assert item["subscription"] == subscription["id"]
        latest = subscription["latest_invoice"]
        assert (
            latest is None
            or api.get(f"/v1/invoices/{latest}").json()["subscription"] == (subscription["id"])
        )
    for index in range(dataset.count("invoices")):
        invoice = dataset.get("invoices", index)
        assert invoice["customer"] in ids["customers"]
        if invoice["subscription"] is not None:
            assert owner[invoice["subscription"]] == invoice["customer"]
        lines = invoice["lines"]["data"]
        assert 1 <= len(lines) <= 2
        assert invoice["total"] == sum(line["amount"] for line in lines)
        assert invoice["amount_paid"] + invoice["amount_remaining"] <= invoice["amount_due"]
        for line in lines:
            assert line["pricing"]["price_details"]["price"] in ids["prices"]
    sample = dataset.get("invoices", 3)
    customer = api.get(f"/v1/customers/{sample['customer']}").json()
    assert customer["email"] == sample["customer_email"]


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    settings = StripeSandboxSettings(customers=60, seed=3)
    pages: list[list[bytes]] = []
    for current in (settings, settings, StripeSandboxSettings(customers=60, seed=4)):
        with (
            running_sandbox(current) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client,
        ):
            pages.append([client.get(f"/v1/{e}", params={"limit": 100}).content for e in ENTITIES])
    assert pages[0] == pages[1]
    assert all(ours != theirs for ours, theirs in zip(pages[0], pages[2], strict=True))


# -- auth, throttling and failures ----------------------------------------------------------


def test_wrong_or_missing_key_is_401_without_echoing_the_key(base_url: str) -> None:
    wrong = "sk_test_thisIsNotTheRightKey1234"
    response = httpx.get(f"{base_url}/v1/customers", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid API Key provided: sk_test_")
    assert error["message"].endswith("1234")
    assert wrong not in response.text
    missing = httpx.get(f"{base_url}/v1/customers")
    assert missing.status_code == 401
    assert "did not provide an API key" in error_of(missing)["message"]


def test_rate_limit_answers_429_with_retry_after() -> None:
    with running_sandbox(StripeSandboxSettings(customers=5, rate_limit=0.1)) as url:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=headers) as client:
            assert client.get("/v1/customers").status_code == 200
            throttled = client.get("/v1/customers")
        assert throttled.status_code == 429
        assert error_of(throttled)["code"] == "rate_limit"
        assert 0 < float(throttled.headers["Retry-After"]) <= 10
        with pytest.raises(stripe.RateLimitError):
            sdk(url).v1.customers.list()


def test_fail_rate_one_fails_every_request_with_api_error() -> None:
    with running_sandbox(StripeSandboxSettings(customers=5, fail_rate=1.0)) as url:
        response = httpx.get(f"{url}/v1/customers", headers={"Authorization": f"Bearer {KEY}"})
        assert response.status_code == 500
        assert error_of(response)["type"] == "api_error"
        with pytest.raises(stripe.APIError):
            sdk(url).v1.products.list()


def test_latency_ms_delays_every_answer() -> None:
    with running_sandbox(StripeSandboxSettings(customers=5, latency_ms=60)) as url:
        response = httpx.get(f"{url}/v1/customers", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200
    # Only a lower bound: asyncio may wake a clock tick early, and load only adds delay.
    assert response.elapsed.total_seconds() >= 0.05


# -- mutations and events -------------------------------------------------------------------


def test_sdk_mutations_show_in_lists_and_events() -> None:
    with running_sandbox(StripeSandboxSettings(customers=30, seed=1)) as url:
        client = sdk(url)
        created = client.v1.customers.create(
            {"email": "new@example.com", "name": "New Person", "metadata": {"tier": "gold"}}
        )
        assert client.v1.customers.list({"limit": 1}).data[0].id == created.id
        assert len(list(client.v1.customers.list({"limit": 100}).auto_paging_iter())) == 31

        updated = client.v1.customers.update(
            created.id, {"name": "Renamed", "metadata": {"tier": "silver", "region": "eu"}}
        )
        assert updated.name == "Renamed"
        assert updated.metadata.to_dict() == {"tier": "silver", "region": "eu"}

        generated = client.v1.customers.list({"limit": 3}).data[2]
        client.v1.customers.update(generated.id, {"phone": "+15550000000"})
        assert client.v1.customers.retrieve(generated.id).phone == "+15550000000"

        deleted = client.v1.customers.delete(created.id)
        assert deleted.to_dict() == {"id": created.id, "object": "customer", "deleted": True}
        assert client.v1.customers.retrieve(created.id).to_dict()["deleted"] is True
        listed = [c.id for c in client.v1.customers.list({"limit": 100}).auto_paging_iter()]
        assert created.id not in listed
        assert len(listed) == 30
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.update(created.id, {"name": "Ghost"})

        events = list(client.v1.events.list({"limit": 2}).auto_paging_iter())
        assert [event.type for event in events] == [
            "customer.deleted",
            "customer.updated",
            "customer.updated",
            "customer.created",
        ]
        renamed = events[2].to_dict()
        assert renamed["data"]["object"]["id"] == created.id
        assert renamed["data"]["previous_attributes"] == {
            "name": "New Person",
            "metadata": {"tier": "gold", "region": None},
        }
        assert events[3].request.id is not None
        assert client.v1.events.retrieve(events[0].id).to_dict() == events[0].to_dict()
        only_created = client.v1.events.list({"type": "customer.created"}).data
        assert [event.id for event in only_created] == [events[3].id]
        assert len(client.v1.events.list({"type": "customer.*"}).data) == 4


def test_invalid_mutations_change_nothing() -> None:
    with running_sandbox(StripeSandboxSettings(customers=5)) as url:
        client = sdk(url)
        customer_id = client.v1.customers.list({"limit": 1}).data[0].id
        for params, param in [
            ({"email": "not-an-email"}, "email"),
            ({"name": "x" * 257}, "name"),
            ({"metadata": {"k" * 41: "v"}}, "metadata"),
            ({"nickname": "nope"}, "nickname"),
        ]:
            with pytest.raises(stripe.InvalidRequestError) as rejected:
                client.v1.customers.update(customer_id, params)
            assert rejected.value.param == param
        assert client.v1.events.list().data == []


def test_state_methods_are_the_ones_the_routes_use() -> None:
    state = build_app(StripeSandboxSettings(customers=10, seed=2)).state.sandbox
    seen: list[str] = []
    unsubscribe = state.subscribe(lambda event: seen.append(event["type"]))
    created = state.create_customer({"email": "py@example.com"})
    customer_id = state.dataset.id_of("customers", 4)
    state.update_customer(customer_id, {"metadata": {"tier": "gold"}})
    state.update_customer(customer_id, {"metadata": {"tier": "gold"}})
    state.delete_customer(created["id"])
    unsubscribe()
    state.delete_customer(customer_id)
    assert seen == ["customer.created", "customer.updated", "customer.deleted"]
    page = state.list_objects("customers", ListQuery(limit=100))
    assert [c["id"] for c in page["data"]] == [
        object_id for object_id in state.dataset.ids("customers") if object_id != customer_id
    ]
    events = state.list_objects("events", ListQuery(limit=100))["data"]
    assert events[0]["type"] == "customer.deleted"
    assert len(events) == 4


# -- scale ----------------------------------------------------------------------------------


def test_million_customers_serve_a_middle_page() -> None:
    state = build_app(StripeSandboxSettings(customers=1_000_000)).state.sandbox
    middle = state.dataset.id_of("customers", 500_000)
    page = state.list_objects("customers", ListQuery(limit=100, starting_after=middle))
    created = [customer["created"] for customer in page["data"]]
    assert len(created) == 100
    assert strictly_decreasing(created)
    assert page["data"][0]["id"] == state.dataset.id_of("customers", 500_001)
    assert page["has_more"] is True
    last = state.dataset.id_of("invoices", 2_000_000 - 3)
    tail = state.list_objects("invoices", ListQuery(limit=100, starting_after=last))
    assert len(tail["data"]) == 2
    assert tail["has_more"] is False


def test_million_customers_over_http_in_a_subprocess() -> None:
    settings = StripeSandboxSettings(customers=1_000_000, seed=5)
    dataset = StripeDataset(customers=1_000_000, seed=5)
    with running_sandbox(settings, subprocess=True) as url:
        client = sdk(url)
        cursor = dataset.id_of("customers", 999_949)
        page = client.v1.customers.list({"limit": 100, "starting_after": cursor})
        assert [c.id for c in page.data] == [
            dataset.id_of("customers", i) for i in range(999_950, 10**6)
        ]
        assert page.has_more is False
        before = dataset.created("customers", 999_999)
        assert [c.id for c in client.v1.customers.list({"created": {"lt": before + 1}}).data] == [
            dataset.id_of("customers", 999_999)
        ]


# -- building blocks ------------------------------------------------------------------------


@given(
    count=st.integers(min_value=0, max_value=60),
    step=st.integers(min_value=1, max_value=50),
    key=st.integers(min_value=0, max_value=2**64 - 1),
    gte=st.none() | st.integers(min_value=-200, max_value=3200),
    lte=st.none() | st.integers(min_value=-200, max_value=3200),
)
def test_timeline_index_range_matches_a_scan(
    count: int, step: int, key: int, gte: int | None, lte: int | None
) -> None:
    timeline = Timeline(count=count, anchor=3000, step=step, key=key)
    created = [timeline.created(index) for index in range(count)]
    assert strictly_decreasing(created)
    selected = [
        index
        for index, ts in enumerate(created)
        if (gte is None or ts >= gte) and (lte is None or ts <= lte)
    ]
    start, stop = timeline.index_range(gte, lte)
    assert list(range(start, stop)) == selected


@given(index=st.integers(min_value=0, max_value=62**10 - 1), seed=st.integers(0, 2**32))
def test_ids_round_trip_and_reject_foreign_ids(index: int, seed: int) -> None:
    codec = IdCodec("cus", seed)
    object_id = codec.encode(index)
    assert len(object_id) == len("cus_") + 14
    assert codec.decode(object_id) == index
    assert IdCodec("prod", seed).decode(object_id) is None
    assert codec.decode(object_id[:-1]) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"customers": -1},
        {"api_key": ""},
        {"rate_limit": 0},
        {"fail_rate": 1.5},
        {"latency_ms": -1},
    ],
)
def test_settings_reject_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        StripeSandboxSettings(**bad)
