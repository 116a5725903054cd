"""The PayFit client, mapping and mock-mode detection, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from paysync_dagster.providers.base import CursorGoneError, MappingError
from paysync_dagster.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
)
from paysync_dagster.providers.payfit import budgets
from paysync_dagster.providers.payfit.client import PayfitApi, PayfitPage
from paysync_dagster.providers.payfit.errors import (
    PayfitMockModeError,
    PayfitPageTokenError,
    PayfitUnexpectedResponseError,
    PayfitUnreachableError,
    safe_url,
)
from paysync_dagster.providers.payfit.mapping import (
    PERSONAL_FIELDS,
    REMOVED_FIELDS_KEY,
    map_collaborator,
    map_contract,
)
from paysync_dagster.providers.payfit.mock_mode import mock_mode_reason, mock_mode_status
from paysync_dagster.providers.rate_budget import RateBudget
from paysync_dagster.sandbox.payfit import (
    PayfitDataset,
    PayfitSandboxSettings,
    expire_page_tokens,
    requests_received,
    running_sandbox,
)
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import employees, employment_contracts
from paysync_dagster.sync.full_sync import sync_entity

COMPANY = "cmp-client-test"


def fake_payfit_key() -> str:
    """An obviously fake, freshly generated PayFit API key."""
    return f"pf-test-{secrets.token_hex(12)}"


SandboxFactory = Callable[..., tuple[str, PayfitSandboxSettings]]


@pytest.fixture
def payfit_sandbox() -> Iterator[SandboxFactory]:
    """Start PayFit sandboxes that record requests: `payfit_sandbox(collaborators=50, ...)`."""
    with ExitStack() as stack:

        def start(**options: Any) -> tuple[str, PayfitSandboxSettings]:
            options.setdefault("api_key", fake_payfit_key())
            options.setdefault("company_id", COMPANY)
            options.setdefault("rate_limit", None)
            options.setdefault("record_requests", True)
            settings = PayfitSandboxSettings(**options)
            return stack.enter_context(running_sandbox(settings)), settings

        yield start


def client_for(url: str, settings: PayfitSandboxSettings, **options: Any) -> PayfitApi:
    options.setdefault("company_id", settings.company_id)
    options.setdefault("budget", RateBudget(1000))
    return PayfitApi(settings.api_key, api_base=url, oauth_base=url, **options)


def list_requests(url: str) -> list[dict[str, Any]]:
    return [r for r in requests_received(url) if r["path"] != "/introspect"]


# -- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "sizes"), [(0, [0]), (50, [50]), (51, [50, 1]), (100, [50, 50])])
def test_pages_of_50_end_without_a_token(payfit_sandbox, count: int, sizes: list[int]):
    url, settings = payfit_sandbox(collaborators=count)
    with client_for(url, settings) as api:
        pages = list(api.list_pages("collaborators"))
    assert [len(page.objects) for page in pages] == sizes
    assert [page.has_more for page in pages] == [True] * (len(sizes) - 1) + [False]
    assert pages[-1].next_page_token is None
    ids = [obj["id"] for page in pages for obj in page.objects]
    assert ids == [PayfitDataset(count, 0, COMPANY).collaborator_id(i) for i in range(count)]
    # Exactly one request per page: no trailing request for an empty page.
    log = list_requests(url)
    assert len(log) == len(sizes)
    assert all("maxResults=50" in r["query"] for r in log)


def test_contracts_list_completely(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=140, seed=4)
    dataset = PayfitDataset(140, 4, COMPANY)
    with client_for(url, settings) as api:
        contracts = [c for page in api.list_pages("contracts") for c in page.objects]
    assert len(contracts) == sum(dataset.contract_count(i) for i in range(140))
    assert len({c["id"] for c in contracts}) == len(contracts)


def test_a_page_token_resumes_and_a_stale_one_is_a_cursor_gone_error(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=130)
    with client_for(url, settings) as api:
        first = next(api.list_pages("collaborators"))
        rest = list(api.list_pages("collaborators", starting_after=first.next_page_token))
        listed = [o["id"] for page in [first, *rest] for o in page.objects]
        assert len(listed) == len(set(listed)) == 130

        with pytest.raises(PayfitPageTokenError) as bogus:
            list(api.list_pages("collaborators", starting_after="not-a-real-token"))
        assert isinstance(bogus.value, CursorGoneError)

        listing = api.list_pages("collaborators")
        next(listing)
        expire_page_tokens(url)
        with pytest.raises(CursorGoneError, match="page token"):
            next(listing)


def test_the_company_id_comes_from_introspect_when_not_configured(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=5)
    with client_for(url, settings, company_id=None) as api:
        assert sum(len(p.objects) for p in api.list_pages("collaborators")) == 5
        list(api.list_pages("contracts"))
    paths = [r["path"] for r in requests_received(url)]
    assert paths == [
        "/introspect",
        f"/companies/{COMPANY}/collaborators",
        f"/companies/{COMPANY}/contracts",
    ]


# -- rate limits and retries ------------------------------------------------------------------


def test_a_429_storm_still_lists_everything_exactly_once(payfit_sandbox):
    # The sandbox allows 20 req/s; the client's budget would send 1,000 and gets throttled.
    url, settings = payfit_sandbox(collaborators=300, rate_limit=20)
    with client_for(url, settings) as api:
        pages = list(api.list_pages("collaborators", page_size=10))
    ids = [o["id"] for page in pages for o in page.objects]
    assert len(ids) == len(set(ids)) == 300
    statuses = [r["status"] for r in requests_received(url)]
    assert statuses.count(429) > 0
    assert statuses.count(200) == len(pages) == 30
    assert sum(page.retries for page in pages) == statuses.count(429)
    # Honouring Retry-After takes about one retry per throttled page, not a backoff ladder.
    assert max(page.retries for page in pages) <= 2


def test_a_429_without_retry_after_waits_for_the_next_second(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=300, rate_limit=20, send_retry_after=False)
    sleeps: list[float] = []

    def recorded_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)  # the client's own backoff, really waited out against the sandbox

    with client_for(url, settings, sleep=recorded_sleep) as api:
        pages = list(api.list_pages("collaborators", page_size=10))
    assert sum(len(page.objects) for page in pages) == 300
    # 30 requests against a burst of 20: throttled once, then one window refills it.
    assert sleeps
    assert min(sleeps) >= 1.0
    assert max(page.retries for page in pages) == 1


def test_server_errors_are_retried(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=200, fail_rate=0.3, seed=2)
    with client_for(url, settings, sleep=lambda _: None) as api:
        pages = list(api.list_pages("collaborators"))
    assert sum(len(page.objects) for page in pages) == 200
    assert sum(page.retries for page in pages) == [
        r["status"] for r in requests_received(url)
    ].count(500)


def test_persistent_server_errors_end_with_provider_unavailable(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=5, fail_rate=1.0)
    with (
        client_for(url, settings, max_retries=3, sleep=lambda _: None) as api,
        pytest.raises(ProviderUnavailableError, match="after 3 retries"),
    ):
        list(api.list_pages("collaborators"))
    assert len(list_requests(url)) == 4


def test_the_budget_is_shared_per_key_and_keyed_by_a_digest():
    key, other = fake_payfit_key(), fake_payfit_key()
    budget = budgets.shared_budget(key)
    assert budgets.shared_budget(key) is budget
    assert budgets.shared_budget(other) is not budget
    assert budget.rate == budgets.DEFAULT_REQUESTS_PER_SECOND == 47.5
    assert key not in repr(budgets._budgets)
    with PayfitApi(key, company_id="c") as api:
        assert api._budget is budget


# -- refusals fail fast -----------------------------------------------------------------------


def test_a_wrong_key_fails_at_once_with_one_request(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=5)
    wrong = fake_payfit_key()
    with (
        PayfitApi(wrong, company_id=COMPANY, api_base=url, oauth_base=url) as api,
        pytest.raises(ProviderAuthError, match="HTTP 401") as error,
    ):
        list(api.list_pages("collaborators"))
    assert len(requests_received(url)) == 1
    assert wrong not in str(error.value)
    assert settings.api_key not in str(error.value)


def test_a_missing_scope_fails_at_once_and_is_named(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=5, scopes=("collaborators:read",))
    with client_for(url, settings, workspace_id="acme") as api:
        assert len(next(api.list_pages("collaborators")).objects) == 5
        with pytest.raises(ProviderAuthError, match="'contracts:read'") as error:
            list(api.list_pages("contracts"))
    assert "workspace 'acme'" in str(error.value)
    assert [r["status"] for r in requests_received(url)] == [200, 403]


def test_another_company_fails_at_once(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=5)
    with (
        client_for(url, settings, company_id="someone-else") as api,
        pytest.raises(ProviderAuthError, match="another company"),
    ):
        list(api.list_pages("collaborators"))
    assert len(requests_received(url)) == 1


# -- misconfigured bases ----------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_base_fails_fast_naming_the_url():
    key = fake_payfit_key()
    base = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with (
        PayfitApi(key, company_id=COMPANY, api_base=base, workspace_id="acme") as api,
        pytest.raises(PayfitUnreachableError) as error,
    ):
        list(api.list_pages("collaborators"))
    assert time.monotonic() - started < 3
    message = str(error.value)
    assert f"{base}/companies/{COMPANY}/collaborators" in message
    assert "--api-base" in message
    assert "workspace 'acme'" in message
    assert "3 attempts" in message
    assert key not in message


def test_a_reachable_oauth_base_does_not_slow_down_a_wrong_api_base(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=5)
    base = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with (
        PayfitApi(settings.api_key, api_base=base, oauth_base=url) as api,
        pytest.raises(PayfitUnreachableError, match="--api-base") as error,
    ):
        list(api.list_pages("collaborators"))
    assert time.monotonic() - started < 3
    assert base in str(error.value)
    assert [r["path"] for r in requests_received(url)] == ["/introspect"]


def test_an_unreachable_oauth_base_names_the_oauth_option():
    base = f"http://127.0.0.1:{closed_port()}"
    with (
        PayfitApi(fake_payfit_key(), oauth_base=base) as api,
        pytest.raises(PayfitUnreachableError, match="--oauth-base") as error,
    ):
        api.company_id()
    assert f"{base}/introspect" in str(error.value)


@contextmanager
def web_server(routes: list[Route]) -> Iterator[str]:
    app = Starlette(routes=routes)
    with server_in_thread(uvicorn_server(app, lifespan="off"), "not payfit") as url:
        yield url


def test_a_website_instead_of_the_api_is_named_as_such():
    async def html(request: Request) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome</body></html>")

    async def missing(request: Request) -> HTMLResponse:
        return HTMLResponse("<html>404</html>", status_code=404)

    routes = [
        Route("/companies/{c}/collaborators", html),
        Route("/companies/{c}/contracts", missing),
    ]
    with (
        web_server(routes) as url,
        PayfitApi(fake_payfit_key(), company_id=COMPANY, api_base=url) as api,
    ):
        with pytest.raises(PayfitUnexpectedResponseError, match="HTML page") as ok_html:
            list(api.list_pages("collaborators"))
        with pytest.raises(PayfitUnexpectedResponseError, match="api_base") as bad_html:
            list(api.list_pages("contracts"))
    assert url in str(ok_html.value)
    assert url in str(bad_html.value)


def test_json_of_the_wrong_shape_is_not_taken_for_an_empty_list():
    async def stripe_like(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [], "has_more": False})

    async def not_introspection(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [
        Route("/companies/{c}/collaborators", stripe_like),
        Route("/introspect", not_introspection, methods=["POST"]),
    ]
    with web_server(routes) as url:
        with (
            PayfitApi(fake_payfit_key(), company_id=COMPANY, api_base=url) as api,
            pytest.raises(PayfitUnexpectedResponseError, match="not a PayFit list"),
        ):
            list(api.list_pages("collaborators"))
        with (
            PayfitApi(fake_payfit_key(), api_base=url, oauth_base=url) as api,
            pytest.raises(PayfitUnexpectedResponseError, match="oauth_base"),
        ):
            api.company_id()


class _Garbage(socketserver.BaseRequestHandler):
    """Answers every connection with bytes that are not HTTP/1.1 (an HTTP/2 SETTINGS frame)."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00garbage\r\n\r\n")


