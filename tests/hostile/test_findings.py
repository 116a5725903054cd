"""One test (or a few) per numbered finding of issue 10, named after it, on real servers and
real databases (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paysync_dagster import bounds
from paysync_dagster.cli import main
from paysync_dagster.mpesa.audit import audit
from paysync_dagster.mpesa.bars import add_bar
from paysync_dagster.server.webhooks import WebhookReceiverOptions
from paysync_dagster.store.tables import (
    customers,
    mpesa_credentials,
    payment_sync_sessions,
    workspace_payment_configurations,
)
from paysync_dagster.store.tokens import create_token
from paysync_dagster.store.vault import KeyRing, Vault
from paysync_dagster.webhooks.events import parse_event, source_ts
from paysync_dagster.webhooks.inbox import InboxItem, insert_events
from paysync_dagster.webhooks.processor import Processor, ProcessorOptions
from paysync_dagster.webhooks.refetch import StripeObjectFetcher
from paysync_dagster.webhooks.ties import unrepaired_ties
from paysync_dagster.webhooks.worker import worker_pool
from tests.hostile.helpers import deep_event_body, inbox_states, nested, store_unchecked
from tests.mpesa.helpers import settings_body
from tests.support import wait_until
from tests.webhooks.helpers import (
    add_webhook_workspace,
    customer_event,
    customer_row,
    deliver,
    inbox_rows,
)

NO_CACHE = WebhookReceiverOptions(secret_ttl_seconds=0)
FAST_RETRIES = ProcessorOptions(max_attempts=2, backoff_base_seconds=0.01)


@pytest.fixture
def acme(engine, vault) -> str:
    return add_webhook_workspace(engine, vault, "acme")


def _event(n: int, **fields) -> bytes:
    return customer_event(f"evt_{n}", f"cus_{n}", created=int(time.time()), **fields)


# -- 1. one event stalls every later event ---------------------------------------------------


def test_finding_1_deep_event_is_rejected_on_receipt_naming_the_depth_limit(
    paysync_server, engine, acme
) -> None:
    response = deliver(paysync_server(), "acme", deep_event_body("evt_deep"), acme)
    assert response.status_code == 400
    assert f"deeper than {bounds.MAX_JSON_DEPTH} levels" in response.json()["error"]
    assert inbox_rows(engine) == []


def test_finding_1_a_stored_deep_event_does_not_stall_later_events(
    paysync_server, engine, acme
) -> None:
    store_unchecked(engine, "acme", "evt_deep", deep_event_body("evt_deep"))
    base_url = paysync_server(services=worker_pool(Processor(engine, FAST_RETRIES), 1))
    assert deliver(base_url, "acme", _event(1, email="one@x.test"), acme).status_code == 200
    wait_until(lambda: customer_row(engine, "acme", "cus_1"), seconds=5, what="later event applied")
    wait_until(
        lambda: inbox_states(engine)["evt_deep"].status == "dead",
        seconds=5,
        what="deep event dead-lettered",
    )
    dead = inbox_states(engine)["evt_deep"]
    assert dead.attempts == FAST_RETRIES.max_attempts
    assert dead.last_error


# -- 2. 500s from the webhook receiver -------------------------------------------------------


@pytest.mark.parametrize("created", [253402300800, 10**15, -1, 2**63 - 1])
def test_finding_2_far_future_created_is_rejected_with_400(
    paysync_server, engine, acme, created
) -> None:
    body = customer_event("evt_future", "cus_1", created=created)
    response = deliver(paysync_server(), "acme", body, acme)
    assert response.status_code == 400
    assert "field 'created' should be a unix timestamp between" in response.json()["error"]
    assert inbox_rows(engine) == []


@pytest.mark.parametrize("path_id", ["%00", "ac%00me", "%C3%A9", "x" * 300])
def test_finding_2_a_path_that_cannot_name_a_workspace_answers_like_a_bad_signature(
    paysync_server, engine, acme, path_id
) -> None:
    base_url = paysync_server()
    response = deliver(base_url, path_id, _event(1), acme)
    unknown = deliver(base_url, "nobody", _event(1), acme)
    assert response.status_code == 400
    assert response.content == unknown.content
    assert inbox_rows(engine) == []


def _break_webhook_secret(engine, vault, how: str) -> None:
    """Make acme's stored webhook secret undecryptable the way the outside test did."""
    with engine.begin() as connection:
        token = connection.scalar(
            sa.select(workspace_payment_configurations.c.webhook_secret_ciphertext).where(
                workspace_payment_configurations.c.workspace_id == "acme"
            )
        )
        if how == "copied from another workspace":
            add_webhook_workspace(engine, vault, "globex")
            token = connection.scalar(
                sa.select(workspace_payment_configurations.c.webhook_secret_ciphertext).where(
                    workspace_payment_configurations.c.workspace_id == "globex"
                )
            )
        elif how == "truncated":
            token = token[:20]
        else:
            token = token.replace("v1:test1:", "v1:gone1:")
        connection.execute(
            sa.update(workspace_payment_configurations)
            .where(workspace_payment_configurations.c.workspace_id == "acme")
            .values(webhook_secret_ciphertext=token)
        )


