"""`campusca ldap publish`: write people's S/MIME certificates to their organisation's LDAP entries."""

from __future__ import annotations

import typer

from campusca.cli._common import emit_json, fail, state
from campusca.services import directory_publishing

ldap_app = typer.Typer(help="LDAP address books: publish people's S/MIME certificates.", no_args_is_help=True)


@ldap_app.command("publish")
def publish(
    ctx: typer.Context,
    username: str | None = typer.Argument(None, help="One person (default: --all)"),
    everyone: bool = typer.Option(False, "--all", help="Everyone in organisations that publish (a backfill)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Replace the userSMIMECertificate and userCertificate;binary of people's entries with their current certificates."""
    if everyone == (username is not None):
        fail("name one person or give --all")

    def progress(done: int, total: int, last: directory_publishing.Publication) -> None:
        if not as_json:
            line = f"[{done}/{total}] {last.username}: {last.status}"
            if last.status == "sent":
                line += f" ({last.certificates} certificate(s))"
            elif last.error:
                line += (
                    f" ({last.error}; retried by the scheduler)"
                    if last.status == "pending"
                    else f" ({last.error})"
                )
            typer.echo(line, err=True)

    report = directory_publishing.publish_all(state(ctx).authority(), username=username, progress=progress)
    if as_json:
        emit_json(
            {
                "people": report.people,
                "published": report.published,
                "failed": report.failed,
                "skipped": report.skipped,
            }
        )
        return
    typer.echo(
        f"published {report.published} of {report.people} people; {report.failed} failed (retried later); "
        f"{report.skipped} in organisations without LDAP publishing"
    )
