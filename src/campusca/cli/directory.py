"""`campusca org|dept|user …`: the organisations, departments and people."""

from __future__ import annotations

import getpass

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, reading, table, writing
from campusca.services.people import registry

org_app = typer.Typer(help="Organisations (an institution, with its mail domain).", no_args_is_help=True)
dept_app = typer.Typer(help="Departments of an organisation.", no_args_is_help=True)
user_app = typer.Typer(help="People: who certificates are issued to.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@org_app.command("add")
def org_add(
    ctx: typer.Context,
    name: str,
    domain: str = typer.Option(..., help="Mail domain, e.g. example.edu"),
    as_json: bool = JSON,
) -> None:
    """Add an organisation."""
    with writing(ctx) as (authority, session):
        org = registry.add_organisation(authority, session, name=name, domain=domain, actor=CLI_ACTOR)
        out = registry.org_json(org)
    emit_json(out) if as_json else typer.echo(f"added organisation {name} ({domain})")


@org_app.command("list")
def org_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List organisations."""
    from sqlalchemy import select

    from campusca.db.models import Organisation

    with reading(ctx) as (_, session):
        rows = [
            registry.org_json(o)
            for o in session.execute(select(Organisation).order_by(Organisation.name)).scalars()
        ]
    if as_json:
        emit_json(rows)
    else:
        table(
            "Organisations",
            ["name", "domain", "departments"],
            [[r["name"], r["domain"], ", ".join(r["departments"])] for r in rows],
        )  # type: ignore[arg-type]


@org_app.command("show")
def org_show(ctx: typer.Context, name: str, as_json: bool = JSON) -> None:
    """Show one organisation."""
    with reading(ctx) as (_, session):
        out = registry.org_json(registry.get_organisation(session, name))
    emit_json(out) if as_json else table(None, ["field", "value"], [[k, v] for k, v in out.items()])


@dept_app.command("add")
def dept_add(
    ctx: typer.Context,
    name: str,
    org: str = typer.Option(..., "--org", help="Organisation name"),
    as_json: bool = JSON,
) -> None:
    """Add a department to an organisation."""
    with writing(ctx) as (authority, session):
        out = registry.dept_json(
            registry.add_department(authority, session, name=name, org_name=org, actor=CLI_ACTOR)
        )
    emit_json(out) if as_json else typer.echo(f"added department {name} to {org}")


@dept_app.command("list")
def dept_list(
    ctx: typer.Context, org: str | None = typer.Option(None, "--org"), as_json: bool = JSON
) -> None:
    """List departments."""
    from sqlalchemy import select

    from campusca.db.models import Department, Organisation

    with reading(ctx) as (_, session):
        query = select(Department).join(Organisation).order_by(Organisation.name, Department.name)
        if org:
            query = query.where(Organisation.name == org)
        rows = [registry.dept_json(d) for d in session.execute(query).scalars()]
    emit_json(rows) if as_json else table(
        "Departments",
        ["name", "organisation", "people"],
        [[r["name"], r["organisation"], r["people"]] for r in rows],
    )


@dept_app.command("show")
def dept_show(ctx: typer.Context, name: str, as_json: bool = JSON) -> None:
    """Show one department (NAME or ORG/NAME)."""
    with reading(ctx) as (_, session):
        out = registry.dept_json(registry.get_department(session, name))
    emit_json(out) if as_json else table(None, ["field", "value"], [[k, v] for k, v in out.items()])


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    username: str,
    email: str = typer.Option(..., "--email"),
    dept: str = typer.Option(..., "--dept", help="Department name (or ORG/NAME)"),
    phone: str | None = typer.Option(None, "--phone", help="E.164, e.g. +15551234567 (for SMS invitations)"),
    name: str | None = typer.Option(None, "--name", help="Display name"),
    role: list[str] = typer.Option(
        [], "--role", help="admin, ra-officer, auditor, recovery-agent, legal-officer, helpdesk"
    ),
    as_json: bool = JSON,
) -> None:
    """Add a person."""
    with writing(ctx) as (authority, session):
        person = registry.add_person(
            authority,
            session,
            username=username,
            email=email,
            dept_name=dept,
            name=name,
            phone=phone,
            roles=tuple(role),
            actor=CLI_ACTOR,
        )
        out = registry.person_view(person).to_json()
    emit_json(out) if as_json else typer.echo(f"added {out['username']} <{email}> to {dept}")


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    username: str,
    password: str | None = typer.Option(
        None, "--password", help="Prompted for when absent (safer: not in shell history)"
    ),
) -> None:
    """Set a person's local password (argon2id)."""
    if password is None:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat: ") != password:
            fail("passwords do not match")
    with writing(ctx) as (authority, session):
        registry.set_password(authority, session, username, password or "", actor=CLI_ACTOR)
    typer.echo(f"password set for {username}")


@user_app.command("set")
def user_set(
    ctx: typer.Context,
    username: str,
    email: str | None = typer.Option(None, "--email"),
    name: str | None = typer.Option(None, "--name"),
    phone: str | None = typer.Option(None, "--phone"),
    role: list[str] | None = typer.Option(None, "--role", help="Replaces the roles; repeat for several"),
    active: bool | None = typer.Option(None, "--active/--inactive"),
    as_json: bool = JSON,
) -> None:
    """Change a person's details or roles, or (de)activate them."""
    with writing(ctx) as (authority, session):
        person = registry.update_person(
            authority,
            session,
            username,
            actor=CLI_ACTOR,
            email=email,
            name=name,
            phone=phone,
            roles=tuple(role) if role else None,
            active=active,
        )
        out = registry.person_view(person).to_json()
    emit_json(out) if as_json else typer.echo(f"updated {username}")


@user_app.command("list")
def user_list(
    ctx: typer.Context, dept: str | None = typer.Option(None, "--dept"), as_json: bool = JSON
) -> None:
    """List people."""
    with reading(ctx) as (_, session):
        rows = [
            registry.person_view(p).to_json() for p in registry.list_people(session, dept=dept, limit=10_000)
        ]
    if as_json:
        emit_json(rows)
    else:
        table(
            "People",
            ["username", "name", "email", "department", "roles"],
            [[r["username"], r["name"], r["email"], r["department"], " ".join(r["roles"])] for r in rows],
        )  # type: ignore[arg-type]


@user_app.command("show")
def user_show(ctx: typer.Context, username: str, as_json: bool = JSON) -> None:
    """Show one person."""
    with reading(ctx) as (_, session):
        out = registry.person_view(registry.get_person(session, username)).to_json()
    emit_json(out) if as_json else table(None, ["field", "value"], [[k, v] for k, v in out.items()])
