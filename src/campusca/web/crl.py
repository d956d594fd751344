"""CRL and CA certificate downloads: the URLs every issued certificate points at (RFC 5280 §4.2.1.13, §4.2.2.1)."""

from __future__ import annotations

import re
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Response

from campusca.services import ca
from campusca.services.authority import Authority
from campusca.services.errors import NotFound
from campusca.web.deps import get_authority

router = APIRouter(tags=["publication"])
_SLUG = re.compile(r"^[a-z0-9-]{1,64}$")


def _check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise NotFound(f"no CA named {slug!r}")
    return slug


@router.get(
    "/crl/{slug}.crl", response_class=Response, responses={200: {"content": {"application/pkix-crl": {}}}}
)
def get_crl(slug: str, authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """The CA's current full CRL (DER), re-signed when it is due."""
    der = ca.current_crl(authority, _check_slug(slug))
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/ca/{slug}.crt", response_class=Response, responses={200: {"content": {"application/pkix-cert": {}}}}
)
def get_ca_certificate(slug: str, authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """The CA certificate (DER)."""
    der = authority.ca(_check_slug(slug)).certificate.public_bytes(serialization.Encoding.DER)
    return Response(
        der, media_type="application/pkix-cert", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/ca/chain.pem", response_class=Response)
def get_chain(authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """Every issuing CA (device/server, S/MIME), then the root, in PEM, for relying parties' trust stores."""
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in authority.all_ca_certificates())
    return Response(pem, media_type="application/x-pem-file")