def test_a_server_not_speaking_http_is_a_protocol_error_naming_the_url():
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Garbage) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            with (
                PayfitApi(fake_payfit_key(), company_id=COMPANY, api_base=base) as api,
                pytest.raises(PayfitUnreachableError, match="protocol error") as error,
            ):
                list(api.list_pages("collaborators"))
        finally:
            server.shutdown()
    assert base in str(error.value)


def test_bad_configuration_is_refused_before_any_request():
    with pytest.raises(ValueError, match="credentials"):
        PayfitApi(fake_payfit_key(), api_base="https://user:hunter2@partner-api.payfit.com")
    with pytest.raises(ValueError, match="http"):
        PayfitApi(fake_payfit_key(), api_base="ftp://partner-api.payfit.com")
    with pytest.raises(ValueError, match="company id"):
        PayfitApi(fake_payfit_key(), company_id="../../admin")
    with pytest.raises(ValueError, match="whitespace"):
        PayfitApi("two words")
    assert safe_url("https://u:p@host:8443/a/b?token=x#f") == "https://host:8443/a/b"


# -- connection test --------------------------------------------------------------------------


def test_connection_test_reports_success_and_each_failure(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=3)
    with client_for(url, settings, company_id=None) as api:
        ok = api.test_connection()
    assert ok.ok
    assert ok.company_id == COMPANY
    assert "contracts:read" in ok.scopes
    assert [r["path"] for r in requests_received(url)] == ["/introspect", f"/companies/{COMPANY}"]
    with client_for(url, settings, company_id="someone-else") as api:
        mismatch = api.test_connection()
    assert not mismatch.ok
    assert "someone-else" in mismatch.message
    with PayfitApi(fake_payfit_key(), api_base=url, oauth_base=url) as api:
        refused = api.test_connection()
    assert not refused.ok
    assert "HTTP 401" in refused.message
    with PayfitApi(fake_payfit_key(), oauth_base=f"http://127.0.0.1:{closed_port()}") as api:
        unreachable = api.test_connection()
    assert not unreachable.ok
    assert "--oauth-base" in unreachable.message


