"""`campusca directory lookup EMAIL`: a person's current S/MIME certificates, as the public directory shows them."""

from __future__ import annotations

from pathlib import Path

import typer

from campusca.cli._common import emit_json, state, table
from campusca.cli.smime import write_new
from campusca.services import smime

lookup_app = typer.Typer(
    help="The public certificate directory (what /directory/certificates serves).", no_args_is_help=True
)


@lookup_app.command("lookup")
def lookup(
    ctx: typer.Context,
    email: str,
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="Also write each certificate as SERIAL-PURPOSE.pem here"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Find the valid S/MIME certificates of an address: which one signs, which one to encrypt to."""
    authority = state(ctx).authority()
    entries = smime.directory_entries(authority, email)
    base_url = authority.settings.public_url
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            write_new(out_dir / f"{entry.serial_text}-{entry.purpose}.pem", entry.pem)
    if as_json:
        emit_json([e.to_json(base_url) for e in entries])
        return
    if not entries:
        typer.echo(f"no valid S/MIME certificate for {email}")
        return
    table(
        f"S/MIME certificates of {email}",
        ["purpose", "serial", "valid until", "escrowed"],
        [
            [e.purpose, e.serial_text, e.not_after.date().isoformat(), "yes" if e.escrowed else "no"]
            for e in entries
        ],
    )
