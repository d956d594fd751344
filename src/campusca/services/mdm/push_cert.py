"""Apple's MDM push certificate: import it (its UID is the Topic), show it with expiry warnings, load it to push.

The key is a TLS client credential for Apple's push gateway, so it is kept where a TLS library can use
it: encrypted in the software key store (master key), even when CA keys live in an HSM (docs/mdm.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campusca.apple import TOPIC_PREFIX
from campusca.db.mdm import MdmPushCertificate
from campusca.keys.software import SoftwareKeyBackend, read_master_key
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput, NotFound

WARN_DAYS = 30  # Apple push certificates last a year; renew them at identity.apple.com/pushcert in time


@dataclass(frozen=True, slots=True)
class PushCertificateView:
    topic: str
    subject: str
    not_after: datetime
    imported_at: datetime
    fingerprint_sha256: str
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "topic": self.topic,
            "subject": self.subject,
            "not_after": self.not_after.isoformat(),
            "imported_at": self.imported_at.isoformat(),
            "fingerprint_sha256": self.fingerprint_sha256,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class PushCredentials:
    """What the APNs client needs: the certificate, its key (never logged) and the Topic."""

    topic: str
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def push_key_store(authority: Authority) -> SoftwareKeyBackend:
    settings = authority.settings
    return SoftwareKeyBackend(
        settings.keys_dir, read_master_key(settings.master_key, settings.master_key_file)
    )


def topic_of(certificate: x509.Certificate) -> str:
    """The push Topic: the certificate subject's UID attribute, `com.apple.mgmt.…`."""
    values = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    topic = str(values[0].value) if values else ""
    if not topic.startswith(TOPIC_PREFIX):
        raise InvalidInput(
            f"push certificate subject UID must be an MDM topic beginning with {TOPIC_PREFIX!r}"
        )
    return topic


def _load(
    cert_pem: bytes, key_pem: bytes
) -> tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        try:
            certificate = x509.load_der_x509_certificate(cert_pem)
        except ValueError:
            raise InvalidInput("push certificate must be a PEM or DER X.509 certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise InvalidInput("push key must be an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidInput("push key must be an RSA or EC key")
    if _spki(key.public_key()) != _spki(certificate.public_key()):
        raise InvalidInput("push key does not belong to the push certificate")
    return certificate, key


def _spki(public_key: object) -> bytes:
    try:
        return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (AttributeError, ValueError):
        return b""


def import_push_certificate(
    authority: Authority, *, cert_pem: bytes, key_pem: bytes, actor: str
) -> PushCertificateView:
    """Store Apple's push certificate and key; it replaces the active one (its Topic must not change)."""
    certificate, key = _load(cert_pem, key_pem)
    topic = topic_of(certificate)
    now = authority.now()
    if certificate.not_valid_after_utc <= now:
        raise InvalidInput("push certificate has expired; renew it at identity.apple.com/pushcert first")
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    label = f"mdm-push-{fingerprint[:16]}"
    store = push_key_store(authority)
    if not store.exists(label):
        store.store(label, key)
    with authority.db.write() as session:
        current = _active(session)
        if current is not None and current.topic != topic:
            # iOS rejects an update of the MDM payload that changes Topic: enrolled phones would be lost.
            raise InvalidInput(
                f"push certificate Topic must stay {current.topic!r} (renew, do not replace it)"
            )
        session.execute(update(MdmPushCertificate).values(active=False))
        row = MdmPushCertificate(
            topic=topic,
            certificate_der=certificate.public_bytes(serialization.Encoding.DER),
            key_label=label,
            not_after=certificate.not_valid_after_utc,
            active=True,
            imported_at=now,
        )
        session.add(row)
        audit.record(
            session, actor=actor, action="mdm.push_certificate.imported", target=f"mdm-topic:{topic}",
            details={"fingerprint_sha256": fingerprint, "not_after": row.not_after}, at=now,
        )  # fmt: skip
        session.flush()
        return _view(row, certificate, now)


def show_push_certificate(authority: Authority) -> PushCertificateView:
    """The active push certificate with its warnings; NotFound while MDM is off."""
    with authority.db.read() as session:
        row = _active(session)
        if row is None:
            raise NotFound("no MDM push certificate; import one with 'campusca mdm push-cert import'")
        return _view(row, x509.load_der_x509_certificate(row.certificate_der), authority.now())


def push_credentials(authority: Authority) -> PushCredentials | None:
    """The active push certificate and its key, or None while MDM is off."""
    with authority.db.read() as session:
        row = _active(session)
        if row is None:
            return None
        topic, der, label = row.topic, row.certificate_der, row.key_label
    key = push_key_store(authority).signer(label)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidInput("push key must be an RSA or EC key")
    return PushCredentials(topic, x509.load_der_x509_certificate(der), key)


def active_topic(session: Session) -> str | None:
    row = _active(session)
    return row.topic if row is not None else None


def _active(session: Session) -> MdmPushCertificate | None:
    return session.execute(
        select(MdmPushCertificate)
        .where(MdmPushCertificate.active.is_(True))
        .order_by(MdmPushCertificate.id.desc())
    ).scalar()


def _view(row: MdmPushCertificate, certificate: x509.Certificate, now: datetime) -> PushCertificateView:
    warnings = []
    if row.not_after <= now:
        warnings.append("the push certificate has expired: devices can no longer be reached; renew it now")
    elif row.not_after - now <= timedelta(days=WARN_DAYS):
        days = (row.not_after - now).days
        warnings.append(
            f"the push certificate expires in {days} days; renew it at identity.apple.com/pushcert"
        )
    return PushCertificateView(
        topic=row.topic,
        subject=certificate.subject.rfc4514_string(),
        not_after=row.not_after,
        imported_at=row.imported_at,
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        warnings=tuple(warnings),
    )