# -- the sync engine drives the client --------------------------------------------------------


def sync_payfit(engine: sa.Engine, source: Any, entity: str, table: sa.Table, mapper: Any):
    return sync_entity(
        engine, source, workspace_id="acme", provider="payfit", entity_type=entity,
        table=table, mapper=mapper, batch_size=100,
    )  # fmt: skip


def test_full_sync_of_collaborators_and_contracts(engine, payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=160, seed=5)
    dataset = PayfitDataset(160, 5, COMPANY)
    with client_for(url, settings) as api:
        people = sync_payfit(engine, api, "collaborators", employees, map_collaborator)
        jobs = sync_payfit(engine, api, "contracts", employment_contracts, map_contract)
    assert people.status == jobs.status == sessions.COMPLETED
    assert people.listed == people.inserted == 160
    with engine.connect() as connection:
        staff = {r.external_id: r for r in connection.execute(sa.select(employees))}
        contracts = list(connection.execute(sa.select(employment_contracts)))
    assert len(staff) == 160
    assert jobs.listed == len(contracts) == sum(dataset.contract_count(i) for i in range(160))
    assert {c.employee_external_id for c in contracts} == set(staff)
    assert {r.status for r in staff.values()} >= {"active", "terminated"}


class _FailsAfter:
    """A PageSource that lists `pages` pages and then fails, as a sync dying mid-way would."""

    def __init__(self, api: PayfitApi, pages: int) -> None:
        self._api = api
        self._pages = pages

    def list_pages(self, entity: str, *, starting_after: str | None = None) -> Iterator[PayfitPage]:
        for number, page in enumerate(self._api.list_pages(entity, starting_after=starting_after)):
            if number == self._pages:
                raise ProviderUnavailableError("simulated outage")
            yield page


