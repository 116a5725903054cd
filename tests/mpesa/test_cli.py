"""`paysync bars …` and `paysync mpesa …`: audit, repair, tokens and key rotation."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paysync_dagster.cli import main
from paysync_dagster.mpesa import credentials
from paysync_dagster.mpesa.settings import apply_settings
from paysync_dagster.mpesa.validation import MpesaSettingsRequest
from paysync_dagster.store.tables import mpesa_credentials
from paysync_dagster.store.vault import KeyRing, Vault
from tests.mpesa.helpers import flags, insert_bars, settings_body


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", KeyRing.generate("k1").to_spec())
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "command",
    [("bars",), ("bars", "add"), ("bars", "list"), ("mpesa",), ("mpesa", "audit"),
     ("mpesa", "repair"), ("token",), ("token", "create"), ("token", "revoke"),
     ("token", "list")],
)  # fmt: skip
def test_every_mpesa_command_describes_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3


def test_audit_dry_run_and_repair(cli, engine, vault):
    ids = insert_bars(engine, vault, [(True, None), (False, True), (True, True)])
    audited = cli("mpesa", "audit")
    assert audited.exit_code == 1
    assert "3 bar(s), 2 with credentials, 2 inconsistent" in audited.output
    assert "enabled without credentials" in audited.output
    assert "credentials active but disabled" in audited.output

    before = flags(engine)
    dry = cli("mpesa", "repair", "--dry-run")
    assert dry.exit_code == 0
    assert "2 bar(s) would be repaired" in dry.output
    assert f"bar {ids[0]}: mpesa_enabled yes -> no" in dry.output
    assert flags(engine) == before

    repaired = cli("mpesa", "repair")
    assert repaired.exit_code == 0, repaired.output
    assert "2 of 2 inconsistent bar(s) repaired, 0 failed" in repaired.output
    assert cli("mpesa", "audit").exit_code == 0
    assert flags(engine) == {ids[0]: (False, None), ids[1]: (True, True), ids[2]: (True, True)}


def test_bars(cli):
    added = cli("bars", "add", "Nyama Choma Corner")
    assert added.exit_code == 0
    assert "created" in added.output
    assert "Nyama Choma Corner" in cli("bars", "list").output
    assert cli("bars", "add", " ").exit_code != 0


def test_names_print_as_written_not_as_markup(cli):
    """A name is the user's text: rich must not read `[bold]` as a style or `:x:` as an
    emoji, in the confirmation line or in the table."""
    name = "[bold]Baa[/bold] :x: Bar"
    assert name in cli("bars", "add", name).output
    assert name in cli("bars", "list").output


def test_keys_rotate_reencrypts_mpesa_credentials(cli, engine, monkeypatch):
    old = KeyRing.parse(os.environ["PAYSYNC_ENCRYPTION_KEYS"])
    (bar_id,) = insert_bars(engine, Vault(old), [(False, None)])
    body = settings_body(bar_id, True)
    apply_settings(engine, Vault(old), MpesaSettingsRequest.model_validate(body).settings())

    new = KeyRing.generate("k2")
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", f"{new.to_spec()},{old.to_spec()}")
    result = cli("keys", "rotate")
    assert "3 secret(s) re-encrypted under key 'k2'" in result.output

    with engine.connect() as connection:
        row = connection.execute(sa.select(mpesa_credentials)).one()
    secrets = credentials.decrypt(Vault(new), row)
    assert secrets is not None
    assert secrets.passkey == body["mpesa_passkey"]
