"""`campusca scep …`: one-time enrollment challenges and pending SCEP requests."""

from __future__ import annotations

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, state, table
from campusca.pki.certificates import openssl_serial
from campusca.services import scep

scep_app = typer.Typer(
    help="SCEP (RFC 8894): one-time challenges for devices, and requests waiting for approval.",
    no_args_is_help=True,
)
pending_app = typer.Typer(help="SCEP requests waiting for approval (profiles in scep_approval_profiles).")
scep_app.add_typer(pending_app, name="pending")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@scep_app.command("challenge")
def challenge(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", help="The person the enrolled certificate will belong to"),
    device: str | None = typer.Option(None, "--device", help="The device's UDID (becomes a SAN URN)"),
    ttl: int | None = typer.Option(None, "--ttl", help="Seconds the challenge stays usable (default 3600)"),
    profile: str | None = typer.Option(None, "--profile", help="Certificate profile (default: device)"),
    subject: str | None = typer.Option(
        None, "--subject", help="The CSR subject must match: RFC 4514 name, or a bare common name"
    ),
    as_json: bool = JSON,
) -> None:
    """Create a one-time challenge password; it is printed once, on the last line."""
    created = scep.issue_challenge(
        state(ctx).authority(),
        username=user,
        actor=CLI_ACTOR,
        ttl_seconds=ttl,
        device_ref=device,
        expected_subject=subject,
        profile=profile,
    )
    if as_json:
        emit_json({"challenge": created.secret, "user": user, "device": device, "url": created.url})
        return
    typer.echo(
        f"one-time SCEP challenge for {user} (SCEP URL {created.url}); it is shown only now:", err=True
    )
    typer.echo(created.secret)


@scep_app.command("challenges")
def challenges(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include used and expired challenges"),
    as_json: bool = JSON,
) -> None:
    """List challenges (never their secrets), newest first; by default only usable ones."""
    views = scep.list_challenges(state(ctx).authority(), include_used=all_)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        f"SCEP challenges ({len(views)})",
        ["id", "user", "device", "profile", "expires", "used"],
        [
            [
                v.id,
                v.username,
                v.device_ref,
                v.profile,
                v.expires_at.isoformat(timespec="seconds"),
                v.consumed_at,
            ]
            for v in views
        ],
    )


@scep_app.command("list")
def enrollments(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="pending, issued or rejected"),
    device: str | None = typer.Option(None, "--device", help="Only this device's enrollments"),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000),
    as_json: bool = JSON,
) -> None:
    """List SCEP enrollments, newest first."""
    views = scep.list_enrollments(state(ctx).authority(), status=status, device_ref=device, limit=limit)
    _print_enrollments("SCEP enrollments", views, as_json)


@pending_app.command("list")
def pending_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List requests waiting for approval."""
    views = scep.list_enrollments(state(ctx).authority(), status="pending", limit=10_000)
    _print_enrollments("pending SCEP requests", views, as_json)


@pending_app.command("approve")
def pending_approve(
    ctx: typer.Context,
    enrollment_id: int = typer.Argument(..., help="ID from 'pending list'"),
    as_json: bool = JSON,
) -> None:
    """Approve a request: the certificate is issued now and returned at the device's next poll."""
    view = scep.approve_pending(state(ctx).authority(), enrollment_id, actor=CLI_ACTOR)
    if as_json:
        emit_json(view.to_json())
        return
    typer.echo(
        f"approved SCEP request {view.id}: certificate {openssl_serial(view.certificate_serial or 0)} issued"
    )


@pending_app.command("reject")
def pending_reject(
    ctx: typer.Context,
    enrollment_id: int = typer.Argument(..., help="ID from 'pending list'"),
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit trail"),
    as_json: bool = JSON,
) -> None:
    """Reject a request: the device's next poll gets a FAILURE."""
    view = scep.reject_pending(state(ctx).authority(), enrollment_id, actor=CLI_ACTOR, reason=reason)
    if as_json:
        emit_json(view.to_json())
        return
    typer.echo(f"rejected SCEP request {view.id}")


def _print_enrollments(title: str, views: list[scep.ScepEnrollmentView], as_json: bool) -> None:
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        f"{title} ({len(views)})",
        ["id", "user", "device", "profile", "status", "certificate", "renewal", "created"],
        [
            [
                v.id,
                v.username,
                v.device_ref,
                v.profile,
                v.status,
                openssl_serial(v.certificate_serial) if v.certificate_serial else None,
                "yes" if v.renewal else "",
                v.created_at.isoformat(timespec="seconds"),
            ]
            for v in views
        ],
    )
