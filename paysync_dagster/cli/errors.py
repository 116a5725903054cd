"""How `paysync` fails: one line on stderr and exit code 2, never a traceback.

Every exception a command lets escape is turned into a single, credential-free line that says
what is wrong and, where there is one, what to do. `PAYSYNC_DEBUG=1` lets the original
exception through, traceback and all, for bug reports.
"""

from __future__ import annotations

import os
from typing import Any

import click

from paysync_dagster.redaction import redact

DEBUG_ENV = "PAYSYNC_DEBUG"
EXIT_CODE = 2
_MAX_MESSAGE_LENGTH = 500


class CliError(click.ClickException):
    """A one-line error that exits with `EXIT_CODE`."""

    exit_code = EXIT_CODE

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


def describe(error: BaseException) -> str:
    """What a user should read about `error`: its cause, with a hint where one helps."""
    import sqlalchemy as sa
    from alembic.util.exc import CommandError

    from paysync_dagster.store.vault import VaultError

    if isinstance(error, VaultError):
        return str(error)
    if isinstance(error, sa.exc.DBAPIError):
        return _database_error(error)
    if isinstance(error, sa.exc.NoSuchModuleError):
        return "PAYSYNC_DATABASE_URL names a database paysync cannot load"
    if isinstance(error, CommandError):
        return f"database migration failed: {error}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"cannot use {error.filename}: {error.strerror}"
    if isinstance(error, ValueError | LookupError | OSError | RuntimeError):
        # paysync's own errors (invalid input, configuration, a busy port) are ValueErrors,
        # OSErrors or RuntimeErrors whose messages are written for the operator.
        return str(error) or type(error).__name__
    return f"unexpected {type(error).__name__}: {error} (set {DEBUG_ENV}=1 for the traceback)"


def _database_error(error: Any) -> str:
    import sqlalchemy as sa

    # The driver's own message, not SQLAlchemy's, which appends the statement and parameters.
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error)
    if "no such table" in text or getattr(orig, "pgcode", None) == "42P01":
        return "the database is not migrated; run `paysync db upgrade` first"
    if isinstance(error, sa.exc.OperationalError):
        return f"cannot use the database: {text}"
    return f"database error: {text}"


def _one_line(message: str) -> str:
    first = " ".join(line.strip() for line in message.strip().splitlines() if line.strip())
    return redact(first)[:_MAX_MESSAGE_LENGTH]


class PaysyncGroup(click.Group):
    """The top-level group: any exception from any command becomes a `CliError`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            # click would print the usage and a hint over three lines; one is enough.
            where = error.ctx.command_path if error.ctx is not None else ctx.command_path
            raise CliError(f"{error.format_message()} (see `{where} --help`)") from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            raise CliError(describe(error)) from None
