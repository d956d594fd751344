"""The public certificate directory (no login): a person's current S/MIME certificates by e-mail address."""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from campusca.services.authority import Authority
from campusca.services.ca.issuance import parse_serial
from campusca.services.smime.lookup import lookup_certificates, smime_certificate_der
from campusca.web.deps import get_authority, read_session

router = APIRouter(prefix="/directory", tags=["directory"])
_CACHE = {"Cache-Control": "public, max-age=300"}


@router.get("/certificates")
def find_certificates(
    authority: Annotated[Authority, Depends(get_authority)],
    session: Annotated[Session, Depends(read_session)],
    email: str = Query(..., max_length=254, description="The mailbox, e.g. mary@example.edu"),
) -> dict[str, object]:
    """Current valid S/MIME certificates of an address; `purpose` says which signs and which to encrypt to."""
    entries = lookup_certificates(authority, session, email)
    return {"email": email, "certificates": [e.to_json(authority.settings.public_url) for e in entries]}


@router.get(
    "/certificates/{serial}.pem",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
def certificate_pem(serial: str, session: Annotated[Session, Depends(read_session)]) -> Response:
    """One S/MIME certificate in PEM (revoked and expired ones too, for checking old signatures)."""
    der = smime_certificate_der(session, parse_serial(serial))
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type="application/x-pem-file", headers=_CACHE)


@router.get(
    "/certificates/{serial}.der",
    response_class=Response,
    responses={200: {"content": {"application/pkix-cert": {}}}},
)
def certificate_der(serial: str, session: Annotated[Session, Depends(read_session)]) -> Response:
    """One S/MIME certificate in DER."""
    der = smime_certificate_der(session, parse_serial(serial))
    return Response(der, media_type="application/pkix-cert", headers=_CACHE)
