"""`campusca escrow …`: escrow policy per organisation/department, recovery agents, and what is in place."""

from __future__ import annotations

import typer

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state, table
from campusca.services import smime

escrow_app = typer.Typer(
    help="Key escrow: policy per organisation or department, recovery agents, domain keys.",
    no_args_is_help=True,
)
agent_app = typer.Typer(help="Recovery agents of an escrow domain.", no_args_is_help=True)
escrow_app.add_typer(agent_app, name="agent")

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
ORG = typer.Option(None, "--org", help="Organisation name")
DEPT = typer.Option(None, "--dept", help="Department name (or ORG/NAME)")
AGENT_PASSPHRASES = typer.Option(
    None,
    "--agent-passphrase",
    help="NAME=PASSPHRASE of a recovery agent (repeat); missing ones are prompted when quorum mode needs them",
)


def parse_passphrases(values: list[str] | None) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for value in values or []:
        name, sep, secret = value.partition("=")
        if not sep or not name or not secret:
            fail("--agent-passphrase must look like NAME=PASSPHRASE")
        parsed[name.strip().lower()] = secret
    return parsed


def check_scope(org: str | None, dept: str | None) -> None:
    """The command line's own words for the scope rules the service states without flags."""
    if (org is None) == (dept is None):
        fail("give exactly one of --org or --dept")


def prompt_missing(needed: list[str], given: dict[str, str]) -> dict[str, str]:
    """Ask for each needed agent passphrase that was not given (hidden; read from stdin when not a terminal)."""
    for name in needed:
        if not given.get(name):
            given[name] = typer.prompt(f"passphrase of recovery agent {name}", hide_input=True)
    return given


@escrow_app.command("policy")
def policy(
    ctx: typer.Context,
    org: str | None = ORG,
    dept: str | None = DEPT,
    enabled: bool | None = typer.Option(
        None, "--enabled/--disabled", help="Turn escrow on or off (required unless --inherit)"
    ),
    inherit: bool = typer.Option(
        False, "--inherit", help="Department only: drop its own policy, use the org's"
    ),
    mode: str | None = typer.Option(
        None, "--mode", help="simple (key in the key backend) or quorum (Shamir M-of-N among agents)"
    ),
    approvals: int | None = typer.Option(
        None, "--approvals", min=1, max=255, help="Approvals a recovery needs (quorum: M of M-of-N)"
    ),
    agent_passphrase: list[str] | None = AGENT_PASSPHRASES,
    as_json: bool = JSON,
) -> None:
    """Set the escrow policy of an organisation or a department (departments inherit until they set one).

    Quorum mode splits the domain key among the domain's recovery agents: add the agents first, then
    switch; every agent's passphrase is needed whenever the shares are made again.
    """
    if inherit == (enabled is not None):
        fail("give --enabled or --disabled, or --inherit for a department")
    check_scope(org, dept)
    if inherit and org is not None:
        fail("only a department can inherit its policy; give --enabled or --disabled")
    given = parse_passphrases(agent_passphrase)
    authority = state(ctx).authority()
    needed = smime.agent_passphrases_needed(
        authority, org_name=org, dept_name=dept, enabled=enabled, mode=mode, approvals=approvals
    )
    prompt_missing(needed, given)
    view = smime.set_escrow_policy(
        authority,
        org_name=org,
        dept_name=dept,
        enabled=None if inherit else enabled,
        mode=mode,
        approvals=approvals,
        passphrases=given,
        actor=CLI_ACTOR,
    )
    if as_json:
        emit_json(view.to_json())
        return
    on_off = "on" if view.enabled else "off"
    typer.echo(f"escrow for {view.scope}: {on_off}, {view.mode} mode, {view.approvals} approval(s)")


@agent_app.command("add")
def agent_add(
    ctx: typer.Context,
    username: str,
    org: str | None = ORG,
    dept: str | None = DEPT,
    passphrase: str | None = typer.Option(
        None, "--passphrase", help="The new agent's share passphrase (quorum mode; prompted when absent)"
    ),
    agent_passphrase: list[str] | None = AGENT_PASSPHRASES,
    as_json: bool = JSON,
) -> None:
    """Make a person with the recovery-agent role an agent of an escrow domain (quorum: shares are re-made)."""
    check_scope(org, dept)
    given = parse_passphrases(agent_passphrase)
    name = username.strip().lower()
    if passphrase:
        given[name] = passphrase
    authority = state(ctx).authority()
    needed = smime.agent_passphrases_needed(authority, org_name=org, dept_name=dept, new_agent=name)
    prompt_missing(needed, given)
    view = smime.add_escrow_agent(
        authority, username=name, org_name=org, dept_name=dept, passphrases=given, actor=CLI_ACTOR
    )
    if as_json:
        emit_json(view.to_json())
    else:
        typer.echo(f"{name} is a recovery agent of {view.scope} (agents: {', '.join(view.agents)})")


@escrow_app.command("show")
def show(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Show every organisation's and department's escrow policy, domain key and agents."""
    views = smime.escrow_overview(state(ctx).authority())
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    rows = []
    for v in views:
        key = v.key
        rows.append(
            [
                v.scope,
                ("on" if v.enabled else "off") + ("" if v.own_policy else " (inherited)"),
                v.mode if v.enabled else "",
                v.approvals if v.enabled else "",
                ", ".join(v.agents),
                f"{key.mode} {key.public_key_sha256[:16]}…" if key is not None else "",
                v.archived_keys,
            ]
        )
    table(
        "Key escrow", ["scope", "escrow", "mode", "approvals", "agents", "domain key", "archived keys"], rows
    )
