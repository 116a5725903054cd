"""`paysync token` and the migration that moved M-Pesa tokens into the one token table."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paysync_dagster.cli import main
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.tokens import TOKEN_PREFIX, authenticate


@pytest.fixture
def cli(database_url, monkeypatch, vault):
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_create_prints_the_token_last_list_and_revoke(cli, engine):
    created = cli("token", "create", "acme-app", "--workspace", "acme", "--workspace", "beta")
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith(TOKEN_PREFIX)
    principal = authenticate(engine, token)
    assert principal.workspace_ids == {"acme", "beta"}
    assert not principal.is_admin
    admin = cli("token", "create", "ops", "--admin").output.strip().splitlines()[-1]
    assert authenticate(engine, admin).may_act_on("anything")

    listed = cli("token", "list").output
    assert "acme-app" in listed
    assert "admin" in listed
    assert token not in listed
    assert admin not in listed
    assert "already exists" in cli("token", "create", "ops", "--admin").output
    for refused in (
        ("token", "create", "x"),
        ("token", "create", "y", "--admin", "--workspace", "a"),
    ):
        result = cli(*refused)
        assert result.exit_code == 2
        assert "either --admin" in result.output
    assert cli("token", "create", "z", "--workspace", "Not Valid").exit_code == 2
    assert cli("token", "revoke", "acme-app").exit_code == 0
    assert authenticate(engine, token) is None
    assert "no active token" in cli("token", "revoke", "acme-app").output


def test_migration_keeps_mpesa_tokens_valid_for_mpesa_only(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    token = f"{TOKEN_PREFIX}carried-over-token-of-the-staff-app-0123456789"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO mpesa_api_tokens (name, token_sha256, created_at)"
                " VALUES ('staff-app', :digest, :now)"
            ),
            {"digest": hashlib.sha256(token.encode()).hexdigest(), "now": datetime.now(UTC)},
        )
    upgrade(engine)
    principal = authenticate(engine, token)
    assert principal is not None
    assert principal.name == "staff-app"
    assert principal.may_manage_mpesa
    assert not principal.is_admin
    assert not principal.may_act_on("acme")
    engine.dispose()
