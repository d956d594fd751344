"""`/admin/escrow`: the key-escrow policy of each organisation and department, and their recovery agents.

In quorum mode the domain key is split among the agents, each share sealed with that agent's
passphrase: a change that re-makes the shares needs every agent to type theirs. The page asks for
them (one password field per agent, on the administrator's screen, as the CLI prompts at its console)
and sends the change again; the passphrases are never stored, shown back or audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from campusca.errors import CampusCAError
from campusca.services import smime
from campusca.services.errors import InvalidInput
from campusca.services.people import WebIdentity
from campusca.web.admin_pages import Staff, StaffForm, actor, done, failed, notice_of, require_admin
from campusca.web.pages import AuthorityDep, render

router = APIRouter(prefix="/admin/escrow", include_in_schema=False)
Scope = Annotated[str, Form(max_length=420)]
PASSPHRASE_FIELD = "passphrase-"
_SWITCH = {"on": True, "off": False, "inherit": None}


def _where(scope: str) -> dict[str, str]:
    """`organisation:NAME` or `department:ORG/NAME` (as the overview names scopes) as service keywords."""
    kind, _, name = scope.partition(":")
    if kind == "organisation" and name:
        return {"org_name": name}
    if kind == "department" and name:
        return {"dept_name": name}
    raise InvalidInput("scope must name an organisation or a department")


async def _passphrases(request: Request) -> dict[str, str]:
    form = await request.form()
    return {
        str(key)[len(PASSPHRASE_FIELD) :]: str(value)
        for key, value in form.multi_items()
        if str(key).startswith(PASSPHRASE_FIELD) and isinstance(value, str) and value
    }


def _ask_passphrases(
    request: Request, me: WebIdentity, action: str, fields: dict[str, str], agents: list[str], missing: bool
) -> Response:
    return render(
        request,
        "admin/escrow_passphrases.html",
        me=me,
        action=action,
        fields=fields,
        agents=agents,
        retry=missing,
    )


@router.get("", response_class=HTMLResponse)
def escrow_page(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    return render(
        request,
        "admin/escrow.html",
        me=me,
        scopes=smime.escrow_overview(authority),
        is_admin=me.has_any("admin"),
        notice=notice_of(request),
    )


@router.post("/policy", response_class=HTMLResponse)
async def set_policy(
    request: Request,
    authority: AuthorityDep,
    me: StaffForm,
    scope: Scope = "",
    enabled: Annotated[str, Form(max_length=8)] = "",
    mode: Annotated[str, Form(max_length=8)] = "simple",
    approvals: Annotated[str, Form(max_length=3)] = "1",
) -> Response:
    """On, off or (a department) inherited; asks for the agents' passphrases when the shares are re-made."""
    require_admin(me)
    given = await _passphrases(request)
    try:
        if enabled not in _SWITCH:
            raise InvalidInput("escrow must be on, off or inherit")
        turned = _SWITCH[enabled]
        count = int(approvals) if approvals.strip().isdigit() else 0
        change = {"enabled": turned, "mode": mode, "approvals": count or None, **_where(scope)}
        needed = smime.agent_passphrases_needed(authority, **change) if turned else []
        if any(agent not in given for agent in needed):
            fields = {"scope": scope, "enabled": enabled, "mode": mode, "approvals": approvals}
            return _ask_passphrases(request, me, "/admin/escrow/policy", fields, needed, bool(given))
        smime.set_escrow_policy(
            authority, **change, passphrases={a: given[a] for a in needed}, actor=actor(me)
        )
    except CampusCAError as error:
        return failed(request, error, me)
    return done("/admin/escrow", "policy-saved")


@router.post("/agents", response_class=HTMLResponse)
async def add_agent(
    request: Request,
    authority: AuthorityDep,
    me: StaffForm,
    scope: Scope = "",
    username: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Make a person a recovery agent of a scope (in quorum mode every agent, the new one too, types a passphrase)."""
    require_admin(me)
    given = await _passphrases(request)
    try:
        where = _where(scope)
        needed = smime.agent_passphrases_needed(authority, **where, new_agent=username.strip())
        if any(agent not in given for agent in needed):
            fields = {"scope": scope, "username": username}
            return _ask_passphrases(request, me, "/admin/escrow/agents", fields, needed, bool(given))
        smime.add_escrow_agent(
            authority,
            username=username.strip(),
            **where,
            passphrases={a: given[a] for a in needed},
            actor=actor(me),
        )
    except CampusCAError as error:
        return failed(request, error, me)
    return done("/admin/escrow", "agent-added")
