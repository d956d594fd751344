"""REST: certificates (issue from CSR, get, list, revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from campusca.services.authority import Authority
from campusca.services.ca import certificates
from campusca.services.ca.issuance import parse_serial
from campusca.services.ca.revocation import parse_reason, revoke_certificate
from campusca.services.people.tokens import TokenIdentity
from campusca.web.api.params import MAX_RECORD_ID
from campusca.web.deps import get_authority, read_session, require_role, write_session

router = APIRouter(prefix="/certificates", tags=["certificates"])


class IssueRequest(BaseModel):
    profile: str = Field(
        description="smime-signing, smime-encryption, device, server, …", examples=["device"]
    )
    csr: str = Field(description="PEM PKCS#10 request", max_length=65536)
    username: str | None = Field(default=None, description="The person the certificate is for")


class CertificateOut(BaseModel):
    serial: str
    profile: str
    subject: str
    person: str | None
    not_before: str
    not_after: str
    status: str
    revoked_at: str | None
    revocation_reason: str | None
    fingerprint_sha256: str
    pem: str | None = None


class CertificatePage(BaseModel):
    items: list[CertificateOut]
    total: int
    limit: int
    offset: int


class RevokeRequest(BaseModel):
    reason: str = Field(default="unspecified", description="RFC 5280 reason, e.g. keyCompromise")


def _out(view: certificates.CertificateView, *, with_pem: bool = False) -> CertificateOut:
    data = view.to_json()
    if with_pem:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        data["pem"] = (
            x509.load_der_x509_certificate(view.der).public_bytes(serialization.Encoding.PEM).decode()
        )
    return CertificateOut.model_validate(data)


@router.post("", status_code=201, response_model=CertificateOut)
def issue(
    body: IssueRequest,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer"))],
    authority: Annotated[Authority, Depends(get_authority)],
    session: Annotated[Session, Depends(write_session)],
) -> CertificateOut:
    """Issue a certificate from a CSR; the profile decides its content."""
    issued = certificates.issue_from_csr(
        authority,
        session,
        profile_name=body.profile,
        csr_bytes=body.csr.encode(),
        username=body.username,
        actor=identity.actor,
    )
    return _out(certificates.get_certificate(authority, session, issued.serial), with_pem=True)


@router.get("", response_model=CertificatePage)
def list_(
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))],
    authority: Annotated[Authority, Depends(get_authority)],
    session: Annotated[Session, Depends(read_session)],
    username: str | None = None,
    status: str | None = Query(default=None, description="valid, revoked or expired"),
    profile: str | None = None,
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_RECORD_ID),
) -> CertificatePage:
    """A page of certificates, newest first."""
    views, total = certificates.list_certificates(
        authority, session, username=username, status=status, profile=profile, limit=limit, offset=offset
    )
    return CertificatePage(items=[_out(v) for v in views], total=total, limit=limit, offset=offset)


@router.get("/{serial}", response_model=CertificateOut)
def get(
    serial: str,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))],
    authority: Annotated[Authority, Depends(get_authority)],
    session: Annotated[Session, Depends(read_session)],
) -> CertificateOut:
    """One certificate by serial (hex), with its PEM."""
    return _out(certificates.get_certificate(authority, session, parse_serial(serial)), with_pem=True)


@router.post("/{serial}/revoke", response_model=CertificateOut)
def revoke(
    serial: str,
    body: RevokeRequest,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer"))],
    authority: Annotated[Authority, Depends(get_authority)],
    session: Annotated[Session, Depends(write_session)],
) -> CertificateOut:
    """Revoke a certificate; the CRL is re-signed and OCSP answers revoked at once."""
    parsed = parse_serial(serial)
    revoke_certificate(
        authority, session, serial=parsed, reason=parse_reason(body.reason), actor=identity.actor
    )
    return _out(certificates.get_certificate(authority, session, parsed))
