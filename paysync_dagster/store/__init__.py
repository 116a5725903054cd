"""Persistence: tables, migrations, batched upserts and the credential vault."""
