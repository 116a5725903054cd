"""SQLAlchemy Core tables: the canonical provider mirror and the sync control tables.

Every canonical table shares the same spine (`workspace_id`, `provider`, `external_id`, `raw`,
`raw_hash`, `source_ts`, `deleted_at`, `synced_at`, `first_synced_at`) so one upsert path serves
them all; the typed
columns are the fields people filter and join on. The Alembic migrations create exactly these
tables, and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Json(sa.TypeDecorator):
    """JSON, stored as JSONB on PostgreSQL.

    What `sa.JSON().with_variant(postgresql.JSONB(), "postgresql")` says, except that the
    PostgreSQL dialect is imported when a PostgreSQL engine uses the type, not when these
    tables are defined: `paysync workspace add` on SQLite would otherwise spend about 30 ms
    of its start-up importing it.
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


Timestamp = sa.DateTime(timezone=True)


def _canonical_table(name: str, *columns: sa.Column) -> sa.Table:
    """A canonical entity table: the shared spine plus the entity's typed columns."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        *columns,
        sa.Column("created_at", Timestamp),
        sa.Column("raw", Json(), nullable=False),
        sa.Column("raw_hash", sa.String(32), nullable=False),
        sa.Column("source_ts", Timestamp, nullable=False),
        sa.Column("deleted_at", Timestamp),
        sa.Column("synced_at", Timestamp, nullable=False),
        sa.Column("first_synced_at", Timestamp, nullable=False),
        sa.UniqueConstraint("workspace_id", "provider", "external_id"),
    )


customers = _canonical_table(
    "customers",
    sa.Column("email", sa.String(320)),
    sa.Column("name", sa.String(255)),
    sa.Column("phone", sa.String(64)),
    sa.Column("currency", sa.String(3)),
    sa.Column("balance", sa.BigInteger),
    sa.Column("delinquent", sa.Boolean),
)

products = _canonical_table(
    "products",
    sa.Column("name", sa.String(255)),
    sa.Column("description", sa.Text),
    sa.Column("active", sa.Boolean),
)

prices = _canonical_table(
    "prices",
    sa.Column("product_external_id", sa.String(255)),
    sa.Column("currency", sa.String(3)),
    sa.Column("unit_amount", sa.BigInteger),
    sa.Column("price_type", sa.String(16)),
    sa.Column("recurring_interval", sa.String(16)),
    sa.Column("recurring_interval_count", sa.Integer),
    sa.Column("active", sa.Boolean),
)

subscriptions = _canonical_table(
    "subscriptions",
    sa.Column("customer_external_id", sa.String(255)),
    sa.Column("price_external_id", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("quantity", sa.Integer),
    sa.Column("current_period_start", Timestamp),
    sa.Column("current_period_end", Timestamp),
    sa.Column("cancel_at_period_end", sa.Boolean),
    sa.Column("canceled_at", Timestamp),
)

invoices = _canonical_table(
    "invoices",
    sa.Column("customer_external_id", sa.String(255)),
    sa.Column("subscription_external_id", sa.String(255)),
    sa.Column("number", sa.String(64)),
    sa.Column("status", sa.String(32)),
    sa.Column("currency", sa.String(3)),
    sa.Column("amount_due", sa.BigInteger),
    sa.Column("amount_paid", sa.BigInteger),
    sa.Column("total", sa.BigInteger),
    sa.Column("period_start", Timestamp),
    sa.Column("period_end", Timestamp),
)

payment_intents = _canonical_table(
    "payment_intents",
    sa.Column("customer_external_id", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("amount", sa.BigInteger),
    sa.Column("amount_received", sa.BigInteger),
    sa.Column("currency", sa.String(3)),
    sa.Column("payment_method_external_id", sa.String(255)),
    sa.Column("latest_charge_external_id", sa.String(255)),
    sa.Column("canceled_at", Timestamp),
)

charges = _canonical_table(
    "charges",
    sa.Column("customer_external_id", sa.String(255)),
    sa.Column("payment_intent_external_id", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("amount", sa.BigInteger),
    sa.Column("amount_captured", sa.BigInteger),
    sa.Column("amount_refunded", sa.BigInteger),
    sa.Column("currency", sa.String(3)),
    sa.Column("paid", sa.Boolean),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("card_brand", sa.String(32)),
    sa.Column("card_last4", sa.String(4)),
)

employees = _canonical_table(
    "employees",
    sa.Column("first_name", sa.String(255)),
    sa.Column("last_name", sa.String(255)),
    sa.Column("email", sa.String(320)),
    sa.Column("status", sa.String(32)),
)

employment_contracts = _canonical_table(
    "employment_contracts",
    sa.Column("employee_external_id", sa.String(255)),
    sa.Column("contract_type", sa.String(64)),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("status", sa.String(32)),
)

CANONICAL_TABLES: dict[str, sa.Table] = {
    table.name: table
    for table in (
        customers,
        products,
        prices,
        subscriptions,
        invoices,
        payment_intents,
        charges,
        employees,
        employment_contracts,
    )
}

workspace_payment_configurations = sa.Table(
    "workspace_payment_configurations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("is_test_mode", sa.Boolean, nullable=False),
    sa.Column("api_base", sa.String(2048)),
    sa.Column("rate_limit_per_second", sa.Float),
    sa.Column("api_key_ciphertext", sa.Text, nullable=False),
    sa.Column("webhook_secret_ciphertext", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("workspace_id", "provider"),
)

payment_sync_sessions = sa.Table(
    "payment_sync_sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("dagster_run_id", sa.String(64)),
    sa.Column("resumed_from_session_id", sa.String(36)),
    sa.Column("resume_cursor", sa.String(255)),
    sa.Column("watermark", Timestamp, nullable=False),
    sa.Column("listed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("api_calls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_message", sa.Text),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Index(None, "workspace_id", "provider", "entity_type", "started_at"),
)

payment_sync_events = sa.Table(
    "payment_sync_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("session_id", sa.String(36)),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(64)),
    sa.Column("external_id", sa.String(255)),
    sa.Column("message", sa.Text),
    sa.Column("details", Json()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index(None, "workspace_id", "provider", "session_id"),
)

# -- Webhooks (migration 0002) ---------------------------------------------------------------

# The durable inbox between the webhook receiver and the processor: one row per provider event,
# committed before the receiver acknowledges it, unique per provider event id so a redelivery
# is recognised and never applied again.
webhook_inbox = sa.Table(
    "webhook_inbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("provider_event_id", sa.String(255), nullable=False),
    sa.Column("event_type", sa.String(128), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("payload", Json(), nullable=False),
    sa.Column("event_created_at", Timestamp, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("locked_by", sa.String(64)),
    sa.Column("locked_until", Timestamp),
    sa.Column("last_error", sa.Text),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("processed_at", Timestamp),
    sa.UniqueConstraint("workspace_id", "provider", "provider_event_id"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "received_at"),
)

# Webhook settings of a workspace configuration, added by migration 0002: the previous signing
# secret stays valid until its expiry during a rotation; `webhook_refetch` makes the processor
# fetch the current object instead of trusting the payload; the events cursor is where the
# next gap fill resumes listing the provider's events.
workspace_payment_configurations.append_column(
    sa.Column("previous_webhook_secret_ciphertext", sa.Text)
)
workspace_payment_configurations.append_column(
    sa.Column("previous_webhook_secret_expires_at", Timestamp)
)
workspace_payment_configurations.append_column(
    sa.Column("webhook_refetch", sa.Boolean, nullable=False, server_default=sa.false())
)
workspace_payment_configurations.append_column(sa.Column("webhook_events_cursor", Timestamp))
# Non-secret provider-specific settings (PayFit's company id and OAuth base), added by
# migration 0004 with the provider registry.
workspace_payment_configurations.append_column(sa.Column("options", sa.JSON))

# M-Pesa (tenant = bar). `mpesa_credentials.is_active` is the source of truth for whether a bar
# takes M-Pesa; `bars.mpesa_enabled` is what the customer app reads and must follow it. A bar
# without a credentials row counts as inactive, so its `mpesa_enabled` must be false.
bars = sa.Table(
    "bars",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("mpesa_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

mpesa_credentials = sa.Table(
    "mpesa_credentials",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "bar_id",
        BigId,
        sa.ForeignKey("bars.id", name="fk_mpesa_credentials_bar_id_bars", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("environment", sa.String(16), nullable=False),
    sa.Column("business_shortcode", sa.String(7), nullable=False),
    sa.Column("consumer_key_ciphertext", sa.Text, nullable=False),
    sa.Column("consumer_secret_ciphertext", sa.Text, nullable=False),
    sa.Column("passkey_ciphertext", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("bar_id"),
    # Covers the drift query's join: looking up a bar's `is_active` never reads the table.
    sa.Index(None, "bar_id", "is_active"),
)

# API tokens of `paysync serve` (migration 0006, which carried the M-Pesa-only tokens over):
# only a SHA-256 hash is kept. A token is admin (every workspace and the M-Pesa settings API),
# scoped to `workspace_ids`, or, for tokens carried over from `mpesa_api_tokens`, limited to
# the M-Pesa settings API (`mpesa_settings`).
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("mpesa_settings", sa.Boolean, nullable=False),
    sa.Column("workspace_ids", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.UniqueConstraint("name"),
    sa.UniqueConstraint("token_sha256"),
)

mpesa_repair_failures = sa.Table(
    "mpesa_repair_failures",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("bar_id", BigId, nullable=False),
    sa.Column("expected_enabled", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("resolved_at", Timestamp),
    sa.Index(None, "resolved_at", "bar_id"),
)

# -- Payment simulator (migration 0005) -------------------------------------------------------

# A checkout flow the simulator exercises: a Stripe-compatible API (`api_base`), or a
# tokenize -> checkout -> pay gateway (the three URLs, form and merchant ids). `workspace_id`
# links a Stripe target to the mirrored workspace whose freshness a run measures.
simulator_targets = sa.Table(
    "simulator_targets",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("workspace_id", sa.String(64)),
    sa.Column("api_base", sa.String(2048)),
    sa.Column("tokenization_url", sa.String(2048)),
    sa.Column("checkout_url", sa.String(2048)),
    sa.Column("payment_url", sa.String(2048)),
    sa.Column("form_id", sa.String(64)),
    sa.Column("merchant_id", sa.String(64)),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("api_key_ciphertext", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("name"),
)

# One simulator run: N attempts against one target, from a schedule, by hand or over the API.
simulator_runs = sa.Table(
    "simulator_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("dagster_run_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("iterations", sa.Integer, nullable=False),
    sa.Column("passed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("degraded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_message", sa.Text),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Index(None, "target", "started_at"),
)

# One checkout attempt. The card is recorded as its scenario (Stripe payment method id, or
# brand and last 4): a card number is never stored.
simulator_attempts = sa.Table(
    "simulator_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("card_scenario", sa.String(64), nullable=False),
    sa.Column("card_brand", sa.String(32)),
    sa.Column("card_last4", sa.String(4)),
    sa.Column("customer_ref", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("expected_outcome", sa.String(32), nullable=False),
    sa.Column("actual_outcome", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("provider_payment_id", sa.String(255)),
    sa.Column("tokenize_ms", sa.Float),
    sa.Column("checkout_ms", sa.Float),
    sa.Column("pay_ms", sa.Float),
    sa.Column("total_ms", sa.Float, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_message", sa.Text),
    sa.Column("freshness_ms", sa.Float),
    sa.Column("freshness_status", sa.String(16)),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Index(None, "run_id"),
    sa.Index(None, "target", "started_at"),
)

# Every column that holds a vault token: what `paysync keys rotate` re-encrypts and what the
# key ring check reads to find key ids the ring lacks.
CIPHERTEXT_COLUMNS: tuple[sa.Column, ...] = (
    workspace_payment_configurations.c.api_key_ciphertext,
    workspace_payment_configurations.c.webhook_secret_ciphertext,
    workspace_payment_configurations.c.previous_webhook_secret_ciphertext,
    mpesa_credentials.c.consumer_key_ciphertext,
    mpesa_credentials.c.consumer_secret_ciphertext,
    mpesa_credentials.c.passkey_ciphertext,
    simulator_targets.c.api_key_ciphertext,
)
