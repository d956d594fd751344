"""Escrow policy and recovery agents for adapters: each function owns its transaction and returns frozen views."""

from __future__ import annotations

from collections.abc import Mapping

from campusca.services.authority import Authority
from campusca.services.smime.escrow_policy import (
    EscrowScopeView,
    add_agent,
    escrow_scope_view,
    passphrases_needed,
    scope_views,
    set_policy,
)


def escrow_overview(authority: Authority) -> list[EscrowScopeView]:
    """Every organisation's and department's escrow policy, domain key and agents."""
    with authority.db.read() as session:
        return scope_views(session)


def set_escrow_policy(
    authority: Authority,
    *,
    org_name: str | None = None,
    dept_name: str | None = None,
    enabled: bool | None,
    mode: str | None = None,
    approvals: int | None = None,
    passphrases: Mapping[str, str] | None = None,
    actor: str,
) -> EscrowScopeView:
    """`set_policy` in a transaction of its own, committed (key made, records re-wrapped) when it returns."""
    with authority.db.write() as session:
        scope = set_policy(
            authority,
            session,
            org_name=org_name,
            dept_name=dept_name,
            enabled=enabled,
            mode=mode,
            approvals=approvals,
            passphrases=passphrases,
            actor=actor,
        )
        return escrow_scope_view(session, scope)


def add_escrow_agent(
    authority: Authority,
    *,
    username: str,
    org_name: str | None = None,
    dept_name: str | None = None,
    passphrases: Mapping[str, str] | None = None,
    actor: str,
) -> EscrowScopeView:
    """`add_agent` in a transaction of its own, committed (shares re-made in quorum mode) when it returns."""
    with authority.db.write() as session:
        scope = add_agent(
            authority,
            session,
            username=username,
            org_name=org_name,
            dept_name=dept_name,
            passphrases=passphrases,
            actor=actor,
        )
        return escrow_scope_view(session, scope)


def agent_passphrases_needed(
    authority: Authority,
    *,
    org_name: str | None = None,
    dept_name: str | None = None,
    enabled: bool | None = True,
    mode: str | None = None,
    approvals: int | None = None,
    new_agent: str | None = None,
) -> list[str]:
    """`passphrases_needed` in a read transaction of its own, so a CLI can prompt before the change."""
    with authority.db.read() as session:
        return passphrases_needed(
            session,
            org_name=org_name,
            dept_name=dept_name,
            enabled=enabled,
            mode=mode,
            approvals=approvals,
            new_agent=new_agent,
        )
