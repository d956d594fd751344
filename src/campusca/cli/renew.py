"""`campusca renew run-once`: the re-enrollment scan the scheduler in `campusca serve` runs, for cron."""

from __future__ import annotations

import uuid

import typer

from campusca.cli._common import emit_json, state
from campusca.services import mdm, ota

renew_app = typer.Typer(
    help="Re-enrollment of devices whose certificates expire or were revoked.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@renew_app.command("run-once")
def run_once(
    ctx: typer.Context,
    window_days: int | None = typer.Option(
        None,
        "--window-days",
        min=0,
        max=3650,
        help="Certificates expiring within this many days (default: setting)",
    ),
    as_json: bool = JSON,
) -> None:
    """Renew devices over MDM where it can, then invite the owners of the others, once each.

    Runs even while `campusca serve` schedules renewals; skipped (exit 0) only while another round is running.
    """
    authority = state(ctx).authority()
    holder = f"cli:{uuid.uuid4().hex[:8]}"
    if not ota.acquire_renewal_lease(
        authority, holder, ttl_seconds=mdm.ROUND_LEASE_SECONDS, name=mdm.ROUND_LEASE
    ):
        report = mdm.RoundReport(ota.RenewalReport(ran=False))
    else:
        try:
            report = mdm.run_renewal_round(authority, window_days=window_days)
        finally:
            ota.release_renewal_lease(authority, holder, name=mdm.ROUND_LEASE)
    if as_json:
        emit_json(report.to_json())
        return
    if not report.ran:
        typer.echo("another campusca process is running a renewal round right now; nothing done")
        return
    for renewal in report.mdm:
        typer.echo(f"renewing {renewal.device} over MDM ({renewal.reason}): push {renewal.push}")
    for invitation in report.invitations.invitations:
        status = invitation.delivery.status if invitation.delivery else "queued"
        typer.echo(
            f"invited {invitation.username} to re-enrol {invitation.device} ({invitation.reason}): {status}"
        )
    for delivery in report.invitations.retried:
        typer.echo(f"retried message {delivery.message_id} to {delivery.recipient}: {delivery.status}")
    if not report.mdm and not report.invitations.invitations and not report.invitations.retried:
        typer.echo("nothing to do")
