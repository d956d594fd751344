"""Key recovery requests: request, approve, reject, expire, list (DESIGN §5; research §1.7 state machine).

    pending ──approvals reach M──▶ approved ──release──▶ released ──close-case (legal)──▶ closed
       │                              │
       ├──reject──▶ rejected          └──(not released in time)──▶ expired
       └──(not approved in time)──▶ expired

Approvals come from distinct recovery agents of the person's escrow domain, never the requester or the
person. In quorum mode each approving agent unseals their share with their passphrase and hands it over
to the request (see `campusca.escrow.handover`): only the release code, shown once to the requester and
never stored, opens the handed-over shares. Every transition writes one audit record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from campusca.db.escrow import (
    EscrowAgent,
    KeyCustody,
    RecoveryApproval,
    RecoveryRequest,
    RecoveryRequestCertificate,
)
from campusca.db.ids import get_row
from campusca.db.models import Person
from campusca.escrow.handover import HandoverKey, create_handover_key, hand_over_share
from campusca.pki.certificates import openssl_serial
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.erasure import erase_after_commit
from campusca.services.errors import (
    Conflict,
    EscrowDisabled,
    InvalidInput,
    NotAuthorized,
    NotFound,
    PolicyViolation,
)
from campusca.services.people.registry import get_person
from campusca.services.smime.escrow_keys import QUORUM, active_key, unseal_agent_share
from campusca.services.smime.escrow_policy import AGENT_ROLE, effective_policy, find_domain

LOST_KEY = "lost-key"
LEGAL = "legal"
REASONS = (LOST_KEY, LEGAL)
PENDING, APPROVED, RELEASED, CLOSED, REJECTED, EXPIRED = (
    "pending",
    "approved",
    "released",
    "closed",
    "rejected",
    "expired",
)
STATUSES = (PENDING, APPROVED, RELEASED, CLOSED, REJECTED, EXPIRED)


@dataclass(frozen=True, slots=True)
class RecoveryView:
    id: int
    person: str
    email: str
    reason: str
    case_ref: str | None
    confidential: bool
    status: str
    mode: str
    requester: str
    approvals_required: int
    approvals: tuple[str, ...]
    certificates: tuple[str, ...]
    deferred: bool
    created_at: datetime
    expires_at: datetime
    released_at: datetime | None
    closed_at: datetime | None
    release_code: str | None = field(default=None, repr=False)  # quorum: shown once, right after the request

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "person": self.person,
            "email": self.email,
            "reason": self.reason,
            "case": self.case_ref,
            "confidential": self.confidential,
            "status": self.status,
            "mode": self.mode,
            "requester": self.requester,
            "approvals": list(self.approvals),
            "approvals_required": self.approvals_required,
            "certificates": list(self.certificates),
            "deferred": self.deferred,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }
        if self.release_code is not None:
            data["release_code"] = self.release_code
        return data


def view(request: RecoveryRequest, *, release_code: str | None = None) -> RecoveryView:
    return RecoveryView(
        id=request.id,
        person=request.person.username,
        email=request.person.email,
        reason=request.reason,
        case_ref=request.case_ref,
        confidential=request.confidential,
        status=request.status,
        mode=request.mode,
        requester=request.requester,
        approvals_required=request.approvals_required,
        approvals=tuple(a.agent.username for a in request.approvals),
        certificates=tuple(openssl_serial(int(c.certificate.serial_hex, 16)) for c in request.certificates),
        deferred=request.deferred,
        created_at=request.created_at,
        expires_at=request.expires_at,
        released_at=request.released_at,
        closed_at=request.closed_at,
        release_code=release_code,
    )


def has_role(person: Person, role: str) -> bool:
    return role in person.roles.split()


def _check_requester(requester: Person | None, subject: Person, reason: str) -> None:
    """Lost-key: the person or the help desk; legal: a legal officer. None is the trusted operator (CLI, admin)."""
    if requester is None or has_role(requester, "admin"):
        return
    if not requester.active:
        raise NotAuthorized(f"{requester.username!r} is deactivated")
    if reason == LOST_KEY and (requester.id == subject.id or has_role(requester, "helpdesk")):
        return
    if reason == LEGAL and has_role(requester, "legal-officer"):
        return
    who = "the person or the help desk" if reason == LOST_KEY else "a legal officer"
    raise NotAuthorized(f"a {reason} recovery must be requested by {who}")


def escrowed_custody(session: Session, person: Person, domain_id: int) -> list[KeyCustody]:
    """Every archived key of the person in the domain, oldest first (the decryption-key history)."""
    return list(
        session.execute(
            select(KeyCustody)
            .where(
                KeyCustody.person_id == person.id,
                KeyCustody.escrowed.is_(True),
                KeyCustody.domain_id == domain_id,
            )
            .order_by(KeyCustody.id)
        ).scalars()
    )


def request_recovery(
    authority: Authority,
    *,
    username: str,
    reason: str,
    actor: str,
    requester: str | None = None,
    case_ref: str | None = None,
    confidential: bool = False,
    serials: Sequence[int] = (),
) -> RecoveryView:
    """Open a recovery request for a person's archived encryption keys; refused where escrow is off."""
    if reason not in REASONS:
        raise InvalidInput(f"reason must be lost-key or legal; got {reason!r}")
    case_ref = (case_ref or "").strip() or None
    if reason == LEGAL and case_ref is None:
        raise InvalidInput("a legal recovery needs a case reference")
    if confidential and reason != LEGAL:
        raise InvalidInput("only a legal case can be confidential")
    if case_ref is not None and len(case_ref) > 128:
        raise InvalidInput("case reference must be at most 128 characters")
    expire_due(authority)
    with authority.db.write() as session:
        subject = get_person(session, username)
        asking = get_person(session, requester) if requester else None
        _check_requester(asking, subject, reason)
        policy = effective_policy(subject.department)
        domain = find_domain(session, policy) if policy.enabled else None
        if domain is None:
            raise EscrowDisabled(
                f"escrow is off for {policy.scope}: no copy of {subject.username}'s decryption key exists, "
                "so it cannot be recovered"
            )
        custody = escrowed_custody(session, subject, domain.id)
        if not custody:
            raise EscrowDisabled(
                f"no copy of any decryption key of {subject.username} exists in {policy.scope}: "
                "their keys were never escrowed"
            )
        chosen = _choose(custody, serials)
        key_row = active_key(domain)
        mode = key_row.mode if key_row is not None else policy.mode
        approvers = [
            a for a in domain.agents if a.person_id not in {subject.id, asking.id if asking else None}
        ]
        if len(approvers) < policy.approvals:
            raise PolicyViolation(
                f"{policy.scope} needs {policy.approvals} approvals but has only {len(approvers)} recovery "
                "agents who may approve this request"
            )
        now = authority.now()
        request = RecoveryRequest(
            person=subject,
            domain=domain,
            reason=reason,
            case_ref=case_ref,
            confidential=confidential,
            requester=actor,
            requester_person=asking,
            status=PENDING,
            approvals_required=key_row.threshold
            if mode == QUORUM and key_row and key_row.threshold
            else policy.approvals,
            mode=mode,
            deferred=False,
            created_at=now,
            expires_at=now + timedelta(hours=authority.settings.recovery_request_ttl_hours),
        )
        code = None
        if mode == QUORUM:
            handover, code = create_handover_key()
            request.handover_public_key = handover.public_key_der
            request.handover_sealed_key = handover.sealed_private_key
        session.add(request)
        session.flush()
        for item in chosen:
            session.add(RecoveryRequestCertificate(request=request, certificate_id=item.certificate_id))
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="recovery.requested",
            target=f"recovery:{request.id}",
            details={
                "person": subject.username,
                "reason": reason,
                "case": case_ref,
                "confidential": confidential,
                "certificates": [format(int(c.certificate.serial_hex, 16), "x") for c in chosen],
                "approvals_required": request.approvals_required,
                "mode": mode,
            },
            at=now,
        )
        session.refresh(request)
        return view(request, release_code=code)


