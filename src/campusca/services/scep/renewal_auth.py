"""SCEP renewal (RFC 8894 §3.3.1.2): a request signed by a certificate campusca issued authorises itself.

RenewalReq, and the PKCSReq signed with the existing certificate that macOS and certmonger send,
need no challenge; the signer certificate must be ours, unexpired, unrevoked, of a profile SCEP
issues, and the request must keep its subject (micromdm/scep#117 shipped without this check).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.models import Certificate, Person
from campusca.db.scep import ScepEnrollment
from campusca.pki.certificates import common_name
from campusca.pki.profiles import SubjectSource, get_profile
from campusca.services.authority import ISSUING_CA, Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import NotAuthorized


@dataclass(frozen=True, slots=True)
class RenewalGrant:
    """The certificate being renewed, its holder, and the device it was enrolled for (if known)."""

    certificate: Certificate
    person: Person
    device_ref: str | None


def signed_by_us(authority: Authority, signer: x509.Certificate) -> bool:
    """Whether a signer certificate claims our issuing CA as issuer (a transient one is self-signed)."""
    return signer.issuer == authority.ca(ISSUING_CA).certificate.subject and signer.issuer != signer.subject


def authorise_renewal(
    authority: Authority, session: Session, signer: x509.Certificate, csr: x509.CertificateSigningRequest
) -> RenewalGrant:
    """Check the signer certificate may renew itself with `csr`; NotAuthorized says why not."""
    ca = authority.ca(ISSUING_CA)
    try:
        signer.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        raise NotAuthorized("renewal must be signed by a certificate this CA issued") from None
    row = find_certificate(session, signer.serial_number)
    if row is None or row.der != signer.public_bytes(serialization.Encoding.DER):
        raise NotAuthorized("renewal must be signed by a certificate this CA issued")
    now = authority.now()
    if row.revoked_at is not None:
        raise NotAuthorized("the certificate signing the renewal is revoked")
    if not row.not_before <= now < row.not_after:
        raise NotAuthorized("the certificate signing the renewal has expired or is not yet valid")
    if row.person is None or row.profile not in authority.settings.scep_profiles:
        raise NotAuthorized(f"certificates of profile {row.profile!r} cannot be renewed by SCEP")
    if get_profile(row.profile).subject is SubjectSource.CSR_COMMON_NAME and common_name(
        csr.subject
    ) != common_name(signer.subject):
        raise NotAuthorized("renewal CSR must keep the subject common name of the certificate it renews")
    device_ref = session.execute(
        select(ScepEnrollment.device_ref)
        .where(ScepEnrollment.certificate_id == row.id)
        .order_by(ScepEnrollment.id.desc())
    ).scalar()
    return RenewalGrant(certificate=row, person=row.person, device_ref=device_ref)
