"""`campusca cert …`: issue from a CSR, list, show, revoke."""

from __future__ import annotations

from pathlib import Path

import typer
from cryptography.hazmat.primitives import serialization

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.pki.certificates import openssl_serial
from campusca.services import ca

cert_app = typer.Typer(help="Certificates: issue from a CSR, list, show, revoke.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@cert_app.command("issue")
def cert_issue(
    ctx: typer.Context,
    profile: str = typer.Option(..., "--profile", help="smime-signing, smime-encryption, device, server, …"),
    csr: Path = typer.Option(..., "--csr", help="PEM or DER PKCS#10 file"),
    user: str | None = typer.Option(None, "--user", help="The person the certificate is for"),
    out: Path | None = typer.Option(None, "--out", help="Write the PEM certificate here (default: stdout)"),
    chain: bool = typer.Option(
        False,
        "--chain",
        help="Append the issuing CA certificate (what a TLS server sends, e.g. for serve --tls-cert)",
    ),
    as_json: bool = JSON,
) -> None:
    """Issue a certificate from a CSR; the profile, not the CSR, decides its content."""
    try:
        csr_bytes = csr.read_bytes()
    except OSError as error:
        fail(f"cannot read CSR file {csr}: {error.strerror}")
    if out is not None and out.exists():
        fail(f"{out} exists; refusing to overwrite it")
    authority = state(ctx).authority()
    issued = ca.issue_from_csr(
        authority, profile_name=profile, csr_bytes=csr_bytes, username=user, actor=CLI_ACTOR
    )
    serial_hex = openssl_serial(issued.serial)
    # The chain a server presents: its certificate, then the issuing CA; never the root (clients hold it).
    pem = issued.pem + (
        b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in authority.chain_of(issued.certificate)[:-1]
        )
        if chain
        else b""
    )
    if out is not None:
        out.write_bytes(pem)
    if as_json:
        emit_json(
            {
                "serial": serial_hex,
                "profile": issued.profile,
                "subject": issued.subject,
                "pem": pem.decode(),
            }
        )
    elif out is not None:
        typer.echo(f"issued {issued.profile} certificate {serial_hex} -> {out}")
    else:
        typer.echo(pem.decode(), nl=False)


@cert_app.command("list")
def cert_list(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user"),
    status: str | None = typer.Option(None, "--status", help="valid, revoked or expired"),
    profile: str | None = typer.Option(None, "--profile"),
    limit: int = typer.Option(1000, "--limit", min=1, max=100_000),
    as_json: bool = JSON,
) -> None:
    """List certificates, newest first."""
    views, total = ca.list_certificates(
        state(ctx).authority(), username=user, status=status, profile=profile, limit=limit
    )
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        f"Certificates ({len(views)} of {total})",
        ["serial", "profile", "subject", "person", "not after", "status"],
        [
            [
                openssl_serial(v.serial),
                v.profile,
                v.subject,
                v.person,
                v.not_after.date().isoformat(),
                v.status,
            ]
            for v in views
        ],
    )


@cert_app.command("show")
def cert_show(
    ctx: typer.Context,
    serial: str,
    pem: bool = typer.Option(False, "--pem", help="Print the certificate in PEM"),
    as_json: bool = JSON,
) -> None:
    """Show one certificate (SERIAL in hex as openssl prints it; decimal accepted)."""
    view = ca.get_certificate(state(ctx).authority(), ca.parse_serial(serial))
    if pem:
        typer.echo(view.pem.decode(), nl=False)
    elif as_json:
        emit_json(view.to_json())
    else:
        table(None, ["field", "value"], [[k, v] for k, v in view.to_json().items()])


@cert_app.command("revoke")
def cert_revoke(
    ctx: typer.Context,
    serial: str,
    reason: str = typer.Option(
        "unspecified", "--reason", help="RFC 5280 reason: keyCompromise, superseded, …"
    ),
    as_json: bool = JSON,
) -> None:
    """Revoke a certificate; its CA's CRL is re-signed at once and OCSP answers revoked."""
    parsed_reason = ca.parse_reason(reason)
    result = ca.revoke_by_serial(
        state(ctx).authority(), serial=ca.parse_serial(serial), reason=parsed_reason, actor=CLI_ACTOR
    )
    if as_json:
        emit_json(
            {
                "serial": openssl_serial(result.serial),
                "revoked_at": result.revoked_at.isoformat(),
                "reason": result.reason.value,
                "crl_number": result.crl_number,
            }
        )
    else:
        typer.echo(
            f"revoked {openssl_serial(result.serial)} ({result.reason.value}); CRL number {result.crl_number}"
        )
