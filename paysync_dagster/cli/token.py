"""`paysync token`: API tokens of `paysync serve` (control API and M-Pesa settings API)."""

from __future__ import annotations

import click

from paysync_dagster.cli.context import CliContext, clear_errors, new_table, rich_console, say


@click.group()
def token() -> None:
    """API tokens for `paysync serve`, stored only as SHA-256 hashes.

    Requests send one as `X-API-Key: <token>` or `Authorization: Bearer <token>`.
    """


@token.command("create")
@click.argument("name")
@click.option(
    "--workspace",
    "workspace_ids",
    multiple=True,
    help="A workspace the token may act on (repeatable).",
)
@click.option("--admin", is_flag=True, help="Every workspace, and the M-Pesa settings API.")
@click.pass_obj
@clear_errors
def token_create(obj: CliContext, name: str, workspace_ids: tuple[str, ...], admin: bool) -> None:
    """Create a token called NAME and print it, once, as the last line of output."""
    from paysync_dagster.store.tokens import create_token

    created = create_token(obj.engine(), name, workspace_ids=workspace_ids, admin=admin)
    scope = "admin" if admin else f"workspace(s) {', '.join(sorted(set(workspace_ids)))}"
    click.echo(f"token {name!r} created for {scope}; store it now, it is not shown again")
    click.echo(created)


@token.command("revoke")
@click.argument("name")
@click.pass_obj
@clear_errors
def token_revoke(obj: CliContext, name: str) -> None:
    """Revoke the token called NAME: requests using it get 401 from now on."""
    from paysync_dagster.store.tokens import revoke_token

    revoke_token(obj.engine(), name)
    say(f"token {name!r} revoked")


@token.command("list")
@click.pass_obj
def token_list(obj: CliContext) -> None:
    """List token names, scopes and dates; tokens themselves are never stored."""
    from paysync_dagster.store.tokens import list_tokens

    table = new_table("name", "scope", "created", "revoked")
    for summary in list_tokens(obj.engine()):
        principal = summary.principal
        if principal.is_admin:
            scope = "admin"
        elif principal.workspace_ids:
            scope = ", ".join(sorted(principal.workspace_ids))
        else:
            scope = "M-Pesa settings"
        revoked = "-" if summary.revoked_at is None else f"{summary.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(principal.name, scope, f"{summary.created_at:%Y-%m-%d %H:%M}", revoked)
    rich_console().print(table)
