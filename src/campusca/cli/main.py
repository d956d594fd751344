"""The `campusca` command: one noun module each, all calling the same services as the web layer."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state
from campusca.cli.admin import audit_app, crl_app, db_app, token_app
from campusca.cli.ca import ca_app
from campusca.cli.cert import cert_app
from campusca.cli.device import device_app
from campusca.cli.directory import dept_app, org_app, user_app
from campusca.cli.directory_lookup import lookup_app
from campusca.cli.escrow import escrow_app
from campusca.cli.invite import invitations_app, invite
from campusca.cli.ldap import ldap_app
from campusca.cli.mdm import mdm_app
from campusca.cli.recovery import recovery_app
from campusca.cli.renew import renew_app
from campusca.cli.scep import scep_app
from campusca.cli.serve_tls import tls_files
from campusca.cli.smime import smime_app
from campusca.errors import CampusCAError
from campusca.services import storage

app = typer.Typer(
    name="campusca",
    help="campusca: an institution's client-certificate service (CA, S/MIME, SCEP, Apple enrollment).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(org_app, name="org")
app.add_typer(dept_app, name="dept")
app.add_typer(user_app, name="user")
app.add_typer(cert_app, name="cert")
app.add_typer(ca_app, name="ca")
app.add_typer(token_app, name="token")
app.add_typer(crl_app, name="crl")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(smime_app, name="smime")
app.add_typer(escrow_app, name="escrow")
app.add_typer(recovery_app, name="recovery")
app.add_typer(lookup_app, name="directory")
app.add_typer(scep_app, name="scep")
app.command("invite")(invite)
app.add_typer(invitations_app, name="invitations")
app.add_typer(device_app, name="device")
app.add_typer(renew_app, name="renew")
app.add_typer(ldap_app, name="ldap")
app.add_typer(mdm_app, name="mdm")


@app.callback()
def root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Data directory (default: $CAMPUSCA_HOME or ./campusca-data)"
    ),
) -> None:
    state(ctx).home = home


@app.command()
def init(
    ctx: typer.Context,
    org: str | None = typer.Option(None, "--org", help="Organisation name, also used in the CA names"),
    domain: str | None = typer.Option(None, "--domain", help="The organisation's mail domain"),
    key_type: str = typer.Option(
        "rsa-3072", "--key-type", help="rsa-2048|rsa-3072|rsa-4096|ec-p256|ec-p384 (root: RSA 4096 when RSA)"
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Add Example University with departments and people to look at"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create the data directory, database, root, issuing and S/MIME CAs, SCEP RA and OCSP responders."""
    from campusca.keys import KeyType
    from campusca.services import people
    from campusca.services.demo import (
        DEMO_AGENT,
        DEMO_DOMAIN,
        DEMO_ORG,
        DEMO_PASSWORD,
        add_demo_data,
        add_demo_escrow,
    )
    from campusca.services.setup import initialise

    try:
        parsed_key_type = KeyType(key_type)
    except ValueError:
        fail(f"--key-type must be one of {', '.join(k.value for k in KeyType)}; got {key_type!r}")
    if (org is None) != (domain is None):
        fail("--org and --domain go together")
    if demo and org is None:
        org, domain = DEMO_ORG, DEMO_DOMAIN
    settings = state(ctx).settings()
    typer.echo(f"creating keys and CA certificates in {settings.home.resolve()} …", err=True)
    authority, result = initialise(
        settings, org_name=org or "campusca", key_type=parsed_key_type, actor=CLI_ACTOR
    )
    demo_people: list[str] = []
    escrow_scope: str | None = None
    if demo:
        demo_people = add_demo_data(authority)
        escrow_scope = add_demo_escrow(authority)
    elif org is not None and domain is not None:
        people.register_organisation(authority, name=org, domain=domain, actor=CLI_ACTOR)
    if as_json:
        emit_json(
            {
                "home": str(result.home.resolve()),
                "root": result.root.subject.rfc4514_string(),
                "issuing": result.issuing.subject.rfc4514_string(),
                "smime": result.smime.subject.rfc4514_string(),
                "demo_people": demo_people,
                "demo_escrow": {"scope": escrow_scope, "agent": DEMO_AGENT} if escrow_scope else None,
            }
        )
        return
    typer.echo(f"root CA:    {result.root.subject.rfc4514_string()}")
    typer.echo(f"issuing CA: {result.issuing.subject.rfc4514_string()}")
    typer.echo(f"S/MIME CA:  {result.smime.subject.rfc4514_string()}")
    typer.echo(f"SCEP RA and OCSP responder certificates issued; data in {result.home.resolve()}")
    if demo_people:
        typer.echo(f"demo people (password {DEMO_PASSWORD!r}): {', '.join(demo_people)}")
    if escrow_scope:
        typer.echo(
            f"key escrow on for {escrow_scope} (simple mode, 1 approval; recovery agent {DEMO_AGENT}): "
            "'campusca recovery request mary --reason lost-key', then 'campusca recovery approve ID --as rita'"
        )


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, max=64),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="Serve https with this PEM certificate (then its issuing CA)"
    ),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="The certificate's unencrypted PEM key"),
) -> None:
    """Run the web service: REST API, SCEP, OCSP, CRLs, directory, web and enrollment pages."""
    import uvicorn

    cli_state = state(ctx)
    authority = cli_state.authority()
    tls = tls_files(authority.settings, tls_cert, tls_key)
    storage.upgrade_database(authority)
    os.environ["CAMPUSCA_HOME"] = str(authority.settings.home.resolve())
    scheme = "https" if tls else "http"
    target = "campusca.web.app:create_app_from_environment"
    config: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_level": authority.settings.log_level,
        "proxy_headers": True,
        "server_header": False,
        "ssl_certfile": str(tls[0]) if tls else None,
        "ssl_keyfile": str(tls[1]) if tls else None,
    }
    serving = f"campusca serving on {scheme}://{host}:{port}/ (public URL {authority.settings.public_url})"
    if workers == 1:
        typer.echo(serving, err=True)
        uvicorn.run(target, **config)
        return
    from campusca.cli.serve_workers import listening_sockets, run_workers

    try:
        sockets = listening_sockets(host, port, workers)
    except OSError as error:
        raise typer.BadParameter(
            f"cannot listen on {host}:{port}: {error.strerror}", param_hint="--port"
        ) from None
    typer.echo(f"{serving}, {workers} workers", err=True)
    with _workers_import_only_the_app(workers):
        status = run_workers(uvicorn.Config(target, **config), sockets)
    if status:
        raise typer.Exit(status)


@contextmanager
def _workers_import_only_the_app(workers: int) -> Iterator[None]:
    """Spawned workers import `__main__` again, here the whole CLI with typer and click (2 MB each for
    nothing: a worker needs only the app); multiprocessing skips that when `__main__` names no module
    and no file, so it names neither while the workers are started and restarted."""
    main = sys.modules["__main__"]
    if workers == 1 or not hasattr(main, "__file__"):
        yield
        return
    spec, path = main.__spec__, main.__file__
    main.__spec__ = None
    del main.__file__
    try:
        yield
    finally:
        main.__spec__, main.__file__ = spec, path


def main() -> None:
    """Entry point: domain errors become a one-line message and exit status 1, never a traceback."""
    try:
        app()
    except CampusCAError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except storage.STORAGE_ERRORS as error:
        typer.echo(f"error: database failure ({type(error).__name__}); nothing was changed", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
