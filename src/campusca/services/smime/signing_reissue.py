"""Re-issuing a person's S/MIME signing certificate with a new key (after a lost-key recovery, or on request).

A lost device usually held the signing key too. A recovery brings back only the decryption keys (signing
keys are never escrowed, DESIGN §5), so the valid signing certificate would stay in the directory with a
key nobody has. Re-issuing revokes it (superseded: the key is lost, not known to be compromised) and
issues a new one with a key campusca generates; the key reaches the person in a PKCS#12 and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.models import Certificate, Person
from campusca.pki.certificates import openssl_serial
from campusca.pki.crl import RevocationReason
from campusca.pki.pkcs12 import export_pkcs12
from campusca.services.authority import Authority
from campusca.services.ca.revocation import revoke_certificate
from campusca.services.errors import PolicyViolation
from campusca.services.people.registry import get_person
from campusca.services.smime.issue import (
    SIGNING,
    IssuedKeyPair,
    check_export_password,
    generate_smime_key,
    issue_one,
)


@dataclass(frozen=True, slots=True)
class SigningReissue:
    """A new signing certificate, the signing certificates it replaced, and the one-time PKCS#12."""

    username: str
    new_serial: str
    revoked: tuple[str, ...]
    pkcs12: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "new_signing_certificate": self.new_serial,
            "revoked": list(self.revoked),
        }


def valid_signing_serials(session: Session, person: Person, now: datetime) -> list[int]:
    """Serials of the person's signing certificates that are neither revoked nor expired."""
    rows = session.execute(
        select(Certificate.serial_hex).where(
            Certificate.person_id == person.id,
            Certificate.profile == SIGNING,
            Certificate.revoked_at.is_(None),
            Certificate.not_after > now,
        )
    ).scalars()
    return [int(serial_hex, 16) for serial_hex in rows]


def reissue_signing_in(
    authority: Authority,
    session: Session,
    person: Person,
    *,
    key: CertificateIssuerPrivateKeyTypes,
    actor: str,
    details: dict[str, object],
) -> tuple[IssuedKeyPair, tuple[str, ...]]:
    """Revoke (superseded) the person's valid signing certificates and issue one for `key`, in the caller's transaction."""
    if not person.active:
        raise PolicyViolation(f"{person.username!r} is deactivated; no signing certificate can be issued")
    revoked = []
    for serial in valid_signing_serials(session, person, authority.now()):
        revoke_certificate(
            authority,
            session,
            serial=serial,
            reason=RevocationReason.SUPERSEDED,
            actor=actor,
            audit_details={"why": "signing key lost; a new signing certificate was issued", **details},
        )
        revoked.append(openssl_serial(serial))
    pair = issue_one(authority, session, person, SIGNING, None, actor, {"escrowed": False, **details}, key)
    return pair, tuple(revoked)


def reissue_signing(
    authority: Authority, *, username: str, password: str, actor: str, legacy: bool = False
) -> SigningReissue:
    """Replace a person's signing certificate with a new key; committed when this returns."""
    check_export_password(password, owner=username)
    key = generate_smime_key(authority)  # before the write lock: RSA generation takes a while
    with authority.db.write() as session:
        person = get_person(session, username)
        pair, revoked = reissue_signing_in(authority, session, person, key=key, actor=actor, details={})
        pkcs12 = export_pkcs12(
            key=key,
            certificate=pair.issued.certificate,
            chain=authority.chain_of(pair.issued.certificate),
            password=password.encode(),
            legacy=legacy,
            friendly_name=person.email.encode(),
        )
        return SigningReissue(person.username, openssl_serial(pair.issued.serial), revoked, pkcs12)
