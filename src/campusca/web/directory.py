"""The public certificate directory (no login): a person's current S/MIME certificates by e-mail address."""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query, Response

from campusca.services import ca, smime
from campusca.services.authority import Authority
from campusca.web.deps import get_authority

router = APIRouter(prefix="/directory", tags=["directory"])
_CACHE = {"Cache-Control": "public, max-age=300"}
AuthorityDep = Annotated[Authority, Depends(get_authority)]


@router.get("/certificates")
def find_certificates(
    authority: AuthorityDep,
    email: str = Query(..., max_length=254, description="The mailbox, e.g. mary@example.edu"),
) -> dict[str, object]:
    """Current valid S/MIME certificates of an address; `purpose` says which signs and which to encrypt to."""
    entries = smime.lookup.directory_entries(authority, email)
    return {"email": email, "certificates": [e.to_json(authority.settings.public_url) for e in entries]}


@router.get(
    "/certificates/{serial}.pem",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
def certificate_pem(serial: str, authority: AuthorityDep) -> Response:
    """One S/MIME certificate in PEM (revoked and expired ones too, for checking old signatures)."""
    der = smime.lookup.directory_certificate_der(authority, ca.parse_serial(serial))
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type="application/x-pem-file", headers=_CACHE)


@router.get(
    "/certificates/{serial}.der",
    response_class=Response,
    responses={200: {"content": {"application/pkix-cert": {}}}},
)
def certificate_der(serial: str, authority: AuthorityDep) -> Response:
    """One S/MIME certificate in DER."""
    der = smime.lookup.directory_certificate_der(authority, ca.parse_serial(serial))
    return Response(der, media_type="application/pkix-cert", headers=_CACHE)
