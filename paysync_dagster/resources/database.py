"""The database every asset, check and sensor reads and writes."""

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr

from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine, is_current


class DatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy access to paysync's tables.

    `url` defaults to `PAYSYNC_DATABASE_URL`, else the local SQLite file under `./.paysync/`.
    The schema is managed by `paysync db upgrade`; a database that is behind fails fast with
    that instruction instead of failing mid-sync on a missing column.
    """

    url: str | None = None
    _engine: sa.Engine | None = PrivateAttr(default=None)

    def get_engine(self) -> sa.Engine:
        """The engine, created and schema-checked on first use."""
        if self._engine is None:
            engine = create_engine(self.url or Settings.from_environment().database_url)
            if not is_current(engine):
                engine.dispose()
                raise dg.Failure(
                    "the paysync database is not migrated to the current schema;"
                    " run `paysync db upgrade` first"
                )
            self._engine = engine
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