def test_a_sync_that_died_resumes_from_its_page_token(engine, payfit_sandbox):
    """A sync dying after some committed batches resumes at the next page's token: the
    resumed listing requests only the pages the first one did not commit."""
    url, settings = payfit_sandbox(collaborators=400)
    with client_for(url, settings) as api:
        with pytest.raises(ProviderUnavailableError):
            sync_payfit(engine, _FailsAfter(api, 5), "collaborators", employees, map_collaborator)
        with engine.connect() as connection:
            committed = connection.scalar(sa.select(sa.func.count()).select_from(employees))
        before = len(requests_received(url))
        result = sync_payfit(engine, api, "collaborators", employees, map_collaborator)
    assert result.status == sessions.COMPLETED
    assert result.resumed
    assert 0 < committed < 400
    assert result.listed == 400 - committed
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(employees)) == 400
    resumed_requests = requests_received(url)[before:]
    assert [r["status"] for r in resumed_requests].count(400) == 0
    assert len(resumed_requests) == (400 - committed) // 50


# -- personal data ----------------------------------------------------------------------------


_PERSONAL = ("socialSecurityNumber", "iban", "bic", "birthDate", "birthName")


def _personal_values(collaborators: list[dict[str, Any]]) -> set[str]:
    """Every generated personal identifier, except birth names that are also ordinary data
    (a current name, a street or a town: French surnames are both)."""
    values = {c[field] for c in collaborators for field in _PERSONAL[:4]}
    elsewhere = json.dumps(
        [{k: v for k, v in c.items() if k not in _PERSONAL} for c in collaborators],
        ensure_ascii=False,
    )
    values |= {c["birthName"] for c in collaborators if c["birthName"] not in elsewhere}
    return values