def _choose(custody: list[KeyCustody], serials: Sequence[int]) -> list[KeyCustody]:
    if not serials:
        return custody
    by_serial = {int(c.certificate.serial_hex, 16): c for c in custody}
    missing = [openssl_serial(s) for s in serials if s not in by_serial]
    if missing:
        raise EscrowDisabled(f"no archived key exists for certificate(s) {', '.join(missing)} of this person")
    return [by_serial[s] for s in dict.fromkeys(serials)]


def load_request(session: Session, request_id: int) -> RecoveryRequest:
    request = get_row(session, RecoveryRequest, request_id)
    if request is None:
        raise NotFound(f"no recovery request with id {request_id}")
    return request


def approve(
    authority: Authority, *, request_id: int, agent: str, actor: str, passphrase: str | None = None
) -> RecoveryView:
    """Record one agent's approval; in quorum mode unseal their share and hand it over to the request."""
    expire_due(authority)
    with authority.db.write() as session:
        request = load_request(session, request_id)
        if request.status != PENDING:
            raise Conflict(
                f"recovery request {request_id} is {request.status}; only a pending request can be approved"
            )
        person = get_person(session, agent)
        membership = _agent_of(request, person)
        if any(a.agent_person_id == person.id for a in request.approvals):
            raise Conflict(f"{person.username!r} has already approved recovery request {request_id}")
        handed = None
        if request.mode == QUORUM:
            if not passphrase:
                raise InvalidInput("a quorum-mode approval needs the agent's share passphrase")
            key_row = active_key(request.domain)
            if key_row is None or request.handover_public_key is None:
                raise PolicyViolation("escrow domain of this request has no quorum key")
            share = unseal_agent_share(membership, key_row, passphrase)
            handed = hand_over_share(
                share,
                handover_public_key=HandoverKey(request.handover_public_key).public_key(),
                request_id=request.id,
            )
        now = authority.now()
        request.approvals.append(
            RecoveryApproval(
                agent_person_id=person.id, agent=person, handed_over_share=handed, approved_at=now
            )
        )
        count = len(request.approvals)
        if count >= request.approvals_required:
            request.status = APPROVED
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="recovery.approved",
            target=f"recovery:{request.id}",
            details={"agent": person.username, "approvals": count, "required": request.approvals_required},
            at=now,
        )
        return view(request)


