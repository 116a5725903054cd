"""One API token table for the whole service, replacing the M-Pesa-only tokens.

Existing M-Pesa tokens stay valid: their hashes are copied with `mpesa_settings` set and no
workspace, so they keep exactly the access they had (the M-Pesa settings API) and gain none.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copies of the types as they were at this revision: migrations never import live code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("mpesa_settings", sa.Boolean(), nullable=False),
        sa.Column("workspace_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.execute(
        "INSERT INTO api_tokens"
        " (name, token_sha256, is_admin, mpesa_settings, workspace_ids, created_at, revoked_at)"
        " SELECT name, token_sha256, false, true, '[]', created_at, revoked_at"
        " FROM mpesa_api_tokens"
    )
    op.drop_table("mpesa_api_tokens")


def downgrade() -> None:
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
    # Only tokens that could call the M-Pesa settings API existed before; the others go.
    op.execute(
        "INSERT INTO mpesa_api_tokens (name, token_sha256, created_at, revoked_at)"
        " SELECT name, token_sha256, created_at, revoked_at FROM api_tokens"
        " WHERE mpesa_settings OR is_admin"
    )
    op.drop_table("api_tokens")
