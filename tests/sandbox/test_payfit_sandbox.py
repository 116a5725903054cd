"""The PayFit sandbox speaks PayFit's partner API over real HTTP, deterministically."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from paysync_dagster.sandbox.payfit import (
    PayfitDataset,
    PayfitSandboxSettings,
    expire_page_tokens,
    requests_received,
    running_sandbox,
)
from paysync_dagster.sandbox.payfit.dataset import ANCHOR, CONTRACT_SLOTS

COLLABORATORS = 230
SEED = 11
COMPANY = "cmp-sandbox-test"
KEY = f"pf-test-{secrets.token_hex(8)}"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A read-only, unthrottled sandbox shared by the tests that do not mutate it."""
    settings = PayfitSandboxSettings(
        collaborators=COLLABORATORS, seed=SEED, api_key=KEY, company_id=COMPANY, rate_limit=None
    )
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


def list_all(api: httpx.Client, entity: str, **params: Any) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = {**params, **({"nextPageToken": token} if token else {})}
        response = api.get(f"/companies/{COMPANY}/{entity}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        objects += body[entity]
        token = body["meta"].get("nextPageToken")
        if token is None:
            return objects


# -- the dataset ------------------------------------------------------------------------------


def test_same_seed_same_data_other_seed_other_data():
    first = PayfitDataset(COLLABORATORS, SEED, COMPANY)
    again = PayfitDataset(COLLABORATORS, SEED, COMPANY)
    other = PayfitDataset(COLLABORATORS, SEED + 1, COMPANY)
    sample = [0, 1, 57, COLLABORATORS - 1]
    assert [first.collaborator(i) for i in sample] == [again.collaborator(i) for i in sample]
    assert [first.contract(s) for s in range(30)] == [again.contract(s) for s in range(30)]
    assert all(first.collaborator(i) != other.collaborator(i) for i in sample)
    assert first.collaborator_id(0) != other.collaborator_id(0)


def test_a_late_page_does_not_depend_on_earlier_ones():
    in_order = PayfitDataset(1000, SEED, COMPANY)
    for index in range(950):
        in_order.collaborator(index)
    fresh = PayfitDataset(1000, SEED, COMPANY)
    assert [fresh.collaborator(i) for i in range(950, 1000)] == [
        in_order.collaborator(i) for i in range(950, 1000)
    ]


def test_a_page_of_a_huge_company_costs_a_page():
    dataset = PayfitDataset(5_000_000, SEED, COMPANY)
    started = time.perf_counter()
    page = [dataset.collaborator(i) for i in range(4_999_950, 5_000_000)]
    contracts = [dataset.contract(s) for s in range(14_999_850, 15_000_000)]
    # 50 collaborators take ~6 ms; building 5 million up front would take ten minutes.
    assert time.perf_counter() - started < 2.0
    assert len({c["id"] for c in page}) == 50
    assert any(contracts)


def test_ids_encode_their_index_and_reject_foreign_ids():
    dataset = PayfitDataset(COLLABORATORS, SEED, COMPANY)
    ids = [dataset.collaborator_id(i) for i in range(COLLABORATORS)]
    assert len(set(ids)) == COLLABORATORS
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)
    assert [dataset.collaborator_index(i) for i in ids] == list(range(COLLABORATORS))
    assert dataset.collaborator_index(PayfitDataset(1, SEED + 1).collaborator_id(0)) is None
    assert dataset.contract_slot(dataset.contract_id(17)) == 17
    assert dataset.collaborator_index("not-an-id") is None


def test_careers_are_plausible_french_payroll_data():
    dataset = PayfitDataset(COLLABORATORS, SEED, COMPANY)
    counts = [dataset.contract_count(i) for i in range(COLLABORATORS)]
    assert {1, 2, 3} <= set(counts)
    terminated = 0
    for index in range(COLLABORATORS):
        person = dataset.collaborator(index)
        contracts = person["contracts"]
        assert len(contracts) == counts[index]
        starts = [date.fromisoformat(c["startDate"]) for c in contracts]
        assert starts == sorted(starts)
        for earlier, later in itertools.pairwise(contracts):
            assert earlier["status"] == "FINISHED"
            assert date.fromisoformat(earlier["endDate"]) < date.fromisoformat(later["startDate"])
        birth = date.fromisoformat(person["birthDate"])
        assert (starts[0] - birth).days >= 18 * 365
        assert len(person["socialSecurityNumber"]) == 15
        assert person["iban"].startswith("FR")
        assert len(person["bic"]) == 11
        if contracts[-1]["status"] == "FINISHED":
            terminated += 1
            assert person["terminationDate"] == contracts[-1]["endDate"]
            assert date.fromisoformat(person["terminationDate"]) <= ANCHOR
    assert 0.05 < terminated / COLLABORATORS < 0.30
    # Every contract slot is either empty or a contract of the collaborator it belongs to.
    for slot in range(COLLABORATORS * CONTRACT_SLOTS):
        contract = dataset.contract(slot)
        index = slot // CONTRACT_SLOTS
        assert (contract is None) == (slot % CONTRACT_SLOTS >= counts[index])
        if contract is not None:
            assert contract["collaboratorId"] == dataset.collaborator_id(index)


