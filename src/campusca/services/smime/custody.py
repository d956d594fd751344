"""Whether a person's encryption keys are escrowed, and with whom: what the person's own page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from campusca.db.escrow import EscrowDomain, KeyCustody
from campusca.services.authority import Authority
from campusca.services.people.registry import get_person


@dataclass(frozen=True, slots=True)
class KeyCustodyView:
    """One encryption certificate's key: escrowed or not, in which scope, and the agents who can recover it."""

    serial: int
    escrowed: bool
    key_source: str  # generated | csr
    scope: str | None  # organisation:NAME or department:ORG/NAME
    mode: str | None  # simple | quorum
    agents: tuple[str, ...]
    created_at: datetime


def _scope(domain: EscrowDomain | None) -> str | None:
    if domain is None:
        return None
    if domain.department is not None:
        return f"department:{domain.department.organisation.name}/{domain.department.name}"
    return f"organisation:{domain.organisation.name}" if domain.organisation is not None else None


def key_custody_of(authority: Authority, username: str) -> tuple[KeyCustodyView, ...]:
    """The person's encryption keys, newest first (a read transaction of its own)."""
    with authority.db.read() as session:
        person = get_person(session, username)
        rows = session.execute(
            select(KeyCustody).where(KeyCustody.person_id == person.id).order_by(KeyCustody.id.desc())
        ).scalars()
        views = []
        for row in rows:
            domain = session.get(EscrowDomain, row.domain_id) if row.domain_id is not None else None
            mode = next((k.mode for k in domain.keys if k.id == row.domain_key_id), None) if domain else None
            views.append(
                KeyCustodyView(
                    serial=int(row.certificate.serial_hex, 16),
                    escrowed=row.escrowed,
                    key_source=row.key_source,
                    scope=_scope(domain) if row.escrowed else None,
                    mode=mode if row.escrowed else None,
                    agents=tuple(a.person.username for a in domain.agents) if domain and row.escrowed else (),
                    created_at=row.created_at,
                )
            )
        return tuple(views)
