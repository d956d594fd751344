"""`campusca ca …`: list the CAs, add the S/MIME CA to an older install, revoke an issuing CA."""

from __future__ import annotations

import sys

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.pki.certificates import openssl_serial
from campusca.services.ca import authorities

ca_app = typer.Typer(help="The CAs: list, add the S/MIME CA, revoke an issuing CA.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@ca_app.command("list")
def ca_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Every CA of this install with its EKU, policies and whether it is revoked."""
    views = authorities.list_cas(state(ctx).authority())
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        "CAs",
        ["slug", "subject", "serial", "not after", "status", "EKU", "policies"],
        [
            [
                v.slug,
                v.subject,
                openssl_serial(v.serial),
                v.not_after.date().isoformat(),
                f"revoked ({v.revocation_reason})" if v.revoked_at else "active",
                ", ".join(v.extended_key_usage) or "any",
                ", ".join(v.policies),
            ]
            for v in views
        ],
    )


@ca_app.command("add-smime")
def ca_add_smime(
    ctx: typer.Context,
    key_type: str | None = typer.Option(None, "--key-type", help="Default: the issuing CA's key type"),
    as_json: bool = JSON,
) -> None:
    """Add the dedicated S/MIME CA (for installs made before it existed); S/MIME is issued from it at once."""
    from campusca.keys import KeyType
    from campusca.services.setup import add_smime_ca

    parsed = None
    if key_type is not None:
        try:
            parsed = KeyType(key_type)
        except ValueError:
            fail(f"--key-type must be one of {', '.join(k.value for k in KeyType)}; got {key_type!r}")
    certificate = add_smime_ca(state(ctx).authority(), key_type=parsed, actor=CLI_ACTOR)
    if as_json:
        emit_json({"slug": "smime", "subject": certificate.subject.rfc4514_string()})
        return
    typer.echo(f"S/MIME CA: {certificate.subject.rfc4514_string()}")
    typer.echo("new S/MIME certificates come from it now; restart 'campusca serve' to use it at once")


@ca_app.command("revoke")
def ca_revoke(
    ctx: typer.Context,
    slug: str = typer.Argument(..., help="The CA to revoke (issuing, smime); never the root"),
    reason: str = typer.Option(
        ..., "--reason", help="keyCompromise, cACompromise, superseded, cessationOfOperation, …"
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
    as_json: bool = JSON,
) -> None:
    """Revoke an issuing CA: the root's CRL lists it, every certificate under it stops verifying, it issues no more."""
    parsed = authorities.parse_ca_reason(reason)
    if not yes:
        if not sys.stdin.isatty():
            fail("revoking a CA cannot be undone; confirm with --yes")
        typer.confirm(
            f"Revoke CA {slug!r} ({parsed.value})? Every certificate it issued stops verifying; this cannot be undone",
            abort=True,
        )
    result = authorities.revoke_ca(state(ctx).authority(), slug=slug, reason=parsed, actor=CLI_ACTOR)
    if as_json:
        emit_json(
            {
                "slug": slug,
                "serial": openssl_serial(result.serial),
                "revoked_at": result.revoked_at.isoformat(),
                "reason": result.reason.value,
                "root_crl_number": result.crl_number,
            }
        )
    else:
        typer.echo(f"revoked CA {slug} ({result.reason.value}); root CRL number {result.crl_number}")
