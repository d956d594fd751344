"""REST: certificates (issue from CSR, get, list, revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from campusca.services import ca
from campusca.services.authority import Authority
from campusca.services.people import TokenIdentity
from campusca.web.api.params import MAX_RECORD_ID
from campusca.web.deps import bearer_credentials, get_authority, identify, require_role

router = APIRouter(prefix="/certificates", tags=["certificates"])
AuthorityDep = Annotated[Authority, Depends(get_authority)]


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


def _out(view: ca.CertificateView, *, with_pem: bool = False) -> CertificateOut:
    data = view.to_json()
    if with_pem:
        data["pem"] = view.pem.decode()
    return CertificateOut.model_validate(data)


_OUT_FIELDS = tuple(CertificateOut.model_fields)


def issue_response(view: ca.CertificateView) -> dict[str, object]:
    """The 201 body of an issuance, as FastAPI serialises `CertificateOut` (web/api/issue_endpoint.py)."""
    data = view.to_json()
    data["pem"] = view.pem.decode()
    return {name: data.get(name) for name in _OUT_FIELDS}


@router.post("", status_code=201, response_model=CertificateOut)
def issue(
    body: IssueRequest,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_credentials)],
    authority: AuthorityDep,
) -> CertificateOut:
    """Issue a certificate from a CSR; the profile decides its content. Needs the ra-officer role.

    Well-formed requests are answered by `issue_endpoint.IssueEndpoint` before they get here, with the
    same checks, the same body and the same errors; this route documents them and answers the rest.
    """
    identity = identify(authority, credentials, "ra-officer")
    issued = ca.issue_from_csr(
        authority,
        profile_name=body.profile,
        csr_bytes=body.csr.encode(),
        username=body.username,
        actor=identity.actor,
    )
    return _out(issued, with_pem=True)


@router.get("", response_model=CertificatePage)
def list_(
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))],
    authority: AuthorityDep,
    username: str | None = None,
    status: str | None = Query(default=None, description="valid, revoked or expired"),
    profile: str | None = None,
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_RECORD_ID),
) -> CertificatePage:
    """A page of certificates, newest first."""
    views, total = ca.list_certificates(
        authority, username=username, status=status, profile=profile, limit=limit, offset=offset
    )
    return CertificatePage(items=[_out(v) for v in views], total=total, limit=limit, offset=offset)


@router.get("/{serial}", response_model=CertificateOut)
def get(
    serial: str,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))],
    authority: AuthorityDep,
) -> CertificateOut:
    """One certificate by serial (hex), with its PEM."""
    return _out(ca.get_certificate(authority, ca.parse_serial(serial)), with_pem=True)


@router.post("/{serial}/revoke", response_model=CertificateOut)
def revoke(
    serial: str,
    body: RevokeRequest,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer"))],
    authority: AuthorityDep,
) -> CertificateOut:
    """Revoke a certificate; the CRL is re-signed and OCSP answers revoked at once."""
    parsed = ca.parse_serial(serial)
    ca.revoke_by_serial(authority, serial=parsed, reason=ca.parse_reason(body.reason), actor=identity.actor)
    return _out(ca.get_certificate(authority, parsed))
