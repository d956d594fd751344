"""Escrow policy per organisation and department, escrow domains and their recovery agents (DESIGN §5).

A department inherits its organisation's policy while its own escrow columns are NULL; a department
that sets a policy gets its own escrow domain (key and agents). The domain key is created when escrow is
turned on; changing the mode creates a new key generation, re-wraps every archive record to it and
destroys the old generation, so no record stays under a key the new mode does not protect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campusca.db.escrow import EscrowAgent, EscrowDomain, KeyCustody
from campusca.db.models import Department, Organisation
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from campusca.services.people.registry import get_department, get_organisation, get_person
from campusca.services.smime.escrow_keys import (
    MODES,
    QUORUM,
    SIMPLE,
    active_key,
    combine_with_passphrases,
    create_domain_key,
    destroy_retired_generation,
    domain_decrypter,
    rewrap_records,
    split_into_shares,
)

AGENT_ROLE = "recovery-agent"
MAX_APPROVALS = 255


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The escrow policy that applies to a department's people, and where it comes from."""

    enabled: bool
    mode: str
    approvals: int
    scope: str  # "organisation:NAME" or "department:ORG/NAME"
    organisation_id: int
    department_id: int | None  # the department when it sets its own policy

    @property
    def inherited(self) -> bool:
        return self.department_id is None


@dataclass(frozen=True, slots=True)
class EscrowKeyView:
    """The active key generation of an escrow domain (its public half's fingerprint, never the key)."""

    mode: str
    public_key_sha256: str
    threshold: int | None
    created_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "public_key_sha256": self.public_key_sha256,
            "threshold": self.threshold,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class EscrowScopeView:
    """What `escrow show` prints for one organisation or department."""

    scope: str
    own_policy: bool
    enabled: bool
    mode: str
    approvals: int
    inherits_from: str | None
    agents: tuple[str, ...]
    key: EscrowKeyView | None
    archived_keys: int

    def to_json(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "own_policy": self.own_policy,
            "enabled": self.enabled,
            "mode": self.mode,
            "approvals": self.approvals,
            "inherits_from": self.inherits_from,
            "agents": list(self.agents),
            "key": self.key.to_json() if self.key else None,
            "archived_keys": self.archived_keys,
        }


def effective_policy(department: Department) -> EffectivePolicy:
    """The department's own policy when it sets one, else its organisation's (escrow off when neither does)."""
    org = department.organisation
    if department.escrow_enabled is not None:
        return EffectivePolicy(
            enabled=department.escrow_enabled,
            mode=department.escrow_mode or org.escrow_mode or SIMPLE,
            approvals=department.escrow_approvals or org.escrow_approvals or 1,
            scope=_scope_name(department),
            organisation_id=org.id,
            department_id=department.id,
        )
    return EffectivePolicy(
        enabled=bool(org.escrow_enabled),
        mode=org.escrow_mode or SIMPLE,
        approvals=org.escrow_approvals or 1,
        scope=_scope_name(org),
        organisation_id=org.id,
        department_id=None,
    )


def find_domain(session: Session, policy: EffectivePolicy) -> EscrowDomain | None:
    if policy.department_id is not None:
        query = select(EscrowDomain).where(EscrowDomain.department_id == policy.department_id)
    else:
        query = select(EscrowDomain).where(EscrowDomain.organisation_id == policy.organisation_id)
    return session.execute(query).scalar()


def _scope(session: Session, org_name: str | None, dept_name: str | None) -> Organisation | Department:
    if (org_name is None) == (dept_name is None):
        raise InvalidInput("give exactly one of an organisation or a department")
    if org_name is not None:
        return get_organisation(session, org_name)
    return get_department(session, dept_name or "")


def _domain_for(session: Session, scope: Organisation | Department, *, create: bool) -> EscrowDomain | None:
    column = EscrowDomain.department_id if isinstance(scope, Department) else EscrowDomain.organisation_id
    domain = session.execute(select(EscrowDomain).where(column == scope.id)).scalar()
    if domain is None and create:
        if isinstance(scope, Department):
            domain = EscrowDomain(department=scope)
        else:
            domain = EscrowDomain(organisation=scope)
        session.add(domain)
        session.flush()
    return domain