@pytest.mark.parametrize("how", ["copied from another workspace", "truncated", "unknown key id"])
def test_finding_2_undecryptable_webhook_secret_answers_like_a_bad_signature_logged_once(
    paysync_server, engine, vault, acme, caplog, how
) -> None:
    base_url = paysync_server(webhook_options=NO_CACHE)
    _break_webhook_secret(engine, vault, how)
    with caplog.at_level(logging.WARNING):
        first = deliver(base_url, "acme", _event(1), acme)
        second = deliver(base_url, "acme", _event(2), acme)
    unknown = deliver(base_url, "nobody", _event(3), acme)
    assert first.status_code == second.status_code == 400
    assert first.content == unknown.content
    assert caplog.text.count("does not decrypt") == 1
    assert acme not in caplog.text
    assert httpx.get(f"{base_url}/webhooks/stats").json()["secret_undecryptable"] == 2
    assert inbox_rows(engine) == []


# -- 3. an event that can never be stored -----------------------------------------------------


def test_finding_3_nul_in_a_signed_event_is_stored_escaped_and_applied(
    paysync_server, engine, acme
) -> None:
    base_url = paysync_server(services=worker_pool(Processor(engine), 1))
    body = _event(1, name="Ac\u0000me", email="nul\u0000@x.test", metadata={"k\u0000": "v"})
    assert b"\\u0000" in body
    response = deliver(base_url, "acme", body, acme)
    assert response.status_code == 200
    row = wait_until(
        lambda: customer_row(engine, "acme", "cus_1"), what="NUL event applied", seconds=10
    )
    assert row.name == "Ac\\u0000me"
    assert row.email == "nul\\u0000@x.test"
    assert row.raw["name"] == row.name
    assert row.raw["metadata"] == {"k\\u0000": "v"}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_finding_3_an_event_the_database_refuses_is_422_and_counted(
    paysync_server, engine, acme
) -> None:
    # A real refusal by PostgreSQL: a trigger raising the SQLSTATE that text it cannot hold
    # raises (22021), for one event id. Bounded, escaped bodies give no natural way to get one.
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN"
            " IF NEW.provider_event_id = 'evt_refused' THEN"
            " RAISE EXCEPTION 'refused' USING ERRCODE = '22021'; END IF;"
            " RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON webhook_inbox"
            " FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    base_url = paysync_server()
    body = customer_event("evt_refused", "cus_1", created=int(time.time()))
    responses = [deliver(base_url, "acme", body, acme) for _ in range(2)]
    assert [r.status_code for r in responses] == [422, 422]
    assert "do not retry" in responses[0].json()["error"]
    assert deliver(base_url, "acme", _event(2), acme).status_code == 200
    stats = httpx.get(f"{base_url}/webhooks/stats").json()
    assert stats["rejected_refused_by_database"] == 2
    assert [row.provider_event_id for row in inbox_rows(engine)] == ["evt_2"]


# -- 4. 500s from the M-Pesa API ---------------------------------------------------------------


@pytest.fixture
def mpesa_api(paysync_server, engine):
    token = create_token(engine, "staff-app", admin=True)
    return paysync_server(), {"Authorization": f"Bearer {token}"}


def test_finding_4_deeply_nested_mpesa_body_is_422_naming_the_depth_limit(mpesa_api) -> None:
    url, headers = mpesa_api
    # A whole body too deep is the body's fault; a field too deep is named.
    for body, field in ((nested(1500), "body"), (b'{"barId": %s}' % nested(100), "barId")):
        response = httpx.post(f"{url}/api/mpesa-settings", content=body, headers=headers)
        assert response.status_code == 422
        assert re.search("deeper|depth", response.json()["errors"][field])


