"""What the web pages show about certificates: one person's own certificate, and the dashboard counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from campusca.db.models import Certificate, Person
from campusca.services.authority import Authority
from campusca.services.ca.certificates import CertificateView, certificate_view
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import NotFound


@dataclass(frozen=True, slots=True)
class CertificateCounts:
    """The administrator's dashboard numbers, read in one transaction."""

    people: int
    valid: int
    revoked: int
    expired: int


def certificate_of_person(authority: Authority, serial: int, username: str) -> CertificateView:
    """One of the person's own certificates; someone else's answers exactly like one that does not exist."""
    with authority.db.read() as session:
        row = find_certificate(session, serial)
        if row is None or row.person is None or row.person.username != username:
            raise NotFound(f"no certificate of yours with serial {serial:X}")
        return certificate_view(row, authority.now())


def certificate_counts(authority: Authority) -> CertificateCounts:
    """People, and certificates that are valid, revoked and expired now."""
    now = authority.now()
    count = select(func.count(Certificate.id))
    with authority.db.read() as session:
        people = session.execute(select(func.count(Person.id))).scalar_one()
        revoked = session.execute(count.where(Certificate.revoked_at.is_not(None))).scalar_one()
        valid = session.execute(
            count.where(Certificate.revoked_at.is_(None), Certificate.not_after > now)
        ).scalar_one()
        expired = session.execute(
            count.where(Certificate.revoked_at.is_(None), Certificate.not_after <= now)
        ).scalar_one()
    return CertificateCounts(people=people, valid=valid, revoked=revoked, expired=expired)