# -- the HTTP API -----------------------------------------------------------------------------


def test_lists_every_collaborator_and_contract_once(api: httpx.Client):
    collaborators = list_all(api, "collaborators", maxResults=50)
    contracts = list_all(api, "contracts", maxResults=50)
    assert len({c["id"] for c in collaborators}) == len(collaborators) == COLLABORATORS
    dataset = PayfitDataset(COLLABORATORS, SEED, COMPANY)
    assert collaborators[7] == dataset.collaborator(7)
    embedded = {c["id"] for person in collaborators for c in person["contracts"]}
    assert {c["id"] for c in contracts} == embedded
    assert len(contracts) == sum(dataset.contract_count(i) for i in range(COLLABORATORS))
    ids = {c["id"] for c in collaborators}
    assert all(c["collaboratorId"] in ids and c["companyId"] == COMPANY for c in contracts)
    assert set(contracts[0]) == {
        "id", "companyId", "collaboratorId", "status", "jobName", "startDate", "endDate",
    }  # fmt: skip


def test_max_results_defaults_to_10_and_is_capped_at_50(api: httpx.Client):
    url = f"/companies/{COMPANY}/collaborators"
    assert len(api.get(url).json()["collaborators"]) == 10
    assert len(api.get(url, params={"maxResults": 500}).json()["collaborators"]) == 50
    for bad in ("0", "-3", "ten"):
        response = api.get(url, params={"maxResults": bad})
        assert response.status_code == 400
        assert "maxResults" in response.json()["message"]


def test_a_stale_or_unknown_token_is_refused(base_url: str, api: httpx.Client):
    url = f"/companies/{COMPANY}/collaborators"
    token = api.get(url).json()["meta"]["nextPageToken"]
    assert api.get(url, params={"nextPageToken": token}).status_code == 200
    bogus = api.get(url, params={"nextPageToken": "not-a-token"})
    assert bogus.status_code == 400
    assert bogus.json()["error"] == "invalid_page_token"
    # A collaborators token is not a contracts token.
    assert (
        api.get(f"/companies/{COMPANY}/contracts", params={"nextPageToken": token}).status_code
        == 400
    )
    expire_page_tokens(base_url)
    stale = api.get(url, params={"nextPageToken": token})
    assert stale.status_code == 400
    assert "expired" in stale.json()["message"]


def test_wrong_key_401_other_company_403_unknown_route_404(base_url: str, api: httpx.Client):
    for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic x"}):
        response = httpx.get(f"{base_url}/companies/{COMPANY}/collaborators", headers=headers)
        assert response.status_code == 401
        assert "message" in response.json()
    other = api.get("/companies/someone-else/collaborators")
    assert other.status_code == 403
    assert other.json()["error"] == "forbidden"
    missing = api.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    unknown = api.get(f"/companies/{COMPANY}/collaborators/{'0' * 24}")
    assert unknown.status_code == 404


def test_introspect_and_company(api: httpx.Client):
    body = api.post("/introspect", json={"token": KEY}).json()
    assert body["active"] is True
    assert body["company_id"] == COMPANY
    assert {"collaborators:read", "contracts:read"} <= set(body["scope"].split())
    assert body["token_type"] == "bearer"
    company = api.get(f"/companies/{COMPANY}").json()
    assert company["id"] == COMPANY


def test_a_missing_scope_is_named_in_the_403():
    key = f"pf-test-{secrets.token_hex(8)}"
    settings = PayfitSandboxSettings(
        collaborators=5, api_key=key, company_id=COMPANY, scopes=("collaborators:read",)
    )
    with running_sandbox(settings) as url:
        headers = {"Authorization": f"Bearer {key}"}
        response = httpx.get(f"{url}/companies/{COMPANY}/contracts", headers=headers)
        assert httpx.get(f"{url}/companies/{COMPANY}/collaborators", headers=headers).is_success
    assert response.status_code == 403
    assert response.json()["missingScope"] == "contracts:read"
    assert "contracts:read" in response.json()["message"]


