"""Webhook inbox, and the webhook settings of workspace configurations.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the types as they were at this revision: migrations never import live code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("event_created_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("processed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_inbox")),
        sa.UniqueConstraint(
            "workspace_id",
            "provider",
            "provider_event_id",
            name=op.f("uq_webhook_inbox_workspace_id_provider_provider_event_id"),
        ),
    )
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_inbox_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_inbox_received_at"), ["received_at"], unique=False
        )
    with op.batch_alter_table("workspace_payment_configurations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_webhook_secret_ciphertext", sa.Text()))
        batch_op.add_column(sa.Column("previous_webhook_secret_expires_at", TIMESTAMP))
        batch_op.add_column(
            sa.Column("webhook_refetch", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("webhook_events_cursor", TIMESTAMP))


def downgrade() -> None:
    with op.batch_alter_table("workspace_payment_configurations", schema=None) as batch_op:
        batch_op.drop_column("webhook_events_cursor")
        batch_op.drop_column("webhook_refetch")
        batch_op.drop_column("previous_webhook_secret_expires_at")
        batch_op.drop_column("previous_webhook_secret_ciphertext")
    op.drop_index(op.f("ix_webhook_inbox_received_at"), table_name="webhook_inbox")
    op.drop_index(op.f("ix_webhook_inbox_status_next_attempt_at"), table_name="webhook_inbox")
    op.drop_table("webhook_inbox")
