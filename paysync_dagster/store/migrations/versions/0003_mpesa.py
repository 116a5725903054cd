"""M-Pesa: bars, their credentials, settings API tokens and repair failures.

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the types as they were at this revision: migrations never import live code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bars",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mpesa_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bars")),
    )
    op.create_table(
        "mpesa_credentials",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("bar_id", BIG_ID, nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("business_shortcode", sa.String(length=7), nullable=False),
        sa.Column("consumer_key_ciphertext", sa.Text(), nullable=False),
        sa.Column("consumer_secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("passkey_ciphertext", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["bar_id"], ["bars.id"], name="fk_mpesa_credentials_bar_id_bars", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpesa_credentials")),
        sa.UniqueConstraint("bar_id", name=op.f("uq_mpesa_credentials_bar_id")),
    )
    with op.batch_alter_table("mpesa_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mpesa_credentials_bar_id_is_active"),
            ["bar_id", "is_active"],
            unique=False,
        )
    op.create_table(
        "mpesa_api_tokens",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpesa_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_mpesa_api_tokens_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_mpesa_api_tokens_token_sha256")),
    )
    op.create_table(
        "mpesa_repair_failures",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("bar_id", BIG_ID, nullable=False),
        sa.Column("expected_enabled", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpesa_repair_failures")),
    )
    with op.batch_alter_table("mpesa_repair_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mpesa_repair_failures_resolved_at_bar_id"),
            ["resolved_at", "bar_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_mpesa_repair_failures_resolved_at_bar_id"), table_name="mpesa_repair_failures"
    )
    op.drop_table("mpesa_repair_failures")
    op.drop_table("mpesa_api_tokens")
    op.drop_index(op.f("ix_mpesa_credentials_bar_id_is_active"), table_name="mpesa_credentials")
    op.drop_table("mpesa_credentials")
    op.drop_table("bars")
