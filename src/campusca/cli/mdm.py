"""`campusca mdm …`: the push certificate and the MDM command queue (docs/mdm.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.services import mdm

mdm_app = typer.Typer(help="Certificate-only MDM: push certificate, command queue.", no_args_is_help=True)
push_cert_app = typer.Typer(help="Apple's MDM push certificate (its UID is the Topic).", no_args_is_help=True)
mdm_app.add_typer(push_cert_app, name="push-cert")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{what} {path} cannot be read: {exc.strerror}")
        raise  # fail() exits; this keeps type checkers content


@push_cert_app.command("import")
def push_cert_import(ctx: typer.Context, cert: Path, key: Path, as_json: bool = JSON) -> None:
    """Import Apple's MDM push certificate (PEM or DER) and its unencrypted PEM key; MDM is on from then."""
    view = mdm.import_push_certificate(
        state(ctx).authority(), cert_pem=_read(cert, "CERT"), key_pem=_read(key, "KEY"), actor=CLI_ACTOR
    )
    if as_json:
        emit_json(view.to_json())
        return
    typer.echo(f"imported push certificate for topic {view.topic}, valid until {view.not_after:%Y-%m-%d}")
    for warning in view.warnings:
        typer.echo(f"warning: {warning}")


@push_cert_app.command("show")
def push_cert_show(ctx: typer.Context, as_json: bool = JSON) -> None:
    """The active push certificate: Topic, expiry and warnings."""
    view = mdm.show_push_certificate(state(ctx).authority())
    if as_json:
        emit_json(view.to_json())
        return
    rows = [[k, v] for k, v in view.to_json().items() if k != "warnings"]
    table("MDM push certificate", ["field", "value"], rows)
    for warning in view.warnings:
        typer.echo(f"warning: {warning}")


@mdm_app.command("commands")
def commands(
    ctx: typer.Context,
    device: str | None = typer.Option(None, "--device", help="Only this device (UDID)"),
    as_json: bool = JSON,
) -> None:
    """MDM commands, newest first: request type, status, attempts."""
    views = mdm.list_commands(state(ctx).authority(), udid=device)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    table(
        f"MDM commands ({len(views)})",
        ["device", "command", "request type", "status", "attempts", "created"],
        [
            [v.device, v.command_uuid, v.request_type, v.status, v.attempts, f"{v.created_at:%Y-%m-%d %H:%M}"]
            for v in views
        ],
    )