def test_mapped_rows_and_raw_hold_no_personal_identifier(payfit_sandbox):
    url, settings = payfit_sandbox(collaborators=250, seed=9)
    with client_for(url, settings) as api:
        pages = list(api.list_pages("collaborators"))
    collaborators = [o for page in pages for o in page.objects]
    secrets_seen = _personal_values(collaborators)
    assert len(secrets_seen) > 4 * 250  # SSN, IBAN, BIC and birth date of each, at least
    rows = [map_collaborator(o, pages[0].fetched_at) for o in collaborators]
    text = json.dumps(rows, default=str, ensure_ascii=False)
    assert [value for value in secrets_seen if value in text] == []
    for row in rows:
        raw = json.loads(row["raw"])
        assert not set(PERSONAL_FIELDS) & set(raw)
        assert raw[REMOVED_FIELDS_KEY] == sorted(PERSONAL_FIELDS)
        assert row["first_name"]
        assert row["last_name"]
        assert row["email"].endswith(".example")
        assert row["source_ts"] == pages[0].fetched_at


def test_the_database_file_holds_no_personal_identifier(engine, database_url, payfit_sandbox):
    if not database_url.startswith("sqlite"):
        pytest.skip("searches the SQLite file and its WAL")
    url, settings = payfit_sandbox(collaborators=120, seed=3)
    with client_for(url, settings) as api:
        sync_payfit(engine, api, "collaborators", employees, map_collaborator)
        collaborators = [o for page in api.list_pages("collaborators") for o in page.objects]
    path = Path(database_url.removeprefix("sqlite:///"))
    stored = b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(f"{path.name}-wal"))
        if candidate.exists()
    )
    assert collaborators[0]["firstName"].encode() in stored  # the search does find real data
    assert [v for v in _personal_values(collaborators) if v.encode() in stored] == []


def test_terminated_collaborators_and_contracts_keep_their_status_and_dates():
    dataset = PayfitDataset(300, 1, COMPANY)
    now = datetime.now(UTC)
    people = [dataset.collaborator(i) for i in range(300)]
    gone = next(p for p in people if p["contracts"][-1]["status"] == "FINISHED")
    fixed_term = next(
        p for p in people if p["terminationDate"] and p["contracts"][-1]["status"] == "ACTIVE"
    )
    assert map_collaborator(gone, now)["status"] == "terminated"
    assert map_collaborator(fixed_term, now)["status"] == "active"
    index = dataset.collaborator_index(gone["id"])
    assert index is not None
    last_slot = index * 3 + len(gone["contracts"]) - 1
    row = map_contract(dataset.contract(last_slot), now)
    assert row["status"] == "finished"
    assert row["end_date"].isoformat() == gone["terminationDate"]
    assert row["employee_external_id"] == gone["id"]


