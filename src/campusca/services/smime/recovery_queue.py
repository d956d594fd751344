"""Who may act on which recovery request: the queue of `/agent/recovery` and the person's `/my/recovery`.

The rules are those `approve`, `reject`, `release_*` and `close_case` enforce (they check again when
called): agents approve requests of their own escrow domain, never their own request nor the recovery of
their own key, once each; the requester (or, for a lost key, the person) releases once; a released legal
case is closed by its requester. A confidential legal case is never shown to the person it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from campusca.db.escrow import RecoveryRequest
from campusca.db.models import Person
from campusca.services.authority import Authority
from campusca.services.people.registry import get_person
from campusca.services.smime.escrow_policy import AGENT_ROLE
from campusca.services.smime.recovery import (
    APPROVED,
    LEGAL,
    LOST_KEY,
    PENDING,
    RELEASED,
    RecoveryView,
    expire_due,
    has_role,
    view,
)

OPEN = (PENDING, APPROVED, RELEASED)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One request and what the person looking at it may do with it."""

    request: RecoveryView
    scope: str  # the escrow domain: organisation:NAME or department:ORG/NAME
    may_approve: bool
    may_reject: bool
    may_release: bool
    may_close: bool
    approved_by_me: bool


def _is_agent_for(person: Person, request: RecoveryRequest) -> bool:
    if person.id in (request.person_id, request.requester_person_id):
        return False
    if not person.active or not has_role(person, AGENT_ROLE):
        return False
    return any(a.person_id == person.id for a in request.domain.agents)


def _item(person: Person, request: RecoveryRequest) -> QueueItem:
    agent = _is_agent_for(person, request)
    requester = person.id == request.requester_person_id
    approved = any(a.agent_person_id == person.id for a in request.approvals)
    releaser = requester or (request.reason == LOST_KEY and person.id == request.person_id)
    return QueueItem(
        request=view(request),
        scope=request.domain.scope,
        may_approve=agent and not approved and request.status == PENDING,
        may_reject=(agent or requester) and request.status in (PENDING, APPROVED),
        may_release=releaser and request.status == APPROVED,
        may_close=requester and request.reason == LEGAL and request.status == RELEASED,
        approved_by_me=approved,
    )


def recovery_queue(authority: Authority, username: str) -> tuple[QueueItem, ...]:
    """Open requests the person may act on as an agent or requester, or approved and still open, newest first."""
    expire_due(authority)
    with authority.db.read() as session:
        person = get_person(session, username)
        rows = session.execute(
            select(RecoveryRequest)
            .where(RecoveryRequest.status.in_(OPEN), RecoveryRequest.person_id != person.id)
            .order_by(RecoveryRequest.id.desc())
        ).scalars()
        # A released lost-key request is done; a released legal case waits for its requester to close it.
        items = (_item(person, row) for row in rows if row.status != RELEASED or row.reason == LEGAL)
        return tuple(
            i
            for i in items
            if i.may_approve or i.may_reject or i.may_release or i.may_close or i.approved_by_me
        )


def own_recoveries(authority: Authority, username: str) -> tuple[QueueItem, ...]:
    """The person's lost-key recoveries (whoever asked), newest first; legal cases are not shown to them."""
    expire_due(authority)
    with authority.db.read() as session:
        person = get_person(session, username)
        rows = session.execute(
            select(RecoveryRequest)
            .where(RecoveryRequest.person_id == person.id, RecoveryRequest.reason == LOST_KEY)
            .order_by(RecoveryRequest.id.desc())
        ).scalars()
        return tuple(_item(person, row) for row in rows)
