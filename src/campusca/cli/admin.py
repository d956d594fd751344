"""`campusca token|crl|audit|db …`: API tokens, CRL publication, the audit trail, migrations."""

from __future__ import annotations

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.services import audit, ca, people, storage

token_app = typer.Typer(help="REST API bearer tokens.", no_args_is_help=True)
crl_app = typer.Typer(help="Certificate revocation lists.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help="admin, ra-officer or auditor"),
    name: str = typer.Option("api", "--name", help="A label to recognise the token by"),
    as_json: bool = JSON,
) -> None:
    """Create a token; its value is printed once (the last line) and stored only as a hash."""
    value = people.mint_token(state(ctx).authority(), name=name, role=role, actor=CLI_ACTOR)
    if as_json:
        emit_json({"name": name, "role": role, "token": value})
    else:
        typer.echo(f"created {role} token {name!r}; it is shown only now:", err=True)
        typer.echo(value)


@token_app.command("list")
def token_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List tokens (never their values)."""
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role,
            "created_at": t.created_at.isoformat(),
            "revoked": t.revoked,
        }
        for t in people.list_tokens(state(ctx).authority())
    ]
    emit_json(rows) if as_json else table(
        "API tokens", ["id", "name", "role", "created", "revoked"], [list(r.values()) for r in rows]
    )


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: int) -> None:
    """Revoke a token by its id."""
    people.revoke_token(state(ctx).authority(), token_id, actor=CLI_ACTOR)
    typer.echo(f"revoked token {token_id}")


@crl_app.command("generate")
def crl_generate(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Re-sign every CA's CRL now (they are also re-signed after each revocation and before nextUpdate)."""
    published = ca.refresh_crls(state(ctx).authority(), force=True, actor=CLI_ACTOR)
    if as_json:
        emit_json([{"ca": slug, "crl_number": number} for slug, number in published])
    else:
        for slug, number in published:
            typer.echo(f"published CRL {number} for CA {slug}")


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", min=1, max=100_000),
    action: str | None = typer.Option(None, "--action", help="e.g. certificate.issued"),
    as_json: bool = JSON,
) -> None:
    """Show the newest audit records."""
    records = audit.recent_records(state(ctx).authority(), limit=limit, action=action)
    if as_json:
        emit_json([r.to_json() for r in records])
    else:
        table(
            "Audit trail (newest first)",
            ["seq", "at", "actor", "action", "target"],
            [[r.seq, r.at.isoformat(), r.actor, r.action, r.target] for r in records],
        )


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Recompute the hash chain; exit 1 and name the first broken record if any was edited, removed or reordered."""
    verdict = audit.check_chain(state(ctx).authority())
    if as_json:
        emit_json(
            {
                "ok": verdict.ok,
                "records": verdict.records,
                "first_broken": verdict.first_broken,
                "problem": verdict.problem,
            }
        )
        if not verdict.ok:
            raise typer.Exit(1)
    elif verdict.ok:
        typer.echo(f"audit trail intact: {verdict.records} records")
    else:
        fail(f"audit trail broken at record {verdict.first_broken}: {verdict.problem}")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending database migrations."""
    storage.upgrade_database(state(ctx).authority())
    typer.echo("database is up to date")