@pytest.mark.parametrize(
    ("obj", "external_id", "message"),
    [
        ({"firstName": "A"}, None, "missing required field 'id'"),
        ({"id": "c1", "birthDate": "x", "terminationDate": "31/12/2025"}, "c1", "terminationDate"),
        ({"id": "c1", "firstName": "x" * 300}, "c1", "longer than 255"),
        ({"id": "c1", "emails": ["a@b.fr"]}, "c1", "emails"),
        ({"id": 7}, None, "should be str"),
    ],
)
def test_malformed_collaborators_raise_mapping_errors_without_values(obj, external_id, message):
    with pytest.raises(MappingError, match=message) as error:
        map_collaborator({**obj, "socialSecurityNumber": "184127645108946"}, datetime.now(UTC))
    assert error.value.external_id == external_id
    assert "184127645108946" not in str(error.value)


def test_contracts_need_their_collaborator():
    with pytest.raises(MappingError, match="collaboratorId"):
        map_contract({"id": "k1", "status": "ACTIVE"}, datetime.now(UTC))


# -- mock mode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_key", "company_id"),
    # A fixed id for the fresh key: pytest-xdist's workers must collect the same test names.
    [("placeholder-payfit-key", COMPANY),
     pytest.param(fake_payfit_key(), "placeholder-company-id", id="fresh-key-placeholder-company"),
     ("", COMPANY), ("changeme", None)],
)  # fmt: skip
def test_the_client_refuses_placeholder_credentials_before_any_request(
    payfit_sandbox, api_key, company_id
):
    url, _ = payfit_sandbox(collaborators=5)
    with pytest.raises(PayfitMockModeError, match="mock mode") as error:
        PayfitApi(api_key, company_id=company_id, api_base=url, oauth_base=url, workspace_id="w")
    assert "workspace 'w'" in str(error.value)
    assert requests_received(url) == []


REAL_KEY = "pf-live-5a3c9e1d7b"


@pytest.mark.parametrize(
    ("api_key", "company_id", "mocked"),
    [
        (REAL_KEY, "5f1e2d3c4b5a69788796a5b4", False),
        (REAL_KEY, None, False),  # the company id will come from /introspect
        ("placeholder-payfit-key", "5f1e2d3c4b5a69788796a5b4", True),
        (REAL_KEY, "placeholder-company-id", True),
        ("placeholder-payfit-key", "placeholder-company-id", True),
        ("  PLACEHOLDER_PAYFIT_KEY ", "c", True),
        ("placeholder", "c", True),
        ("changeme", "c", True),
        ("CHANGE_ME", "c", True),
        ("your-payfit-api-key", "c", True),
        ("xxx", "c", True),
        ("XXXXXXXXXXXX", "c", True),
        ("****", "c", True),
        ("<your-api-key>", "c", True),
        ("${PAYFIT_API_KEY}", "c", True),
        (REAL_KEY, "{{ company_id }}", True),
        ("", "c", True),
        ("   ", "c", True),
        (None, "c", True),
        (REAL_KEY, "", True),
        (REAL_KEY, " \t", True),
        (REAL_KEY, "your-company-id", True),
        ("xx", "c", False),  # too short to be a mask: a (bad) key, which PayFit will refuse
        ("pf-placeholder-looking-but-real", "c", False),
    ],
)
def test_mock_mode_table(api_key, company_id, mocked):
    status = mock_mode_status(api_key, company_id)
    assert status.active is mocked
    assert (status.reason is not None) is mocked
    assert mock_mode_reason(api_key, company_id) == status.reason
    if mocked:
        assert status.reason.startswith("mock mode: ")
        assert "no request" in status.reason
        # The key is never quoted (the word "placeholder" may of course appear).
        assert REAL_KEY not in status.reason
        if api_key and api_key.strip():
            assert repr(api_key.strip()) not in status.reason


def test_mock_mode_reasons_say_which_value_is_wrong():
    assert "API key is missing" in mock_mode_reason(None, "c")
    assert "API key is a placeholder" in mock_mode_reason("changeme", "c")
    both = mock_mode_reason("placeholder-payfit-key", "placeholder-company-id")
    assert "API key" in both
    assert "'placeholder-company-id'" in both
    assert "company id is empty" in mock_mode_reason(REAL_KEY, "")


def test_provider_errors_are_provider_errors():
    for error_type in (
        PayfitMockModeError,
        PayfitPageTokenError,
        PayfitUnexpectedResponseError,
        PayfitUnreachableError,
    ):
        assert issubclass(error_type, ProviderError)
