"""`paysync db`: schema management."""

from __future__ import annotations

import click

from paysync_dagster.cli.context import CliContext, say


@click.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@click.pass_obj
def db_upgrade(obj: CliContext, revision: str) -> None:
    """Create or migrate paysync's tables to the newest schema."""
    from paysync_dagster.store.database import upgrade

    upgrade(obj.engine(), revision)
    say(f"database is at revision {revision}: {_safe_url(obj.settings.database_url)}")


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)
