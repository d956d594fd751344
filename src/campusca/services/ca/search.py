"""Finding certificates for the administrators' pages: by serial, subject, e-mail, profile and status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from campusca.db.models import Certificate, Person
from campusca.services.authority import Authority
from campusca.services.ca.certificates import STATUSES, CertificateView, certificate_view
from campusca.services.ca.issuance import parse_serial, serial_to_hex
from campusca.services.errors import InvalidInput
from campusca.services.listing import check_page, contains_any, read_page

CERTIFICATE_SORTS = {
    "issued": Certificate.id,
    "expires": Certificate.not_after,
    "profile": Certificate.profile,
    "subject": Certificate.subject,
}


@dataclass(frozen=True, slots=True)
class CertificatePage:
    """One page of certificates matching a search, and how many match in all."""

    items: tuple[CertificateView, ...]
    total: int
    limit: int
    offset: int


def find_certificates(
    authority: Authority,
    *,
    serial: str = "",
    text: str = "",
    profile: str = "",
    status: str = "",
    sort: str = "issued",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> CertificatePage:
    """Certificates matching every filter given, in one read transaction.

    `serial` is read as openssl prints it (hex, any case, colons and a leading zero allowed); `text` is
    found in the subject, the holder's e-mail address or username (any case).
    """
    if sort not in CERTIFICATE_SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(CERTIFICATE_SORTS)}; got {sort!r}")
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    check_page(limit, offset, "certificates")
    now = authority.now()
    query = select(Certificate).outerjoin(Person, Certificate.person_id == Person.id)
    if serial.strip():
        query = query.where(Certificate.serial_hex == serial_to_hex(parse_serial(serial)))
    needle = text.strip().lower()
    if needle:
        query = query.where(contains_any((Certificate.subject, Person.email, Person.username), needle))
    if profile.strip():
        query = query.where(Certificate.profile == profile.strip())
    if status == "revoked":
        query = query.where(Certificate.revoked_at.is_not(None))
    elif status == "expired":
        query = query.where(Certificate.revoked_at.is_(None), Certificate.not_after <= now)
    elif status == "valid":
        query = query.where(Certificate.revoked_at.is_(None), Certificate.not_after > now)
    column = CERTIFICATE_SORTS[sort]
    order = (column.desc(), Certificate.id.desc()) if descending else (column.asc(), Certificate.id.asc())
    with authority.db.read() as session:
        total, rows = read_page(session, query, order, limit, offset)
        return CertificatePage(tuple(certificate_view(r, now) for r in rows), total, limit, offset)


def certificate_profiles(authority: Authority) -> tuple[str, ...]:
    """The profiles certificates have been issued under, by name (for the search form's choices)."""
    with authority.db.read() as session:
        return tuple(
            session.execute(select(Certificate.profile).distinct().order_by(Certificate.profile)).scalars()
        )