def test_finding_4_huge_bar_id_in_the_body_is_422(mpesa_api, engine) -> None:
    url, headers = mpesa_api
    bar_id = add_bar(engine, "Bar")
    raw = settings_body(bar_id)
    for huge in ("9" * 4301, "9223372036854775808", "1" + "0" * 18):
        body = (
            b'{"barId": %s, ' % huge.encode()
            + httpx.Request("POST", "/", json=raw).content.split(b",", 1)[1]
        )
        response = httpx.post(f"{url}/api/mpesa-settings", content=body, headers=headers)
        assert response.status_code == 422, huge[:20]


@pytest.mark.parametrize("bar_id", ["9223372036854775808", "5" * 5000, "0", "-1", "1e3"])
def test_finding_4_out_of_range_bar_id_in_the_path_is_400(paysync_server, bar_id) -> None:
    response = httpx.get(f"{paysync_server()}/api/bars/{bar_id}/payment-methods")
    assert response.status_code == 400
    assert "an integer from 1 to" in response.json()["message"]


def test_finding_4_audit_counts_bars_whose_credentials_do_not_decrypt(
    mpesa_api, engine, vault
) -> None:
    url, headers = mpesa_api
    first, second = add_bar(engine, "One"), add_bar(engine, "Two")
    for bar_id in (first, second):
        saved = httpx.post(
            f"{url}/api/mpesa-settings", json=settings_body(bar_id, True), headers=headers
        )
        assert saved.status_code == 200
    assert audit(engine, vault).inconsistent_count == 0
    with engine.begin() as connection:
        other = connection.execute(
            sa.select(mpesa_credentials).where(mpesa_credentials.c.bar_id == second)
        ).one()
        connection.execute(
            sa.update(mpesa_credentials)
            .where(mpesa_credentials.c.bar_id == first)
            .values(consumer_key_ciphertext=other.consumer_key_ciphertext)
        )
    methods = httpx.get(f"{url}/api/bars/{first}/payment-methods").json()["payment_methods"]
    assert methods == []
    report = audit(engine, vault)
    assert (report.inconsistent_count, report.undecryptable_sample) == (1, (first,))


# -- 5. secrets and keys -------------------------------------------------------------------------


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    """`paysync …` against the test database, with a tmp home and Dagster instance."""
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path / "home"))
    (tmp_path / "dagster").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("PAYSYNC_ENCRYPTION_KEYS", raising=False)
    monkeypatch.delenv("PAYSYNC_ENV", raising=False)

    def invoke(*args: str, **env: str):
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def _api_key() -> str:
    from tests.support import fake_api_key

    return fake_api_key()


def test_finding_5_credentials_in_an_api_base_are_never_echoed(cli) -> None:
    password = "Pw" + "x9" * 10
    for url in (f"ftp://user:{password}@127.0.0.1/", f"http://user:{password}@127.0.0.1/"):
        result = cli("workspace", "add", "acme", "--api-key", _api_key(), "--api-base", url)
        assert result.exit_code == 2
        assert "invalid API base URL" in result.output
        assert password not in result.output


def test_finding_5_removed_key_file_stops_commands_naming_the_missing_key_id(cli, tmp_path) -> None:
    assert cli("workspace", "add", "acme", "--api-key", _api_key()).exit_code == 0
    key_file = tmp_path / "home" / "encryption.keys"
    key_id = KeyRing.parse(key_file.read_text()).primary_id
    key_file.unlink()
    for command in (("workspace", "add", "globex", "--api-key", _api_key()), ("keys", "rotate")):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert f"key id(s) {key_id!r}" in result.output
        assert not key_file.exists()
    other = KeyRing.generate("other1")
    wrong_ring = cli("keys", "rotate", PAYSYNC_ENCRYPTION_KEYS=other.to_spec())
    assert wrong_ring.exit_code == 2
    assert f"key id(s) {key_id!r} that the key ring lacks" in wrong_ring.output


@pytest.mark.parametrize("value", ["prod", "PRODUCTION ", "staging", "dev"])
def test_finding_5_unknown_paysync_env_is_refused(cli, value) -> None:
    result = cli("workspace", "list", PAYSYNC_ENV=value)
    assert result.exit_code == 2
    assert "PAYSYNC_ENV must be one of development, test, production" in result.output


@pytest.mark.parametrize("value", ["production", "PRODUCTION", "Production"])
def test_finding_5_production_in_any_case_requires_keys(cli, tmp_path, value) -> None:
    result = cli("workspace", "add", "acme", "--api-key", _api_key(), PAYSYNC_ENV=value)
    assert result.exit_code == 2
    assert "PAYSYNC_ENCRYPTION_KEYS is required in production" in result.output
    assert not (tmp_path / "home" / "encryption.keys").exists()


