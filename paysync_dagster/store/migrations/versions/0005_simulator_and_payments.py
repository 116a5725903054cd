"""Stripe payment intents and charges (mirrored), and the payment simulator's tables.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the types as they were at this revision: migrations never import live code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


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
        "payment_intents",
        sa.Column("customer_external_id", sa.String(length=255)),
        sa.Column("status", sa.String(length=32)),
        sa.Column("amount", sa.BigInteger()),
        sa.Column("amount_received", sa.BigInteger()),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("payment_method_external_id", sa.String(length=255)),
        sa.Column("latest_charge_external_id", sa.String(length=255)),
        sa.Column("canceled_at", TIMESTAMP),
    )
    _create_canonical_table(
        "charges",
        sa.Column("customer_external_id", sa.String(length=255)),
        sa.Column("payment_intent_external_id", sa.String(length=255)),
        sa.Column("status", sa.String(length=32)),
        sa.Column("amount", sa.BigInteger()),
        sa.Column("amount_captured", sa.BigInteger()),
        sa.Column("amount_refunded", sa.BigInteger()),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("paid", sa.Boolean()),
        sa.Column("failure_code", sa.String(length=64)),
        sa.Column("card_brand", sa.String(length=32)),
        sa.Column("card_last4", sa.String(length=4)),
    )
    op.create_table(
        "simulator_targets",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64)),
        sa.Column("api_base", sa.String(length=2048)),
        sa.Column("tokenization_url", sa.String(length=2048)),
        sa.Column("checkout_url", sa.String(length=2048)),
        sa.Column("payment_url", sa.String(length=2048)),
        sa.Column("form_id", sa.String(length=64)),
        sa.Column("merchant_id", sa.String(length=64)),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("api_key_ciphertext", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulator_targets")),
        sa.UniqueConstraint("name", name=op.f("uq_simulator_targets_name")),
    )
    op.create_table(
        "simulator_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64)),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("degraded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_message", sa.Text()),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulator_runs")),
    )
    op.create_index(
        op.f("ix_simulator_runs_target_started_at"), "simulator_runs", ["target", "started_at"]
    )
    op.create_table(
        "simulator_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("card_scenario", sa.String(length=64), nullable=False),
        sa.Column("card_brand", sa.String(length=32)),
        sa.Column("card_last4", sa.String(length=4)),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_outcome", sa.String(length=32), nullable=False),
        sa.Column("actual_outcome", sa.String(length=32)),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255)),
        sa.Column("tokenize_ms", sa.Float()),
        sa.Column("checkout_ms", sa.Float()),
        sa.Column("pay_ms", sa.Float()),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("retries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_code", sa.String(length=64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("freshness_ms", sa.Float()),
        sa.Column("freshness_status", sa.String(length=16)),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulator_attempts")),
    )
    op.create_index(op.f("ix_simulator_attempts_run_id"), "simulator_attempts", ["run_id"])
    op.create_index(
        op.f("ix_simulator_attempts_target_started_at"),
        "simulator_attempts",
        ["target", "started_at"],
    )


def downgrade() -> None:
    for table in (
        "simulator_attempts",
        "simulator_runs",
        "simulator_targets",
        "charges",
        "payment_intents",
    ):
        op.drop_table(table)
