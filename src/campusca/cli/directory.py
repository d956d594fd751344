"""`campusca org|dept|user …`: the organisations, departments and people."""

from __future__ import annotations

import getpass

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.services import people

org_app = typer.Typer(help="Organisations (an institution, with its mail domain).", no_args_is_help=True)
dept_app = typer.Typer(help="Departments of an organisation.", no_args_is_help=True)
user_app = typer.Typer(help="People: who certificates are issued to.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _show(out: dict[str, object], as_json: bool) -> None:
    emit_json(out) if as_json else table(None, ["field", "value"], [[k, v] for k, v in out.items()])


@org_app.command("add")
def org_add(
    ctx: typer.Context,
    name: str,
    domain: str = typer.Option(..., help="Mail domain, e.g. example.edu"),
    as_json: bool = JSON,
) -> None:
    """Add an organisation."""
    org = people.register_organisation(state(ctx).authority(), name=name, domain=domain, actor=CLI_ACTOR)
    emit_json(org.to_json()) if as_json else typer.echo(f"added organisation {name} ({domain})")


@org_app.command("list")
def org_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List organisations."""
    orgs = people.list_organisations(state(ctx).authority())
    if as_json:
        emit_json([org.to_json() for org in orgs])
    else:
        table(
            "Organisations",
            ["name", "domain", "departments"],
            [[org.name, org.domain, ", ".join(org.departments)] for org in orgs],
        )


@org_app.command("show")
def org_show(ctx: typer.Context, name: str, as_json: bool = JSON) -> None:
    """Show one organisation."""
    _show(people.view_organisation(state(ctx).authority(), name).to_json(), as_json)


@dept_app.command("add")
def dept_add(
    ctx: typer.Context,
    name: str,
    org: str = typer.Option(..., "--org", help="Organisation name"),
    as_json: bool = JSON,
) -> None:
    """Add a department to an organisation."""
    dept = people.register_department(state(ctx).authority(), name=name, organisation=org, actor=CLI_ACTOR)
    emit_json(dept.to_json()) if as_json else typer.echo(f"added department {name} to {org}")


@dept_app.command("list")
def dept_list(
    ctx: typer.Context, org: str | None = typer.Option(None, "--org"), as_json: bool = JSON
) -> None:
    """List departments."""
    depts = people.list_departments(state(ctx).authority(), organisation=org)
    emit_json([dept.to_json() for dept in depts]) if as_json else table(
        "Departments",
        ["name", "organisation", "people"],
        [[dept.name, dept.organisation, dept.people] for dept in depts],
    )


@dept_app.command("show")
def dept_show(ctx: typer.Context, name: str, as_json: bool = JSON) -> None:
    """Show one department (NAME or ORG/NAME)."""
    _show(people.view_department(state(ctx).authority(), name).to_json(), as_json)


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
    person = people.register_person(
        state(ctx).authority(),
        username=username,
        email=email,
        department=dept,
        name=name,
        phone=phone,
        roles=tuple(role),
        actor=CLI_ACTOR,
    )
    emit_json(person.to_json()) if as_json else typer.echo(f"added {person.username} <{email}> to {dept}")


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
    people.change_password(state(ctx).authority(), username, password or "", actor=CLI_ACTOR)
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
    person = people.change_person(
        state(ctx).authority(),
        username,
        actor=CLI_ACTOR,
        email=email,
        name=name,
        phone=phone,
        roles=tuple(role) if role else None,
        active=active,
    )
    emit_json(person.to_json()) if as_json else typer.echo(f"updated {username}")


@user_app.command("list")
def user_list(
    ctx: typer.Context, dept: str | None = typer.Option(None, "--dept"), as_json: bool = JSON
) -> None:
    """List people."""
    views, _ = people.list_people(state(ctx).authority(), department=dept, limit=10_000)
    if as_json:
        emit_json([person.to_json() for person in views])
    else:
        table(
            "People",
            ["username", "name", "email", "department", "roles"],
            [[p.username, p.name, p.email, p.department, " ".join(p.roles)] for p in views],
        )


@user_app.command("show")
def user_show(ctx: typer.Context, username: str, as_json: bool = JSON) -> None:
    """Show one person."""
    _show(people.view_person(state(ctx).authority(), username).to_json(), as_json)
