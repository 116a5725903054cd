"""The `paysync` command: validation, secrecy, partitions and key rotation."""

from __future__ import annotations

import os
import secrets

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paysync_dagster.cli import main
from paysync_dagster.defs.workspaces.partitions import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.store.tables import workspace_payment_configurations
from paysync_dagster.store.vault import KeyRing, Vault
from paysync_dagster.store.workspaces import load_credentials
from tests.support import fake_api_key


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    """Run `paysync …` against the test database, a tmp home and a tmp Dagster instance."""
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path / "home"))
    (tmp_path / "dagster").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", KeyRing.generate("k1").to_spec())
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _partitions() -> list[str]:
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME))


def _configurations(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            sa.select(sa.func.count()).select_from(workspace_payment_configurations)
        )


@pytest.mark.parametrize(
    "command",
    [(), ("db",), ("db", "upgrade"), ("workspace",), ("workspace", "add"), ("workspace", "list"),
     ("workspace", "remove"), ("keys", "rotate"), ("sandbox", "stripe"), ("demo",)],
)  # fmt: skip
def test_every_command_describes_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: main" in result.output or "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_add_makes_the_partition_available_and_list_hides_secrets(cli, engine):
    api_key, webhook_secret = fake_api_key(), f"whsec_{secrets.token_hex(16)}"
    added = cli(
        "workspace", "add", "acme", "--api-key", api_key, "--webhook-secret", webhook_secret
    )
    assert added.exit_code == 0, added.output
    assert api_key not in added.output
    assert _partitions() == ["acme"]

    listed = cli("workspace", "list")
    assert "acme" in listed.output
    assert "set" in listed.output
    assert api_key not in listed.output
    assert webhook_secret not in listed.output
    assert api_key[-6:] not in listed.output

    removed = cli("workspace", "remove", "acme")
    assert removed.exit_code == 0
    assert _partitions() == []
    assert _configurations(engine) == 0


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("Bad Id!", "--api-key", "sk_test_" + "a" * 20), "invalid workspace id"),
        (("acme", "--api-key", "pk_test_" + "a" * 20), "invalid Stripe API key"),
        (
            ("acme", "--api-key", "sk_test_" + "a" * 20, "--webhook-secret", "nope"),
            "webhook secret",
        ),
        (("acme", "--api-key", "sk_test_" + "a" * 20, "--api-base", "ftp://x"), "API base URL"),
        (("acme", "--api-key", "sk_test_" + "a" * 20, "--provider", "paypal"), "provider"),
    ],
)
def test_bad_input_is_named_and_writes_nothing(cli, engine, args, complaint):
    result = cli("workspace", "add", *args)
    assert result.exit_code != 0
    assert complaint in result.output
    assert "aaaaaaaaaaaa" not in result.output
    assert _configurations(engine) == 0
    assert _partitions() == []


def test_adding_twice_needs_replace(cli, engine):
    assert cli("workspace", "add", "acme", "--api-key", fake_api_key()).exit_code == 0
    again = cli("workspace", "add", "acme", "--api-key", fake_api_key())
    assert again.exit_code != 0
    assert "--replace" in again.output
    assert cli("workspace", "add", "acme", "--api-key", fake_api_key(), "--replace").exit_code == 0
    assert _configurations(engine) == 1


def test_removing_an_unknown_workspace_is_an_error(cli):
    result = cli("workspace", "remove", "ghost")
    assert result.exit_code != 0
    assert "no workspace 'ghost'" in result.output


def test_keys_rotate_reencrypts_everything_under_the_new_primary(cli, engine, monkeypatch):
    old_ring = KeyRing.parse(os.environ["PAYSYNC_ENCRYPTION_KEYS"])
    api_key, webhook_secret = fake_api_key(), f"whsec_{secrets.token_hex(16)}"
    cli("workspace", "add", "acme", "--api-key", api_key, "--webhook-secret", webhook_secret)
    cli("workspace", "add", "globex", "--api-key", fake_api_key())

    new_ring = KeyRing.generate("k2")
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", f"{new_ring.to_spec()},{old_ring.to_spec()}")
    result = cli("keys", "rotate")
    assert result.exit_code == 0
    assert "3 secret(s) re-encrypted under key 'k2'" in result.output
    assert "0 secret(s)" in cli("keys", "rotate").output

    with engine.connect() as connection:
        tokens = connection.execute(
            sa.select(
                workspace_payment_configurations.c.api_key_ciphertext,
                workspace_payment_configurations.c.webhook_secret_ciphertext,
            )
        ).all()
    assert all(t.startswith("v1:k2:") for row in tokens for t in row if t is not None)
    only_new = Vault(new_ring)
    credentials = load_credentials(engine, only_new, workspace_id="acme", provider="stripe")
    assert (credentials.api_key, credentials.webhook_secret) == (api_key, webhook_secret)


def test_serve_refuses_an_unmigrated_database(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path))
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", KeyRing.generate("k1").to_spec())
    result = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "paysync db upgrade" in result.output


def test_workspace_import_adds_every_row_in_one_go_or_none(tmp_path, monkeypatch):
    """A CSV of many workspaces is imported in one transaction with its partitions; a file
    with one bad row writes nothing and names the line."""
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAYSYNC_DATABASE_URL", raising=False)
    monkeypatch.delenv("PAYSYNC_DAGSTER_URL", raising=False)
    (tmp_path / "dagster").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", KeyRing.generate("k1").to_spec())
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    rows = ["workspace_id,provider,api_key,company_id"]
    rows += [f"ws-{i:03d},stripe,{fake_api_key()}," for i in range(40)]
    rows += ["payroll,payfit,placeholder-payfit-key,placeholder-company-id"]
    good = tmp_path / "good.csv"
    good.write_text("\n".join(rows) + "\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*rows[:10], "broken,stripe,not-a-key,", *rows[10:]]) + "\n")

    refused = runner.invoke(main, ["workspace", "import", str(bad)])
    assert refused.exit_code == 2
    assert "line 11: invalid Stripe API key" in refused.output
    assert "not-a-key" not in refused.output
    listed = runner.invoke(main, ["workspace", "list"])
    assert "ws-000" not in listed.output

    imported = runner.invoke(main, ["workspace", "import", str(good)])
    assert imported.exit_code == 0, imported.output
    assert "41 workspace configuration(s) imported" in imported.output
    listed = runner.invoke(main, ["workspace", "list"])
    assert "ws-039" in listed.output
    assert "mock mode" in listed.output
    assert len(_partitions()) == 41
