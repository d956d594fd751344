"""`campusca recovery …`: request, approve, reject, release and close key recoveries (lost key or legal case)."""

from __future__ import annotations

from pathlib import Path

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.cli.smime import open_new, read_input, write_new
from campusca.services import smime
from campusca.services.authority import Authority
from campusca.services.ca.issuance import parse_serial

recovery_app = typer.Typer(
    help="Key recovery: a request needs approvals from recovery agents, is released once, and revokes and re-keys.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
AS = typer.Option(None, "--as", help="The person acting (their roles are checked); default: the CLI operator")


def _actor(person: str | None) -> str:
    return f"{CLI_ACTOR}:{person.strip().lower()}" if person else CLI_ACTOR


def _print(view: smime.RecoveryView, as_json: bool) -> None:
    if as_json:
        emit_json(view.to_json())
        return
    approvals = f"{len(view.approvals)}/{view.approvals_required}"
    typer.echo(
        f"recovery request {view.id}: {view.reason} for {view.person}, {view.status}, approvals {approvals}"
    )


@recovery_app.command("request")
def request(
    ctx: typer.Context,
    username: str,
    reason: str = typer.Option(..., "--reason", help="lost-key or legal"),
    case: str | None = typer.Option(None, "--case", help="Case reference (legal)"),
    confidential: bool = typer.Option(
        False, "--confidential", help="Legal: defer revocation, re-key and notice until close-case"
    ),
    certificate: list[str] | None = typer.Option(
        None,
        "--certificate",
        help="Serial of an escrowed certificate to cover (repeat; default: all of them)",
    ),
    as_person: str | None = AS,
    as_json: bool = JSON,
) -> None:
    """Ask for the recovery of a person's archived decryption keys (refused where escrow is off)."""
    if reason == smime.LEGAL_RECOVERY and not (case or "").strip():
        fail("a legal recovery needs a case reference (--case)")
    view = smime.request_recovery(
        state(ctx).authority(),
        username=username,
        reason=reason,
        actor=_actor(as_person),
        requester=as_person,
        case_ref=case,
        confidential=confidential,
        serials=[parse_serial(s) for s in certificate or []],
    )
    _print(view, as_json)
    if view.release_code is not None and not as_json:
        typer.echo(f"release code (shown once; needed to release in quorum mode): {view.release_code}")


@recovery_app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    agent: str = typer.Option(..., "--as", help="The approving recovery agent"),
    passphrase: str | None = typer.Option(
        None, "--passphrase", help="The agent's share passphrase (quorum mode; prompted when absent)"
    ),
    as_json: bool = JSON,
) -> None:
    """Approve a recovery as a recovery agent (never the requester; quorum mode unlocks the agent's share)."""
    authority = state(ctx).authority()
    if passphrase is None and smime.get_recovery_request(authority, request_id).mode == "quorum":
        passphrase = typer.prompt(f"share passphrase of {agent}", hide_input=True)
    view = smime.approve_recovery(
        authority, request_id=request_id, agent=agent, passphrase=passphrase, actor=_actor(agent)
    )
    _print(view, as_json)


@recovery_app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_person: str | None = AS,
    note: str | None = typer.Option(None, "--note", help="Why (kept in the audit trail)"),
    as_json: bool = JSON,
) -> None:
    """Reject a request (a recovery agent) or withdraw it (the requester)."""
    view = smime.reject_recovery(
        state(ctx).authority(), request_id=request_id, by=as_person, note=note, actor=_actor(as_person)
    )
    _print(view, as_json)


