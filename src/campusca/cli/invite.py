"""`campusca invite USERNAME` and `campusca invitations …`: one-time enrollment links by SMS or e-mail."""

from __future__ import annotations

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.services import ota

invitations_app = typer.Typer(
    help="Enrollment invitations: list, withdraw, retry sending.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def invite(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The person to invite"),
    via: str = typer.Option("sms", "--via", help="sms (to the person's phone) or email"),
    ttl: int | None = typer.Option(None, "--ttl", help="Seconds the link stays valid (default 72 hours)"),
    show: bool = typer.Option(False, "--show", help="Print the link (it is secret: shown only now)"),
    as_json: bool = JSON,
) -> None:
    """Send USERNAME a one-time link to enrol an iPhone (PUBLIC_URL/enroll/TOKEN).

    A message the carrier refuses stays queued and is retried by the scheduler in `campusca serve`
    or by `campusca renew run-once`; the command then exits with status 2.
    """
    if via not in ota.INVITATION_CHANNELS:
        fail(f"--via must be sms or email; got {via!r}")
    sent = ota.send_invitation(
        state(ctx).authority(), username=username, channel=via, actor=CLI_ACTOR, ttl_seconds=ttl
    )
    created, delivery = sent.invitation, sent.delivery
    if as_json:
        emit_json(sent.to_json(show_link=show))
    else:
        typer.echo(
            f"invitation {created.id} for {created.username} by {via}, valid until {created.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        if delivery.status == "sent":
            typer.echo(f"sent to {delivery.recipient}")
        if show:
            typer.echo(created.link)
    if delivery.status != "sent":
        typer.echo(
            f"warning: {via} to {delivery.recipient} was not sent ({delivery.error}); "
            f"queued for retry (attempt {delivery.attempts})",
            err=True,
        )
        raise typer.Exit(2)


@invitations_app.command("list")
def invitations_list(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user"),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    as_json: bool = JSON,
) -> None:
    """Invitations, newest first, with the state of their message (pending, sent, failed)."""
    views = ota.invitation_views(state(ctx).authority(), username=user, limit=limit)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        f"Invitations ({len(views)})",
        ["id", "person", "via", "reason", "device", "status", "message", "attempts", "expires"],
        [
            [
                v.id,
                v.username,
                v.channel,
                v.reason,
                v.device,
                v.status,
                v.delivery.status if v.delivery else None,
                v.delivery.attempts if v.delivery else None,
                f"{v.expires_at:%Y-%m-%d %H:%M}",
            ]
            for v in views
        ],
    )


@invitations_app.command("cancel")
def invitations_cancel(ctx: typer.Context, invitation_id: int) -> None:
    """Withdraw an unused invitation: its link stops working at once."""
    ota.withdraw_invitation(state(ctx).authority(), invitation_id, actor=CLI_ACTOR)
    typer.echo(f"invitation {invitation_id} withdrawn")


@invitations_app.command("deliver")
def invitations_deliver(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Retry every queued message whose next attempt is due (the scheduler does this too)."""
    deliveries = ota.deliver_due(state(ctx).authority())
    if as_json:
        emit_json([d.to_json() for d in deliveries])
        return
    for d in deliveries:
        typer.echo(f"message {d.message_id} to {d.recipient}: {d.status} (attempt {d.attempts})")
    if any(d.status != "sent" for d in deliveries):
        raise typer.Exit(2)
