"""Alembic environment: runs migrations on the connection paysync hands over."""

from alembic import context

from paysync_dagster.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
