"""Canonical entity tables and sync control tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the types as they were at this revision: migrations never import live code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
CANONICAL = (
    "customers",
    "products",
    "prices",
    "subscriptions",
    "invoices",
    "employees",
    "employment_contracts",
)


def _create_canonical_table(name: str, *typed_columns: sa.Column) -> None:
    """A canonical entity table: the shared spine around the entity's typed columns."""
    op.create_table(
        name,
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        *typed_columns,
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("raw_hash", sa.String(length=32), nullable=False),
        sa.Column("source_ts", TIMESTAMP, nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.Column("synced_at", TIMESTAMP, nullable=False),
        sa.Column("first_synced_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(
            "workspace_id",
            "provider",
            "external_id",
            name=op.f(f"uq_{name}_workspace_id_provider_external_id"),
        ),
    )


def upgrade() -> None:
    _create_canonical_table(
        "customers",
        sa.Column("email", sa.String(length=320)),
        sa.Column("name", sa.String(length=255)),
        sa.Column("phone", sa.String(length=64)),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("balance", sa.BigInteger()),
        sa.Column("delinquent", sa.Boolean()),
    )
    _create_canonical_table(
        "products",
        sa.Column("name", sa.String(length=255)),
        sa.Column("description", sa.Text()),
        sa.Column("active", sa.Boolean()),
    )
    _create_canonical_table(
        "prices",
        sa.Column("product_external_id", sa.String(length=255)),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("unit_amount", sa.BigInteger()),
        sa.Column("price_type", sa.String(length=16)),
        sa.Column("recurring_interval", sa.String(length=16)),
        sa.Column("recurring_interval_count", sa.Integer()),
        sa.Column("active", sa.Boolean()),
    )
    _create_canonical_table(
        "subscriptions",
        sa.Column("customer_external_id", sa.String(length=255)),
        sa.Column("price_external_id", sa.String(length=255)),
        sa.Column("status", sa.String(length=32)),
        sa.Column("quantity", sa.Integer()),
        sa.Column("current_period_start", TIMESTAMP),
        sa.Column("current_period_end", TIMESTAMP),
        sa.Column("cancel_at_period_end", sa.Boolean()),
        sa.Column("canceled_at", TIMESTAMP),
    )
    _create_canonical_table(
        "invoices",
        sa.Column("customer_external_id", sa.String(length=255)),
        sa.Column("subscription_external_id", sa.String(length=255)),
        sa.Column("number", sa.String(length=64)),
        sa.Column("status", sa.String(length=32)),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("amount_due", sa.BigInteger()),
        sa.Column("amount_paid", sa.BigInteger()),
        sa.Column("total", sa.BigInteger()),
        sa.Column("period_start", TIMESTAMP),
        sa.Column("period_end", TIMESTAMP),
    )
    _create_canonical_table(
        "employees",
        sa.Column("first_name", sa.String(length=255)),
        sa.Column("last_name", sa.String(length=255)),
        sa.Column("email", sa.String(length=320)),
        sa.Column("status", sa.String(length=32)),
    )
    _create_canonical_table(
        "employment_contracts",
        sa.Column("employee_external_id", sa.String(length=255)),
        sa.Column("contract_type", sa.String(length=64)),
        sa.Column("start_date", sa.Date()),
        sa.Column("end_date", sa.Date()),
        sa.Column("status", sa.String(length=32)),
    )
    op.create_table(
        "payment_sync_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_sync_events")),
    )
    with op.batch_alter_table("payment_sync_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_sync_events_workspace_id_provider_session_id"),
            ["workspace_id", "provider", "session_id"],
            unique=False,
        )

    op.create_table(
        "payment_sync_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("resumed_from_session_id", sa.String(length=36), nullable=True),
        sa.Column("resume_cursor", sa.String(length=255), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("inserted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("api_calls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_sync_sessions")),
    )
    with op.batch_alter_table("payment_sync_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_sync_sessions_workspace_id_provider_entity_type_started_at"),
            ["workspace_id", "provider", "entity_type", "started_at"],
            unique=False,
        )

    op.create_table(
        "workspace_payment_configurations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_test_mode", sa.Boolean(), nullable=False),
        sa.Column("api_base", sa.String(length=2048), nullable=True),
        sa.Column("rate_limit_per_second", sa.Float(), nullable=True),
        sa.Column("api_key_ciphertext", sa.Text(), nullable=False),
        sa.Column("webhook_secret_ciphertext", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_payment_configurations")),
        sa.UniqueConstraint(
            "workspace_id",
            "provider",
            name=op.f("uq_workspace_payment_configurations_workspace_id_provider"),
        ),
    )


def downgrade() -> None:
    op.drop_table("workspace_payment_configurations")
    op.drop_index(
        op.f("ix_payment_sync_sessions_workspace_id_provider_entity_type_started_at"),
        table_name="payment_sync_sessions",
    )
    op.drop_table("payment_sync_sessions")
    op.drop_index(
        op.f("ix_payment_sync_events_workspace_id_provider_session_id"),
        table_name="payment_sync_events",
    )
    op.drop_table("payment_sync_events")
    for name in reversed(CANONICAL):
        op.drop_table(name)
