"""`campusca device …`: enrolled devices (list, show, revoke) and the passcode policy they get."""

from __future__ import annotations

from pathlib import Path

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, state, table
from campusca.cli.smime import create_files, discard_files
from campusca.pki.certificates import openssl_serial
from campusca.services import ota
from campusca.services.ca.revocation import parse_reason

device_app = typer.Typer(help="Enrolled devices: list, show, revoke; passcode policy.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@device_app.command("list")
def device_list(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", help="Only this person's devices"),
    state_: str | None = typer.Option(None, "--state", help=", ".join(ota.DEVICE_STATES)),
    as_json: bool = JSON,
) -> None:
    """Devices, newest first, with owner, state and certificates."""
    views = ota.list_devices(state(ctx).authority(), username=user, state=state_)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        f"Devices ({len(views)})",
        ["udid", "owner", "product", "state", "valid certs"],
        [
            [v.udid, v.owner, v.product, v.state, sum(c.status == "valid" for c in v.certificates)]
            for v in views
        ],
    )


@device_app.command("show")
def device_show(ctx: typer.Context, udid: str, as_json: bool = JSON) -> None:
    """One device: what it reported, its certificates, enrollment state and history."""
    view = ota.show_device(state(ctx).authority(), udid)
    if as_json:
        emit_json(view.to_json())
        return
    data = view.to_json()
    rows = [[k, v] for k, v in data.items() if k not in ("certificates", "history")]
    table(f"Device {view.udid}", ["field", "value"], rows)
    table(
        "Certificates",
        ["serial", "role", "status", "not after"],
        [[openssl_serial(c.serial), c.role, c.status, f"{c.not_after:%Y-%m-%d}"] for c in view.certificates],
    )
    table("History", ["at", "event"], [[h["at"], h["event"]] for h in view.history])


@device_app.command("revoke")
def device_revoke(
    ctx: typer.Context,
    udid: str,
    reason: str = typer.Option(
        "unspecified", "--reason", help="RFC 5280 reason: keyCompromise, superseded, …"
    ),
    retire: bool = typer.Option(False, "--retire", help="Also stop re-enrollment invitations (lost, sold)"),
    as_json: bool = JSON,
) -> None:
    """Revoke every valid certificate of the device; unless --retire, its owner is invited to enrol again."""
    parsed = parse_reason(reason)
    view = ota.revoke_device(state(ctx).authority(), udid, reason=parsed, actor=CLI_ACTOR, retire=retire)
    if as_json:
        emit_json(view.to_json())
        return
    revoked = [openssl_serial(c.serial) for c in view.certificates if c.status == "revoked"]
    typer.echo(f"device {view.udid} is {view.state}; revoked: {', '.join(revoked) or 'nothing'}")


@device_app.command("policy")
def device_policy(
    ctx: typer.Context,
    org: str = typer.Option(..., "--org", help="Organisation"),
    force_pin: bool | None = typer.Option(None, "--force-pin/--no-force-pin"),
    min_length: int | None = typer.Option(None, "--min-length", help="0-16"),
    alphanumeric: bool | None = typer.Option(None, "--alphanumeric/--numeric-ok"),
    max_inactivity: int | None = typer.Option(None, "--max-inactivity", help="Minutes until auto-lock, 0-15"),
    max_failed: int | None = typer.Option(None, "--max-failed-attempts", help="2-11, then the device wipes"),
    max_age: int | None = typer.Option(None, "--max-pin-age-days", help="0-730"),
    history: int | None = typer.Option(None, "--pin-history", help="1-50"),
    as_json: bool = JSON,
) -> None:
    """Show, or change, the passcode policy the final profile enforces for an organisation."""
    changes = {
        "force_pin": force_pin,
        "min_length": min_length,
        "require_alphanumeric": alphanumeric,
        "max_inactivity_minutes": max_inactivity,
        "max_failed_attempts": max_failed,
        "max_pin_age_days": max_age,
        "pin_history": history,
    }
    authority = state(ctx).authority()
    if any(v is not None for v in changes.values()):
        policy = ota.set_passcode_policy(authority, organisation=org, actor=CLI_ACTOR, **changes)
    else:
        policy = ota.passcode_policy_of(authority, org)
    if as_json:
        emit_json(policy.to_json())
        return
    table(f"Passcode policy of {org}", ["field", "value"], [[k, v] for k, v in policy.to_json().items()])


@device_app.command("smime-profile")
def device_smime_profile(
    ctx: typer.Context,
    udid: str,
    out: Path = typer.Option(
        ..., "--out", help="The .mobileconfig to write (signed, encrypted to the device)"
    ),
    as_json: bool = JSON,
) -> None:
    """The owner's S/MIME identities for their enrolled device: escrowed encryption key, new signing key."""
    authority = state(ctx).authority()
    device = ota.show_device(authority, udid)
    handles = create_files([out])  # before issuing: a file that cannot be written changes nothing
    try:
        made = ota.issue_smime_profile(authority, username=device.owner, device_id=device.id, actor=CLI_ACTOR)
    except BaseException:
        discard_files([out], handles)
        raise
    with handles[0] as handle:
        handle.write(made.signed_profile)
    summary = {
        "device": made.udid,
        "owner": device.owner,
        "signing_serial": format(made.signing_serial, "x"),
        "encryption_serial": format(made.encryption_serial, "x"),
        "superseded": [format(s, "x") for s in made.superseded],
        "mail_account": made.mail_account,
    }
    if as_json:
        emit_json(summary)
        return
    typer.echo(
        f"wrote {out}: S/MIME profile for {made.udid} ({device.owner}); signing certificate "
        f"{summary['signing_serial']}, encryption certificate {summary['encryption_serial']}"
    )