def _agent_of(request: RecoveryRequest, person: Person) -> EscrowAgent:
    if person.id == request.requester_person_id:
        raise NotAuthorized("the requester of a recovery cannot approve their own request")
    if person.id == request.person_id:
        raise NotAuthorized("a person cannot approve the recovery of their own key")
    if not person.active or not has_role(person, AGENT_ROLE):
        raise NotAuthorized(f"{person.username!r} is not an active recovery agent")
    membership = next((a for a in request.domain.agents if a.person_id == person.id), None)
    if membership is None:
        raise NotAuthorized(f"{person.username!r} is not a recovery agent of {request.domain.scope}")
    return membership


def reject(
    authority: Authority, *, request_id: int, by: str | None, actor: str, note: str | None = None
) -> RecoveryView:
    """Reject (an agent of the domain) or withdraw (the requester) a request that is not yet released."""
    expire_due(authority)
    with authority.db.write() as session:
        request = load_request(session, request_id)
        if request.status not in (PENDING, APPROVED):
            raise Conflict(f"recovery request {request_id} is {request.status} and cannot be rejected")
        if by is not None:
            person = get_person(session, by)
            is_requester = person.id == request.requester_person_id
            if not is_requester:
                _agent_of(request, person)
        request.status = REJECTED
        forget_handover(request)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="recovery.rejected",
            target=f"recovery:{request.id}",
            details={"by": by, "note": (note or "")[:200] or None},
            at=authority.now(),
        )
        return view(request)


def expire_due(authority: Authority) -> int:
    """Mark pending and approved requests whose time ran out as expired (one audit record each)."""
    now = authority.now()
    with authority.db.write() as session:
        due = list(
            session.execute(
                select(RecoveryRequest).where(
                    RecoveryRequest.status.in_((PENDING, APPROVED)), RecoveryRequest.expires_at <= now
                )
            ).scalars()
        )
        for request in due:
            request.status = EXPIRED
            forget_handover(request)
            session.flush()
            audit.record(
                session,
                actor="system:recovery-expiry",
                action="recovery.expired",
                target=f"recovery:{request.id}",
                details={"approvals": len(request.approvals), "required": request.approvals_required},
                at=now,
            )
        return len(due)


def forget_handover(request: RecoveryRequest) -> None:
    """Drop a finished request's sealed handover key and handed-over shares: nothing is left to open."""
    request.handover_sealed_key = None
    for approval in request.approvals:
        approval.handed_over_share = None
    session = object_session(request)
    if session is not None:  # the sealed key and shares stay in the WAL until a checkpoint
        erase_after_commit(session)


def list_requests(
    authority: Authority, *, status: str | None = None, username: str | None = None
) -> list[RecoveryView]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    expire_due(authority)
    with authority.db.read() as session:
        query = select(RecoveryRequest).order_by(RecoveryRequest.id.desc())
        if status:
            query = query.where(RecoveryRequest.status == status)
        if username:
            query = query.where(RecoveryRequest.person_id == get_person(session, username).id)
        return [view(r) for r in session.execute(query).scalars()]


def get_request(authority: Authority, request_id: int) -> RecoveryView:
    expire_due(authority)
    with authority.db.read() as session:
        return view(load_request(session, request_id))