@recovery_app.command("release")
def release(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(
        ..., "--out", help="Lost key: the PKCS#12 file; legal: a directory for plaintexts"
    ),
    password: str | None = typer.Option(
        None, "--password", help="Lost key: one-time PKCS#12 password (8+ chars)"
    ),
    message: list[Path] | None = typer.Option(None, "--message", help="Legal: an encrypted message (repeat)"),
    release_code: str | None = typer.Option(
        None, "--release-code", help="Quorum mode: the code shown at request time (prompted when absent)"
    ),
    legacy: bool = typer.Option(False, "--legacy", help="Lost key: 3DES/SHA-1 PKCS#12"),
    reissue_signing: bool = typer.Option(
        False,
        "--reissue-signing",
        help="Lost key: also replace the signing certificate (new key in the file)",
    ),
    as_person: str | None = AS,
    as_json: bool = JSON,
) -> None:
    """Release an approved recovery once: a lost key's PKCS#12, or a legal case's decrypted messages."""
    authority = state(ctx).authority()
    current = smime.get_recovery_request(authority, request_id)
    if current.mode == "quorum" and release_code is None and current.status == smime.RECOVERY_APPROVED:
        release_code = typer.prompt("release code", hide_input=True)
    if current.reason == smime.LEGAL_RECOVERY:
        _release_legal(authority, request_id, out, message or [], release_code, as_person, as_json)
        return
    if password is None:
        fail("a lost-key release needs --password for the one-time PKCS#12")
    handle = open_new(out)  # before the release: a request is released once, its file must be writable
    try:
        result = smime.release_lost_key(
            authority,
            request_id=request_id,
            password=password or "",
            actor=_actor(as_person),
            releaser=as_person,
            release_code=release_code,
            legacy=legacy,
            reissue_signing=reissue_signing,
        )
    except BaseException:
        handle.close()
        out.unlink(missing_ok=True)
        raise
    with handle:
        handle.write(result.pkcs12)
    if as_json:
        emit_json(
            {
                **result.request.to_json(),
                "file": str(out),
                "new_certificate": result.new_serial,
                "revoked": list(result.revoked),
                "history": list(result.history),
                "new_signing_certificate": result.new_signing_serial,
                "revoked_signing": list(result.revoked_signing),
                "signing_still_valid": list(result.signing_still_valid),
            }
        )
        return
    typer.echo(f"wrote {out}: new key {result.new_serial} and {len(result.history)} recovered key(s)")
    typer.echo(f"revoked (keyCompromise): {', '.join(result.revoked) or 'none still valid'}")
    if result.new_signing_serial is not None:
        replaced = ", ".join(result.revoked_signing) or "none"
        typer.echo(
            f"new signing certificate {result.new_signing_serial} (replaces {replaced}; key in the file)"
        )
    elif result.signing_still_valid:
        typer.echo(
            f"signing certificate {', '.join(result.signing_still_valid)} is still valid; if that key was lost "
            f"too: campusca smime reissue-signing {result.request.person} --password … --out …"
        )


def _release_legal(
    authority: Authority,
    request_id: int,
    out: Path,
    messages: list[Path],
    release_code: str | None,
    as_person: str | None,
    as_json: bool,
) -> None:
    if not messages:
        fail("a legal release needs at least one --message")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fail(f"{out} must be a new or empty directory")
    result = smime.release_legal(
        authority,
        request_id=request_id,
        messages=[read_input(m) for m in messages],
        actor=_actor(as_person),
        releaser=as_person,
        release_code=release_code,
    )
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = []
    for number, (source, plain) in enumerate(zip(messages, result.plaintexts, strict=True), start=1):
        target = out / f"{number:03d}-{source.stem}.eml"
        write_new(target, plain)
        files.append(str(target))
    if as_json:
        emit_json(
            {
                **result.request.to_json(),
                "files": files,
                "revoked": list(result.revoked),
                "new_certificate": result.new_serial,
            }
        )
        return
    typer.echo(f"decrypted {len(files)} message(s) into {out}")
    if result.request.deferred:
        typer.echo("confidential case: revocation, re-key and notice wait for 'campusca recovery close-case'")
    else:
        typer.echo(
            f"revoked {', '.join(result.revoked) or 'none'}; new encryption certificate {result.new_serial}"
        )


@recovery_app.command("close-case")
def close_case(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., metavar="ID"),
    as_person: str | None = AS,
    as_json: bool = JSON,
) -> None:
    """Close a released legal case; a confidential one now gets its revocation, re-key and notice."""
    result = smime.close_legal_case(
        state(ctx).authority(), request_id=request_id, actor=_actor(as_person), closer=as_person
    )
    if as_json:
        emit_json(
            {
                **result.request.to_json(),
                "revoked": list(result.revoked),
                "new_certificate": result.new_serial,
            }
        )
        return
    typer.echo(f"case of recovery request {request_id} closed")
    if result.new_serial:
        typer.echo(
            f"revoked {', '.join(result.revoked) or 'none'}; new encryption certificate {result.new_serial}"
        )


@recovery_app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help=", ".join(smime.RECOVERY_STATUSES)),
    user: str | None = typer.Option(None, "--user", help="Only requests about this person"),
    as_json: bool = JSON,
) -> None:
    """List recovery requests, newest first (expired ones are marked first)."""
    views = smime.list_recovery_requests(state(ctx).authority(), status=status, username=user)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        "Recovery requests",
        ["id", "person", "reason", "case", "status", "approvals", "expires"],
        [
            [
                v.id,
                v.person,
                v.reason,
                v.case_ref,
                v.status,
                f"{len(v.approvals)}/{v.approvals_required}",
                v.expires_at,
            ]
            for v in views
        ],
    )


@recovery_app.command("show")
def show(
    ctx: typer.Context, request_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON
) -> None:
    """Show one recovery request: status, approvals so far, certificates covered, expiry."""
    view = smime.get_recovery_request(state(ctx).authority(), request_id)
    if as_json:
        emit_json(view.to_json())
    else:
        table(None, ["field", "value"], [[k, v] for k, v in view.to_json().items()])
