"""Reading the audit trail for people: browse and filter it, and verify its chain a slice at a time.

Verifying recomputes every record's hash; with millions of records that takes longer than a page
should. `verify_slice` checks a bounded run of records and says where to continue, so a page can show
progress between slices. A slice starting after record N checks its first record against record N's
stored hash, which the previous slice verified: slice by slice is as strong as one pass. The result
of a finished run is itself audited (`audit.verified`), which is where the dashboard reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.models import AuditRecord, Counter
from campusca.services import audit
from campusca.services.audit import GENESIS_HASH, AuditEntry, record_hash
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput
from campusca.services.listing import check_page, escape_like, read_page

MAX_SLICE = 100_000  # records per verification step at most (`audit_verify_slice`, default 20,000)
VERIFIED = "audit.verified"


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: tuple[AuditEntry, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class VerificationStep:
    """Where a verification run stands: records checked so far, of how many, and the first problem."""

    checked: int  # the last sequence number verified
    total: int  # the number of records when this step ran
    done: bool
    ok: bool
    problem: str | None


@dataclass(frozen=True, slots=True)
class VerificationView:
    """The last finished verification, as recorded in the trail."""

    at: datetime
    actor: str
    ok: bool
    records: int
    problem: str | None


def _like(text: str) -> str:
    return f"%{escape_like(text)}%"


def search_records(
    authority: Authority,
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    newest_first: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """Records whose actor and target contain the texts given and whose action starts with `action`."""
    check_page(limit, offset, "records")
    query = select(AuditRecord)
    if actor.strip():
        query = query.where(AuditRecord.actor.like(_like(actor.strip()), escape="\\"))
    if action.strip():
        query = query.where(AuditRecord.action.like(escape_like(action.strip()) + "%", escape="\\"))
    if target.strip():
        query = query.where(AuditRecord.target.like(_like(target.strip()), escape="\\"))
    order = AuditRecord.seq.desc() if newest_first else AuditRecord.seq.asc()
    with authority.db.read() as session:
        total, rows = read_page(session, query, (order,), limit, offset)
        items = tuple(
            AuditEntry(r.seq, r.at, r.actor, r.action, r.target, json.loads(r.details), r.hash) for r in rows
        )
    return AuditPage(items, total, limit, offset)


def _last_seq(session: Session) -> int:
    value = session.execute(select(Counter.value).where(Counter.name == "audit")).scalar_one_or_none()
    return int(value or 0)


def verify_slice(authority: Authority, *, after: int = 0, limit: int | None = None) -> VerificationStep:
    """Verify the records after sequence number `after` (at most `limit`, default the `audit_verify_slice`
    setting) in one read transaction."""
    limit = limit if limit is not None else authority.settings.audit_verify_slice
    if after < 0 or not 1 <= limit <= MAX_SLICE:
        raise InvalidInput(f"a verification step starts at 0 or later and checks 1 to {MAX_SLICE} records")
    columns = select(
        AuditRecord.seq,
        AuditRecord.at,
        AuditRecord.actor,
        AuditRecord.action,
        AuditRecord.target,
        AuditRecord.details,
        AuditRecord.prev_hash,
        AuditRecord.hash,
    )
    with authority.db.read() as session:
        total = _last_seq(session)
        expected_prev = GENESIS_HASH
        if after > 0:
            previous = session.execute(select(AuditRecord.hash).where(AuditRecord.seq == after)).scalar()
            if previous is None:
                return VerificationStep(after, total, True, False, f"record {after} is missing")
            expected_prev = previous
        rows = session.execute(
            columns.where(AuditRecord.seq > after).order_by(AuditRecord.seq).limit(limit)
        ).all()
    expected_seq = after + 1
    for seq, at, actor, action, target, details, prev_hash, stored in rows:
        if seq != expected_seq:
            return VerificationStep(expected_seq - 1, total, True, False, f"record {expected_seq} is missing")
        if prev_hash != expected_prev:
            return VerificationStep(
                seq - 1, total, True, False, f"record {seq} does not follow record {seq - 1}"
            )
        if record_hash(prev_hash, seq, at, actor, action, target, details) != stored:
            return VerificationStep(seq - 1, total, True, False, f"record {seq} was modified")
        expected_prev, expected_seq = stored, expected_seq + 1
    checked = expected_seq - 1
    if len(rows) == limit and checked < total:
        return VerificationStep(checked, total, False, True, None)
    if checked < total:
        return VerificationStep(checked, total, True, False, f"records after {checked} are missing")
    return VerificationStep(checked, total, True, True, None)


def record_verification(authority: Authority, step: VerificationStep, *, actor: str) -> None:
    """Append the result of a finished verification run to the trail (what the dashboard shows)."""
    if not step.done:
        raise InvalidInput("only a finished verification can be recorded")
    with authority.db.write() as session:
        audit.record(
            session,
            actor=actor,
            action=VERIFIED,
            target="audit:chain",
            details={"ok": step.ok, "records": step.checked, "problem": step.problem},
            at=authority.now(),
        )


def last_verification_in(session: Session) -> tuple[VerificationView | None, int]:
    """The newest recorded verification and the number of records now, in the caller's transaction."""
    row = session.execute(
        select(AuditRecord).where(AuditRecord.action == VERIFIED).order_by(AuditRecord.seq.desc()).limit(1)
    ).scalar()
    total = _last_seq(session)
    if row is None:
        return None, total
    details = json.loads(row.details)
    view = VerificationView(
        at=row.at,
        actor=row.actor,
        ok=bool(details.get("ok")),
        records=int(details.get("records") or 0),
        problem=details.get("problem"),
    )
    return view, total


def last_verification(authority: Authority) -> tuple[VerificationView | None, int]:
    """`last_verification_in` in a read transaction of its own."""
    with authority.db.read() as session:
        return last_verification_in(session)
