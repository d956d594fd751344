"""The public certificate directory: a person's current S/MIME certificates, found by e-mail address.

Correspondents need the *encryption* certificate of a colleague (research §5: clients pick certificates by
keyUsage, so the directory says which certificate is for what). Only S/MIME certificates are listed;
look-ups by serial also return revoked or expired ones, so that old signatures can still be checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campusca.db.escrow import KeyCustody
from campusca.db.models import Certificate, Person
from campusca.pki.certificates import openssl_serial
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import InvalidInput, NotFound
from campusca.services.smime.issue import ENCRYPTION, SIGNING, SMIME_PROFILES

PURPOSES = {SIGNING: "signing", ENCRYPTION: "encryption"}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One current S/MIME certificate of a person, as the directory shows it."""

    email: str
    serial: int
    purpose: str
    profile: str
    subject: str
    not_before: datetime
    not_after: datetime
    escrowed: bool | None
    der: bytes

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    @property
    def serial_text(self) -> str:
        """As `openssl x509 -serial` prints it: what the directory's links, JSON and the CLI show."""
        return openssl_serial(self.serial)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def to_json(self, base_url: str) -> dict[str, object]:
        link = f"{base_url.rstrip('/')}/directory/certificates/{self.serial_text}"
        return {
            "email": self.email,
            "serial": self.serial_text,
            "purpose": self.purpose,
            "profile": self.profile,
            "subject": self.subject,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "escrowed": self.escrowed,
            "pem_url": f"{link}.pem",
            "der_url": f"{link}.der",
            "pem": self.pem.decode(),
        }


def check_email(email: str) -> str:
    cleaned = email.strip()
    if not _EMAIL.match(cleaned):
        raise InvalidInput(f"email must be a mailbox address such as mary@example.edu; got {email!r}")
    return cleaned


def lookup_certificates(authority: Authority, session: Session, email: str) -> list[DirectoryEntry]:
    """The valid (not revoked, not expired) S/MIME certificates of the people with this address."""
    address = check_email(email)
    now = authority.now()
    rows = session.execute(
        select(Certificate, Person.email, KeyCustody.escrowed)
        .join(Person, Certificate.person_id == Person.id)
        .outerjoin(KeyCustody, KeyCustody.certificate_id == Certificate.id)
        .where(
            func.lower(Person.email) == address.lower(),
            Certificate.profile.in_(SMIME_PROFILES),
            Certificate.revoked_at.is_(None),
            Certificate.not_after > now,
            Certificate.not_before <= now,
        )
        .order_by(Certificate.profile, Certificate.id.desc())
    ).all()
    return [
        DirectoryEntry(
            email=person_email,
            serial=int(row.serial_hex, 16),
            purpose=PURPOSES[row.profile],
            profile=row.profile,
            subject=row.subject,
            not_before=row.not_before,
            not_after=row.not_after,
            escrowed=escrowed if row.profile == ENCRYPTION else False,
            der=row.der,
        )
        for row, person_email, escrowed in rows
    ]


def encryption_certificates(authority: Authority, session: Session, email: str) -> list[x509.Certificate]:
    """The valid encryption certificates for an address (newest first)."""
    return [
        e.certificate for e in lookup_certificates(authority, session, email) if e.purpose == "encryption"
    ]


def smime_certificate_der(session: Session, serial: int) -> bytes:
    """Any S/MIME certificate campusca issued, by serial (revoked and expired ones too)."""
    row = find_certificate(session, serial)
    if row is None or row.profile not in SMIME_PROFILES:
        raise NotFound(f"no S/MIME certificate with serial {openssl_serial(serial)}")
    return row.der


def directory_entries(authority: Authority, email: str) -> list[DirectoryEntry]:
    """The directory's answer for an address, in a read transaction of its own (adapters call this)."""
    with authority.db.read() as session:
        return lookup_certificates(authority, session, email)


def directory_certificate_der(authority: Authority, serial: int) -> bytes:
    """One S/MIME certificate by serial, in a read transaction of its own (adapters call this)."""
    with authority.db.read() as session:
        return smime_certificate_der(session, serial)
