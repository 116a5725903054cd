"""`paysync simulator`: targets, runs with exit codes, synthetic customers, key rotation."""

from __future__ import annotations

import os

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paysync_dagster.cli import main
from paysync_dagster.defs.simulator.partitions import SIMULATOR_TARGET_PARTITIONS_NAME
from paysync_dagster.store.tables import simulator_targets
from paysync_dagster.store.vault import KeyRing
from tests.simulator.helpers import stored_attempts, stored_runs
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
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "command",
    [("simulator",), ("simulator", "target", "add"), ("simulator", "run"),
     ("simulator", "customers"), ("simulator", "runs"), ("sandbox", "gateway")],
)  # fmt: skip
def test_every_simulator_command_describes_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3


def _add_gateway(cli, url: str, name: str = "gw"):
    return cli(
        "simulator", "target", "add", name, "--kind", "gateway",
        "--tokenization-url", f"{url}/v1/tokenize", "--checkout-url", f"{url}/v1/checkouts",
        "--payment-url", f"{url}/v1/payments",
        "--form-id", "250729103005965673", "--merchant-id", "1110020135",
    )  # fmt: skip


def test_a_run_prints_each_attempt_and_exits_0_when_all_pass(
    cli, engine, gateway_sandbox, tmp_path
):
    url, _ = gateway_sandbox()
    added = _add_gateway(cli, url)
    assert added.exit_code == 0, added.output
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(SIMULATOR_TARGET_PARTITIONS_NAME) == ["gw"]
    customers = tmp_path / "customers.csv"
    assert cli("simulator", "customers", "--rows", "5", "--out", str(customers)).exit_code == 0
    result = cli("simulator", "run", "gw", "--iterations", "5", "--customers", str(customers))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum(1 for line in lines if line.startswith("#")) == 5
    assert "5 passed, 0 degraded, 0 failed, 0 error" in lines[-1]
    assert {row.trigger for row in stored_attempts(engine)} == {"manual"}
    listed = cli("simulator", "runs")
    assert stored_runs(engine)[0].id in listed.output


def test_a_run_with_a_failing_attempt_exits_1(cli, gateway_sandbox, tmp_path):
    url, _ = gateway_sandbox()
    _add_gateway(cli, url)
    cards = tmp_path / "cards.json"
    cards.write_text(
        '[{"number": "4000000000000002", "cvv": "123", "month": "12", "year": "2034",'
        ' "expect": "succeeded"}, {"number": "not a card"}]'
    )
    result = cli("simulator", "run", "gw", "--iterations", "1", "--cards", str(cards))
    assert result.exit_code == 1
    assert "skipped card 2: 'number' must be 12 to 19 digits" in result.output
    assert "failed" in result.output
    assert "4000000000000002" not in result.output


def test_bad_targets_are_refused_in_one_line(cli, engine):
    missing_url = cli("simulator", "target", "add", "gw", "--kind", "gateway", "--form-id", "f")
    assert missing_url.exit_code == 2
    assert "needs --tokenization-url" in missing_url.output
    bad_key = cli("simulator", "target", "add", "st", "--kind", "stripe", "--api-key", "nope")
    assert bad_key.exit_code == 2
    assert "invalid Stripe API key" in bad_key.output
    no_workspace = cli(
        "simulator", "target", "add", "st", "--kind", "stripe",
        "--api-key", fake_api_key(), "--workspace", "ghost",
    )  # fmt: skip
    assert no_workspace.exit_code == 2
    assert "no Stripe workspace 'ghost'" in no_workspace.output
    unknown = cli("simulator", "run", "ghost")
    assert unknown.exit_code == 2
    assert "no simulator target 'ghost'" in unknown.output
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(simulator_targets)) == 0


def test_target_keys_are_encrypted_bound_and_rotated(cli, engine, monkeypatch):
    key = fake_api_key()
    assert (
        cli("simulator", "target", "add", "st", "--kind", "stripe", "--api-key", key).exit_code == 0
    )
    with engine.connect() as connection:
        token = connection.scalar(sa.select(simulator_targets.c.api_key_ciphertext))
    assert key not in token
    assert token.startswith("v1:k1:")
    listed = cli("simulator", "target", "list")
    assert "st" in listed.output
    assert key not in listed.output
    monkeypatch.setenv(
        "PAYSYNC_ENCRYPTION_KEYS",
        KeyRing.generate("k2").to_spec() + "," + os.environ["PAYSYNC_ENCRYPTION_KEYS"],
    )
    rotated = cli("keys", "rotate")
    assert rotated.exit_code == 0
    assert "1 secret(s)" in rotated.output
    with engine.connect() as connection:
        assert connection.scalar(sa.select(simulator_targets.c.api_key_ciphertext)).startswith(
            "v1:k2:"
        )
