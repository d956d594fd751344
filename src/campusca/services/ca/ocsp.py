"""The OCSP responder's building blocks (RFC 6960, RFC 5019): which CA a query names, its status, the signature.

Every CA of kind `issuing` is answered for (the root answers no OCSP): a query names its CA by the CertID
hashes, the status comes from the database, and the answer is signed by that CA's delegated responder
certificate (a `service_identities` row of purpose `ocsp` for the CA) or, when it has none, by the CA
itself (RFC 6960 §4.2.2.2 allows both). `answer_ocsp` reads and signs afresh every time; the serve
processes answer through `preproduced.PreproducedAnswers`, which keeps signed answers in memory.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from sqlalchemy import select

from campusca.db.models import Certificate, ServiceIdentity
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import CertStatus, OcspAnswer, OcspQuery, build_ocsp_response, issuer_hashes
from campusca.services.authority import Authority, LoadedCA
from campusca.services.ca.issuance import serial_to_hex
from campusca.services.ca.ocsp_validity import ocsp_validity_for_profile
from campusca.services.errors import NotAuthorized

# The CertID hash algorithms relying parties use (openssl and browsers: SHA-1; some: SHA-256).
CERT_ID_HASHES = ("sha1", "sha256", "sha384", "sha512")
# The change counter of a CA: bumped in every revocation's transaction (`revocation.revoke_certificate`).
STATUS_COUNTER_PREFIX = "status:"


def status_counter(ca_slug: str) -> str:
    return f"{STATUS_COUNTER_PREFIX}{ca_slug}"


@dataclass(frozen=True, slots=True)
class OcspResult:
    der: bytes
    status: CertStatus
    this_update: datetime
    next_update: datetime
    nonce: bool = False  # echoes the query's nonce: for that client only, never to be cached


@dataclass(frozen=True, slots=True)
class Responder:
    """Who signs a CA's OCSP answers: its delegated responder certificate, or the CA itself."""

    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes


IssuerKey = tuple[str, bytes, bytes]  # (hash algorithm, issuerNameHash, issuerKeyHash)


def issuer_table(authority: Authority) -> dict[IssuerKey, LoadedCA]:
    """Every CertID (for each hash algorithm) that names a CA this responder answers for."""
    table: dict[IssuerKey, LoadedCA] = {}
    for slug in authority.ca_slugs():
        ca = authority.ca(slug)
        if ca.kind != "issuing":
            continue
        for name in CERT_ID_HASHES:
            name_hash, key_hash = issuer_hashes(ca.certificate, name)
            table[(name, name_hash, key_hash)] = ca
    return table


def issuer_key(query: OcspQuery) -> IssuerKey:
    return (query.hash_algorithm.name, query.issuer_name_hash, query.issuer_key_hash)


def responder_for(authority: Authority, ca: LoadedCA) -> Responder:
    """The CA's newest active delegated OCSP responder, else the CA's own certificate and key."""
    with authority.db.read() as session:
        row = session.execute(
            select(ServiceIdentity.certificate_der, ServiceIdentity.key_label)
            .where(
                ServiceIdentity.purpose == "ocsp",
                ServiceIdentity.ca_id == ca.id,
                ServiceIdentity.active.is_(True),
            )
            .order_by(ServiceIdentity.id.desc())
        ).first()
    if row is None:
        return Responder(ca.certificate, ca.key)
    return Responder(
        x509.load_der_x509_certificate(row.certificate_der), authority.keys.signer(row.key_label)
    )


@dataclass(frozen=True, slots=True)
class StoredStatus:
    """A certificate's status as stored, with its profile (which decides how long an answer is valid)."""

    answer: OcspAnswer
    profile: str | None = None


def read_status(authority: Authority, ca: LoadedCA, serial: int) -> StoredStatus:
    """The status the database holds now for one serial of `ca` (one indexed read, no ORM objects)."""
    with authority.db.read_connection() as connection:
        row = connection.execute(
            select(Certificate.revoked_at, Certificate.revocation_reason, Certificate.profile).where(
                Certificate.serial_hex == serial_to_hex(serial), Certificate.ca_id == ca.id
            )
        ).first()
    if row is None:
        return StoredStatus(OcspAnswer(CertStatus.UNKNOWN))
    if row.revoked_at is not None:
        reason = RevocationReason(row.revocation_reason)
        return StoredStatus(OcspAnswer(CertStatus.REVOKED, row.revoked_at, reason), row.profile)
    return StoredStatus(OcspAnswer(CertStatus.GOOD), row.profile)


_SERIALS_PER_READ = 500  # bound parameters per statement (SQLite allows 32766, PostgreSQL 65535)


def revoked_among(authority: Authority, ca: LoadedCA, serials: Collection[int]) -> set[int]:
    """Which of these serials of `ca` the database holds as revoked now (one read per 500 serials)."""
    ordered = sorted(serials)
    found: set[int] = set()
    with authority.db.read_connection() as connection:
        for start in range(0, len(ordered), _SERIALS_PER_READ):
            by_hex = {serial_to_hex(serial): serial for serial in ordered[start : start + _SERIALS_PER_READ]}
            rows = connection.execute(
                select(Certificate.serial_hex).where(
                    Certificate.ca_id == ca.id,
                    Certificate.revoked_at.is_not(None),
                    Certificate.serial_hex.in_(by_hex),
                )
            ).scalars()
            found.update(by_hex[serial_hex] for serial_hex in rows)
    return found


def sign_answer(
    authority: Authority, query: OcspQuery, status: StoredStatus, responder: Responder
) -> OcspResult:
    """Sign one answer, valid from now for its profile's OCSP validity (seconds precision, as DER wants)."""
    answer = status.answer
    now = authority.now().replace(microsecond=0)
    next_update = now + ocsp_validity_for_profile(authority.settings, status.profile)
    der = build_ocsp_response(
        query,
        answer,
        responder_certificate=responder.certificate,
        responder_key=responder.key,
        this_update=now,
        next_update=next_update,
    )
    return OcspResult(
        der=der, status=answer.status, this_update=now, next_update=next_update, nonce=query.nonce is not None
    )


def answer_ocsp(authority: Authority, query: OcspQuery) -> OcspResult:
    """Answer one query from the database and sign it now (no cache).

    Raises NotAuthorized when the query names no CA this responder answers for
    (RFC 6960 §2.3 `unauthorized`).
    """
    ca = issuer_table(authority).get(issuer_key(query))
    if ca is None:
        raise NotAuthorized("this responder answers for campusca's issuing CAs only")
    return sign_answer(
        authority, query, read_status(authority, ca, query.serial), responder_for(authority, ca)
    )