def test_rate_limit_answers_429_with_payfit_headers():
    key = f"pf-test-{secrets.token_hex(8)}"
    settings = PayfitSandboxSettings(collaborators=5, api_key=key, company_id=COMPANY, rate_limit=3)
    with (
        running_sandbox(settings) as url,
        httpx.Client(headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        answers = [client.get(f"{url}/companies/{COMPANY}") for _ in range(8)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled
    for answer in throttled:
        assert answer.json() == {"message": "API rate limit exceeded"}
        assert answer.headers["X-RateLimit-Limit-Second"] == "3"
        assert answer.headers["X-RateLimit-Remaining-Second"] == "0"
        assert 0 < float(answer.headers["Retry-After"]) <= 1


def test_fail_rate_answers_500():
    key = f"pf-test-{secrets.token_hex(8)}"
    settings = PayfitSandboxSettings(
        collaborators=5, api_key=key, company_id=COMPANY, fail_rate=1.0
    )
    with running_sandbox(settings) as url:
        response = httpx.get(
            f"{url}/companies/{COMPANY}", headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 500
    assert "message" in response.json()


def test_create_and_update_are_an_overlay_over_the_generated_company():
    key = f"pf-test-{secrets.token_hex(8)}"
    settings = PayfitSandboxSettings(collaborators=12, seed=SEED, api_key=key, company_id=COMPANY)
    dataset = PayfitDataset(12, SEED, COMPANY)
    with (
        running_sandbox(settings) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        created = client.post(
            f"/companies/{COMPANY}/collaborators",
            json={"firstName": "Zoé", "lastName": "Martin", "teamName": "Produit"},
        )
        assert created.status_code == 201, created.text
        new_id = created.json()["id"]
        target = dataset.collaborator_id(3)
        patched = client.patch(
            f"/companies/{COMPANY}/collaborators/{target}",
            json={"lastName": "Durand", "terminationDate": "2025-12-31"},
        )
        assert patched.status_code == 200, patched.text
        everyone = list_all(client, "collaborators", maxResults=50)
        contracts = list_all(client, "contracts", maxResults=50)
        fetched = client.get(f"/companies/{COMPANY}/collaborators/{new_id}").json()
        rejected = [
            client.post(f"/companies/{COMPANY}/collaborators", json={"firstName": "A"}),
            client.patch(f"/companies/{COMPANY}/collaborators/{target}", json={"id": "x"}),
            client.patch(
                f"/companies/{COMPANY}/collaborators/{target}", json={"birthDate": "31/12/90"}
            ),
            client.patch(
                f"/companies/{COMPANY}/collaborators/{target}",
                content=b"[1]",
                headers={"Content-Type": "application/json"},
            ),
            client.post(
                f"/companies/{COMPANY}/collaborators",
                content=b"x" * 70_000,
                headers={"Content-Type": "application/json"},
            ),
        ]
    assert [c["id"] for c in everyone][-1] == new_id
    assert len(everyone) == 13
    assert fetched["firstName"] == "Zoé"
    assert fetched["contracts"] == []
    assert everyone[3]["lastName"] == "Durand"
    assert everyone[3]["terminationDate"] == "2025-12-31"
    assert everyone[3]["firstName"] == dataset.collaborator(3)["firstName"]
    # The termination finishes the active contract, in both places it is listed.
    assert everyone[3]["contracts"][-1]["status"] == "FINISHED"
    assert everyone[3]["contracts"][-1]["endDate"] == "2025-12-31"
    last = everyone[3]["contracts"][-1]["id"]
    assert next(c for c in contracts if c["id"] == last)["endDate"] == "2025-12-31"
    assert contracts[0] == dataset.contract(0)
    assert everyone[4] == dataset.collaborator(4)
    assert dataset.collaborator(3)["lastName"] != "Durand"
    assert [r.status_code for r in rejected] == [400] * 5


def test_records_every_request_when_asked():
    key = f"pf-test-{secrets.token_hex(8)}"
    settings = PayfitSandboxSettings(
        collaborators=5, api_key=key, company_id=COMPANY, record_requests=True
    )
    with running_sandbox(settings) as url:
        assert requests_received(url) == []
        httpx.get(f"{url}/companies/{COMPANY}/collaborators?maxResults=2")
        httpx.post(f"{url}/introspect", headers={"Authorization": f"Bearer {key}"})
        log = requests_received(url)
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("GET", f"/companies/{COMPANY}/collaborators", 401),
        ("POST", "/introspect", 200),
    ]
    assert log[0]["query"] == "maxResults=2"
    assert key not in repr(log)


def test_the_log_refuses_to_answer_when_not_recording(base_url: str):
    with pytest.raises(RuntimeError, match="record_requests"):
        requests_received(base_url)


def test_a_child_process_sandbox_serves_the_same_settings():
    key = f"pf-test-{secrets.token_hex(8)}"
    settings = PayfitSandboxSettings(
        collaborators=3, seed=SEED, api_key=key, company_id=COMPANY, rate_limit=2,
        scopes=("collaborators:read",), record_requests=True, send_retry_after=False,
    )  # fmt: skip
    with (
        running_sandbox(settings, subprocess=True) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        listed = client.get(f"/companies/{COMPANY}/collaborators").json()["collaborators"]
        refused = client.get(f"/companies/{COMPANY}/contracts")
        throttled = client.get(f"/companies/{COMPANY}")
        log = requests_received(url)
    assert listed == [PayfitDataset(3, SEED, COMPANY).collaborator(i) for i in range(3)]
    assert refused.status_code == 403
    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers
    assert [r["status"] for r in log] == [200, 403, 429]