def set_policy(
    authority: Authority,
    session: Session,
    *,
    org_name: str | None = None,
    dept_name: str | None = None,
    enabled: bool | None,
    mode: str | None = None,
    approvals: int | None = None,
    passphrases: Mapping[str, str] | None = None,
    actor: str,
) -> Organisation | Department:
    """Set (or, for a department with `enabled=None`, clear) an escrow policy, in the caller's transaction.

    Returns the organisation or department it changed (`escrow_scope_view` describes it). Quorum mode
    needs the passphrase of every agent of the domain whenever shares are (re)made: when escrow turns on
    in quorum mode, when the approvals change, and when leaving or entering quorum mode.
    """
    scope = _scope(session, org_name, dept_name)
    passphrases = dict(passphrases or {})
    if mode is not None and mode not in MODES:
        raise InvalidInput(f"mode must be simple or quorum; got {mode!r}")
    if approvals is not None and not 1 <= approvals <= MAX_APPROVALS:
        raise InvalidInput(f"approvals must be between 1 and {MAX_APPROVALS}; got {approvals}")
    if enabled is None:
        if not isinstance(scope, Department):
            raise InvalidInput(
                "only a department can inherit its policy; an organisation's escrow is on or off"
            )
        scope.escrow_enabled = scope.escrow_mode = scope.escrow_approvals = None
    else:
        scope.escrow_enabled = enabled
        scope.escrow_mode, scope.escrow_approvals = _target(scope, mode, approvals)
    session.flush()
    domain = _domain_for(session, scope, create=bool(enabled))
    if enabled and domain is not None:
        _ensure_key(
            authority,
            session,
            domain,
            scope.escrow_mode or SIMPLE,
            scope.escrow_approvals or 1,
            passphrases,
            actor,
        )
    audit.record(
        session,
        actor=actor,
        action="escrow.policy_set",
        target=f"escrow:{_scope_name(scope)}",
        details={
            "enabled": scope.escrow_enabled,
            "mode": scope.escrow_mode,
            "approvals": scope.escrow_approvals,
        },
        at=authority.now(),
    )
    return scope


def _target(scope: Organisation | Department, mode: str | None, approvals: int | None) -> tuple[str, int]:
    """The mode and approvals a policy change leads to: given, else kept, else inherited, else simple/1."""
    inherited = scope.organisation if isinstance(scope, Department) else None
    new_mode = mode or scope.escrow_mode or (inherited.escrow_mode if inherited else None) or SIMPLE
    new_approvals = (
        approvals or scope.escrow_approvals or (inherited.escrow_approvals if inherited else None) or 1
    )
    return new_mode, new_approvals


def passphrases_needed(
    session: Session,
    *,
    org_name: str | None = None,
    dept_name: str | None = None,
    enabled: bool | None = True,
    mode: str | None = None,
    approvals: int | None = None,
    new_agent: str | None = None,
) -> list[str]:
    """The agents whose passphrases a policy change (or adding `new_agent`) will need, so a CLI can prompt."""
    scope = _scope(session, org_name, dept_name)
    domain = _domain_for(session, scope, create=False)
    agents = [a.person.username for a in domain.agents] if domain is not None else []
    current = active_key(domain) if domain is not None else None
    if new_agent is not None:
        return [*agents, new_agent] if current is not None and current.mode == QUORUM else []
    if not enabled:
        return []
    target_mode, target_approvals = _target(scope, mode, approvals)
    if current is None:
        return agents if target_mode == QUORUM else []
    unchanged_quorum = (
        current.mode == QUORUM and target_mode == QUORUM and current.threshold == target_approvals
    )
    if unchanged_quorum or (current.mode == SIMPLE and target_mode == SIMPLE):
        return []
    return agents


def _ensure_key(
    authority: Authority,
    session: Session,
    domain: EscrowDomain,
    mode: str,
    approvals: int,
    passphrases: Mapping[str, str],
    actor: str,
) -> None:
    current = active_key(domain)
    if current is None:
        create_domain_key(
            authority, session, domain, mode=mode, threshold=approvals, passphrases=passphrases, actor=actor
        )
        return
    if current.mode == SIMPLE and mode == SIMPLE:
        return
    if current.mode == QUORUM and mode == QUORUM:
        if current.threshold != approvals:
            der = combine_with_passphrases(domain, current, passphrases)
            split_into_shares(session, domain, current, der, approvals, passphrases)
            _audit_split(authority, session, domain, approvals, actor)
        return
    # A mode change: a new key generation, every record re-wrapped to it, then the old one destroyed
    # (a copy of the data directory taken afterwards must not open a record without the new mode's
    # protection: issue 9).
    quorum_der = combine_with_passphrases(domain, current, passphrases) if current.mode == QUORUM else None
    old_decrypter = domain_decrypter(authority, current, quorum_key_der=quorum_der)
    current.active, current.retired_at = False, authority.now()
    session.flush()
    new = create_domain_key(
        authority, session, domain, mode=mode, threshold=approvals, passphrases=passphrases, actor=actor
    )
    count = rewrap_records(authority, session, current, old_decrypter, new)
    audit.record(
        session,
        actor=actor,
        action="escrow.records_rewrapped",
        target=f"escrow:{domain.scope}",
        details={
            "records": count,
            "from": current.public_key_sha256,
            "to": new.public_key_sha256,
            "mode": mode,
        },
        at=authority.now(),
    )
    destroy_retired_generation(authority, session, domain, current, actor=actor)


