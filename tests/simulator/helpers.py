"""Helpers of the simulator tests: running a target with given cards, reading what was stored."""

from __future__ import annotations

import json

import sqlalchemy as sa

from paysync_dagster.simulator.cards import parse_cards
from paysync_dagster.simulator.customers import synthetic_customers
from paysync_dagster.simulator.engine import RunOptions, RunSummary, run_simulation
from paysync_dagster.simulator.targets import load_target
from paysync_dagster.store.tables import simulator_attempts, simulator_runs
from paysync_dagster.store.vault import Vault


def run_cards(
    engine: sa.Engine, vault: Vault, target: str, cards: list[dict], **options
) -> RunSummary:
    """Run one attempt per card of `cards`, in order, against `target`."""
    configured = load_target(engine, vault, target)
    parsed, problems = parse_cards(json.dumps(cards), configured.kind)
    assert problems == []
    return run_simulation(
        engine,
        configured,
        RunOptions(
            iterations=options.pop("iterations", len(parsed)),
            trigger=options.pop("trigger", "manual"),
            cards=parsed,
            customers=synthetic_customers(3),
            first_card=0,
            first_customer=0,
            **options,
        ),
    )


def stored_attempts(engine: sa.Engine) -> list[sa.Row]:
    """Every stored attempt, by run and iteration."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(simulator_attempts).order_by(
                    simulator_attempts.c.run_id, simulator_attempts.c.iteration
                )
            )
        )


def stored_runs(engine: sa.Engine) -> list[sa.Row]:
    """Every stored run."""
    with engine.connect() as connection:
        return list(connection.execute(sa.select(simulator_runs)))


def database_text(engine: sa.Engine) -> str:
    """Every value of every table, as text: what a leak check searches."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    parts = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)
