"""`POST /api/mpesa-settings` and the customer view through a real uvicorn server."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest

from paysync_dagster.mpesa.bars import add_bar
from paysync_dagster.store.tokens import create_token, revoke_token
from tests.mpesa.helpers import flags, settings_body, snapshot


@pytest.fixture
def api(paysync_server, engine):
    """(base URL, headers with a valid token)."""
    token = create_token(engine, "staff-app", admin=True)
    return paysync_server(), {"Authorization": f"Bearer {token}"}


def test_saving_settings_enables_both_flags_and_hides_secrets(api, engine, caplog):
    url, headers = api
    bar_id = add_bar(engine, "Kilimanjaro Lounge")
    body = settings_body(bar_id, True)
    with caplog.at_level(logging.DEBUG):
        response = httpx.post(f"{url}/api/mpesa-settings", json=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "M-Pesa settings saved; M-Pesa is enabled",
        "sync_status": {"credentials_updated": True, "bar_status_updated": True},
    }
    assert flags(engine)[bar_id] == (True, True)
    stored = str(snapshot(engine))
    for name in ("mpesa_consumer_key", "mpesa_consumer_secret", "mpesa_passkey"):
        assert body[name] not in response.text
        assert body[name] not in caplog.text
        assert body[name] not in stored
    methods = httpx.get(f"{url}/api/bars/{bar_id}/payment-methods")
    assert methods.json() == {"bar_id": bar_id, "payment_methods": ["mpesa"]}

    disabled = httpx.post(
        f"{url}/api/mpesa-settings", json=settings_body(bar_id, False), headers=headers
    )
    assert disabled.status_code == 200
    assert flags(engine)[bar_id] == (False, False)
    assert httpx.get(f"{url}/api/bars/{bar_id}/payment-methods").json()["payment_methods"] == []


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer pst_not-a-real-token", "Basic dXNlcjpwYXNz", "revoked"],
)
def test_anonymous_or_bad_tokens_get_401_and_change_nothing(paysync_server, engine, authorization):
    url = paysync_server()
    bar_id = add_bar(engine, "Bar")
    if authorization == "revoked":
        authorization = f"Bearer {create_token(engine, 'old', admin=True)}"
        revoke_token(engine, "old")
    headers = {} if authorization is None else {"Authorization": authorization}
    before = snapshot(engine)
    response = httpx.post(f"{url}/api/mpesa-settings", json=settings_body(bar_id), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("change", "bad_fields"),
    [
        ({"barId": "abc"}, {"barId"}),
        ({"barId": "999999"}, {"barId"}),
        ({"mpesa_business_shortcode": "1234"}, {"mpesa_business_shortcode"}),
        ({"mpesa_business_shortcode": "12345678"}, {"mpesa_business_shortcode"}),
        ({"mpesa_business_shortcode": 174379}, {"mpesa_business_shortcode"}),
        ({"mpesa_environment": "live"}, {"mpesa_environment"}),
        ({"mpesa_enabled": "true"}, {"mpesa_enabled"}),
        ({"mpesa_consumer_key": ""}, {"mpesa_consumer_key"}),
        ({"mpesa_consumer_secret": "x" * 257}, {"mpesa_consumer_secret"}),
        ({"mpesa_passkey": " padded"}, {"mpesa_passkey"}),
        (
            {"mpesa_environment": "prod", "mpesa_passkey": "", "mpesa_consumer_key": None},
            {"mpesa_environment", "mpesa_passkey", "mpesa_consumer_key"},
        ),
        ({"surprise": 1}, {"surprise"}),
    ],
)
def test_invalid_settings_get_422_naming_each_field(api, engine, change, bad_fields):
    url, headers = api
    bar_id = add_bar(engine, "Bar")
    before = snapshot(engine)
    body = settings_body(bar_id, True) | change
    response = httpx.post(f"{url}/api/mpesa-settings", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == bad_fields
    assert snapshot(engine) == before


def test_missing_fields_non_object_and_broken_json_are_422(api, engine):
    url, headers = api
    bar_id = add_bar(engine, "Bar")
    body = settings_body(bar_id)
    del body["mpesa_passkey"]
    missing = httpx.post(f"{url}/api/mpesa-settings", json=body, headers=headers)
    assert missing.json()["errors"] == {"mpesa_passkey": "is required"}
    listed = httpx.post(f"{url}/api/mpesa-settings", json=[1], headers=headers)
    assert listed.json()["errors"] == {"body": "must be a JSON object"}
    broken = httpx.post(f"{url}/api/mpesa-settings", content=b"{nope", headers=headers)
    assert broken.status_code == 422
    assert broken.json()["errors"]["body"].startswith("body is not valid JSON")
    huge = httpx.post(f"{url}/api/mpesa-settings", content=b" " * 20_000, headers=headers)
    assert huge.status_code == 413
    assert flags(engine)[bar_id] == (False, None)


def test_customer_view_of_an_unknown_bar_is_404(paysync_server):
    assert httpx.get(f"{paysync_server()}/api/bars/424242/payment-methods").status_code == 404


def test_concurrent_requests_for_one_bar_serialize(api, engine):
    """Each request's credentials and flags land together: the survivor is one whole request."""
    url, headers = api
    bar_id = add_bar(engine, "Busy bar")
    # Request i carries shortcode 1000i and enables M-Pesa when i is odd.
    bodies = [
        settings_body(bar_id, i % 2 == 1, mpesa_business_shortcode=f"{10000 + i}")
        for i in range(16)
    ]
    statuses: list[int] = []

    def send(body: dict) -> None:
        statuses.append(
            httpx.post(f"{url}/api/mpesa-settings", json=body, headers=headers).status_code
        )

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(bodies)
    _bars, credentials = snapshot(engine)
    (row,) = credentials
    survivor = int(row["business_shortcode"]) - 10000
    assert flags(engine)[bar_id] == (survivor % 2 == 1, survivor % 2 == 1)