def test_finding_5_readyz_names_workspaces_whose_secrets_do_not_decrypt(
    paysync_server, engine, vault, database_url, tmp_path
) -> None:
    from paysync_dagster.server import ServerContext, build_app
    from paysync_dagster.serving import server_in_thread, uvicorn_server
    from paysync_dagster.settings import Settings

    add_webhook_workspace(engine, vault, "acme")
    add_webhook_workspace(engine, vault, "globex")
    assert httpx.get(f"{paysync_server()}/readyz").json()["checks"]["secrets"] == "ok"
    _break_webhook_secret(engine, vault, "truncated")
    partial = httpx.get(f"{paysync_server()}/readyz")
    assert partial.status_code == 200
    assert partial.json()["checks"]["secrets"] == "some_undecryptable"
    assert partial.json()["undecryptable_workspaces"] == {"count": 1, "ids": ["acme"]}

    wrong_ring = Vault(KeyRing.generate("wrong1"))
    settings = Settings(home=tmp_path, database_url=database_url, production=False)
    app = build_app(ServerContext(settings=settings, engine=engine, vault=wrong_ring))
    with server_in_thread(uvicorn_server(app), "wrong ring") as base_url:
        response = httpx.get(f"{base_url}/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["secrets"] == "undecryptable"
    assert response.json()["undecryptable_workspaces"] == {"count": 2, "ids": ["acme", "globex"]}
    assert "v1:" not in response.text


# -- 6. a stale row after a lease expiry -------------------------------------------------------


def _enqueue(engine, body: bytes) -> None:
    with engine.begin() as connection:
        insert_events(
            connection, [InboxItem("acme", parse_event(body))], received_at=datetime.now(UTC)
        )


def test_finding_6_an_older_event_of_the_same_second_is_recorded_without_api_access(
    engine, acme
) -> None:
    created = int(time.time())
    newer = customer_event("evt_new", "cus_1", created=created, email="new@x.test")
    older = customer_event("evt_old", "cus_1", created=created, email="old@x.test")
    # The newer event is applied first; the older one arrives late (its worker's lease ran
    # out): the payloads tie, and without API access the processor cannot tell which is last.
    _enqueue(engine, newer)
    Processor(engine).drain("w1")
    _enqueue(engine, older)
    Processor(engine).drain("w2")
    with engine.connect() as connection:
        count, ties = unrepaired_ties(connection)
    assert count == 1
    assert (ties[0].workspace_id, ties[0].entity, ties[0].external_id) == (
        "acme",
        "customers",
        "cus_1",
    )
    # A completed full sync of the entity repairs the row and so resolves the tie.
    with engine.begin() as connection:
        connection.execute(
            sa.insert(payment_sync_sessions).values(
                id="s1",
                workspace_id="acme",
                provider="stripe",
                entity_type="customers",
                status="completed",
                watermark=datetime.now(UTC),
                started_at=datetime.now(UTC),
                finished_at=datetime.now(UTC),
            )
        )
        assert unrepaired_ties(connection)[0] == 0


def test_finding_6_an_older_event_of_the_same_second_is_refetched_with_api_access(
    engine, vault, stripe_sandbox
) -> None:
    from paysync_dagster.providers.stripe.client import StripeApi

    url, settings = stripe_sandbox(customers=2)
    api = StripeApi(settings.api_key, api_base=url)
    current = next(api.list_pages("customers")).objects[0]
    api.close()
    add_webhook_workspace(engine, vault, "acme", api_key=settings.api_key, api_base=url)
    created = int(time.time())
    newer = {**current, "email": "newer@x.test"}
    older = {**current, "email": "older@x.test"}
    from tests.webhooks.helpers import event_body

    processor = Processor(engine, fetcher=StripeObjectFetcher(engine, vault))
    _enqueue(engine, event_body("evt_new", "customer.updated", newer, created=created))
    processor.drain("w1")
    _enqueue(engine, event_body("evt_old", "customer.updated", older, created=created))
    processor.drain("w2")
    row = customer_row(engine, "acme", current["id"])
    assert row.email == current["email"]
    assert row.source_ts.replace(tzinfo=UTC) >= source_ts(datetime.fromtimestamp(created, UTC))
    with engine.connect() as connection:
        assert unrepaired_ties(connection)[0] == 0
        assert connection.scalar(sa.select(sa.func.count()).select_from(customers)) == 1


# -- 7. CLI: one line, exit code 2 ---------------------------------------------------------------


@pytest.fixture
def migrated_cli(cli):
    assert cli("db", "upgrade").exit_code == 0
    return cli


@pytest.mark.parametrize(
    ("args", "env", "complaint"),
    [
        (("workspace", "add", "a", "--api-base", "http://[::1"), {}, "invalid API base URL"),
        (("workspace", "add", "a", "--api-base", "http://[::1]:99999"), {}, "port"),
        (("workspace", "add", "a", "--api-base", "http://localhost:abc"), {}, "port"),
        (("workspace", "add", "a", "--api-base", "http://exa mple.com"), {}, "spaces"),
        (("workspace", "add", "a", "--api-base", " http://example.com"), {}, "spaces"),
        (("workspace", "add", "a", "--api-base", "http://" + "h" * 3011), {}, "longer than"),
        (("workspace", "add", "a", "--api-base", f"http://{'h' * 300}.com"), {}, "host"),
        (("sandbox", "stripe", "--webhook-url", "http://x"), {}, "webhook secret"),
        (
            ("sandbox", "stripe", "--webhook-url", "file:///x", "--webhook-secret", "whsec_x"),
            {},
            "invalid webhook URL",
        ),
        (
            ("workspace", "rotate-webhook-secret", "a", "--webhook-secret", "whsec_abcdefghij"),
            {"extra": "--previous-valid-hours nan"},
            "not a finite number",
        ),
        (("db", "upgrade", "--revision", "bogus"), {}, "Can't locate revision"),
        (("workspace", "list"), {"PAYSYNC_DATABASE_URL": "notaurl"}, "not a database URL"),
        (("workspace", "list"), {"PAYSYNC_DATABASE_URL": "nosuch://x"}, "unsupported database"),
        (
            ("workspace", "list"),
            {"PAYSYNC_DATABASE_URL": "mysql://u:Secretpw1@localhost/db"},
            "unsupported database 'mysql'",
        ),
        (
            ("workspace", "list"),
            {"PAYSYNC_DATABASE_URL": "postgresql://u:Secretpw1@127.0.0.1:9/db"},
            "cannot use the database",
        ),
    ],
)
def test_finding_7_bad_input_gives_one_line_and_exit_code_2(
    migrated_cli, args, env, complaint
) -> None:
    env = dict(env)
    extra = env.pop("extra", "")
    api_key = ("--api-key", _api_key()) if args[:2] == ("workspace", "add") else ()
    result = migrated_cli(*args, *api_key, *extra.split(), **env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert complaint in lines[0]
    assert "Secretpw1" not in result.output
    assert "Traceback" not in result.output


def test_finding_7_unmigrated_database_and_unusable_home_give_one_line(cli, tmp_path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    unmigrated = cli("workspace", "list", PAYSYNC_DATABASE_URL=empty)
    assert unmigrated.exit_code == 2
    assert unmigrated.output.strip() == (
        "Error: the database is not migrated; run `paysync db upgrade` first"
    )
    # A home below a regular file cannot be created, even by root (who ignores modes).
    (tmp_path / "file").write_text("")
    home = tmp_path / "file" / "home"
    result = cli(
        "workspace",
        "list",
        PAYSYNC_HOME=str(home),
        PAYSYNC_DATABASE_URL=f"sqlite:///{home / 'paysync.db'}",
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert str(home) in result.output


@pytest.mark.parametrize("command", [("serve",), ("sandbox", "stripe")])
def test_finding_7_a_busy_port_gives_one_line_naming_the_port(migrated_cli, command) -> None:
    from paysync_dagster.serving import listen

    with listen("127.0.0.1", 0) as busy:
        port = busy.getsockname()[1]
        result = migrated_cli(*command, "--port", str(port))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: port {port} on 127.0.0.1 is already in use; choose another with --port"
    )


def test_finding_7_paysync_debug_shows_the_traceback(cli) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {"PAYSYNC_DATABASE_URL": "notaurl", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "paysync_dagster.cli", "workspace", "list"]
    quiet = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    loud = subprocess.run(
        command, env={**env, "PAYSYNC_DEBUG": "1"}, capture_output=True, text=True, check=False
    )
    assert quiet.returncode == 2
    assert quiet.stderr.strip().startswith("Error: PAYSYNC_DATABASE_URL is not a database URL")
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr
    assert "DatabaseUrlError" in loud.stderr