def _audit_split(
    authority: Authority, session: Session, domain: EscrowDomain, threshold: int, actor: str
) -> None:
    audit.record(
        session,
        actor=actor,
        action="escrow.quorum_split",
        target=f"escrow:{domain.scope}",
        details={"threshold": threshold, "agents": [a.person.username for a in domain.agents]},
        at=authority.now(),
    )


def add_agent(
    authority: Authority,
    session: Session,
    *,
    username: str,
    org_name: str | None = None,
    dept_name: str | None = None,
    passphrases: Mapping[str, str] | None = None,
    actor: str,
) -> Organisation | Department:
    """Make a person with the recovery-agent role an agent of the org's or department's escrow domain.

    Returns the organisation or department of the domain, in the caller's transaction. In quorum mode the
    key is re-split over all agents, so every agent's passphrase (the new agent's too) must be given; the
    other shares change, the domain key does not.
    """
    scope = _scope(session, org_name, dept_name)
    person = get_person(session, username)
    if AGENT_ROLE not in person.roles.split() or not person.active:
        raise PolicyViolation(
            f"{person.username!r} is not an active recovery agent; give them the {AGENT_ROLE} role first"
        )
    domain = _domain_for(session, scope, create=True)
    if domain is None:  # pragma: no cover - create=True always returns a domain
        raise NotFound("escrow domain")
    if any(a.person_id == person.id for a in domain.agents):
        raise Conflict(f"{person.username!r} is already a recovery agent of {domain.scope}")
    passphrases = dict(passphrases or {})
    current = active_key(domain)
    quorum_der = None
    if current is not None and current.mode == QUORUM:
        quorum_der = combine_with_passphrases(
            domain, current, {k: v for k, v in passphrases.items() if k != person.username}
        )
    domain.agents.append(EscrowAgent(person=person, added_at=authority.now()))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="escrow.agent_added",
        target=f"escrow:{domain.scope}",
        details={"agent": person.username},
        at=authority.now(),
    )
    if current is not None and quorum_der is not None:
        split_into_shares(session, domain, current, quorum_der, current.threshold or 1, passphrases)
        _audit_split(authority, session, domain, current.threshold or 1, actor)
    return scope


def _scope_name(scope: Organisation | Department) -> str:
    if isinstance(scope, Department):
        return f"department:{scope.organisation.name}/{scope.name}"
    return f"organisation:{scope.name}"


def escrow_scope_view(session: Session, scope: Organisation | Department) -> EscrowScopeView:
    """One organisation's or department's policy, domain key and agents, as a frozen view."""
    domain = _domain_for(session, scope, create=False)
    policy = effective_policy(scope) if isinstance(scope, Department) else None
    agents: tuple[str, ...] = ()
    key_view: EscrowKeyView | None = None
    archived = 0
    if domain is not None:
        key = active_key(domain)
        agents = tuple(a.person.username for a in domain.agents)
        archived = int(
            session.execute(
                select(func.count(KeyCustody.id)).where(KeyCustody.domain_id == domain.id)
            ).scalar_one()
        )
        if key is not None:
            key_view = EscrowKeyView(key.mode, key.public_key_sha256, key.threshold, key.created_at)
    return EscrowScopeView(
        scope=_scope_name(scope),
        own_policy=scope.escrow_enabled is not None,
        enabled=policy.enabled if policy else bool(scope.escrow_enabled),
        mode=policy.mode if policy else (scope.escrow_mode or SIMPLE),
        approvals=policy.approvals if policy else (scope.escrow_approvals or 1),
        inherits_from=policy.scope if policy and policy.inherited else None,
        agents=agents,
        key=key_view,
        archived_keys=archived,
    )


def scope_views(session: Session) -> list[EscrowScopeView]:
    """Every organisation, each followed by its departments, by name."""
    views: list[EscrowScopeView] = []
    for org in session.execute(select(Organisation).order_by(Organisation.name)).scalars():
        views.append(escrow_scope_view(session, org))
        for dept in sorted(org.departments, key=lambda d: d.name):
            views.append(escrow_scope_view(session, dept))
    return views
