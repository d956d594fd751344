"""CRL and CA certificate downloads: the URLs every issued certificate points at (RFC 5280 §4.2.1.13, §4.2.2.1)."""

from __future__ import annotations

import re
from email.utils import format_datetime
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import FileResponse

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


def _download(download: ca.CrlDownload, if_none_match: str | None) -> Response:
    """The CRL file, or 304 when the client holds this very CRL (ETag names its number)."""
    headers = {
        "Cache-Control": "public, max-age=300",
        "ETag": download.etag,
        "Last-Modified": format_datetime(download.this_update, usegmt=True),
        "Expires": format_datetime(download.next_update, usegmt=True),
    }
    if if_none_match is not None and download.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return FileResponse(download.path, media_type="application/pkix-crl", headers=headers)


# Registered before `{slug}.crl`, which would otherwise take "issuing.delta" for a slug and refuse it.
@router.get(
    "/crl/{slug}.delta.crl",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}, 304: {}},
)
def get_delta_crl(
    slug: str,
    authority: Annotated[Authority, Depends(get_authority)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The CA's current delta CRL (DER, RFC 5280 §5.2.4), named by the full CRL's Freshest CRL extension."""
    return _download(ca.crl_download(authority, _check_slug(slug), delta=True), if_none_match)


@router.get(
    "/crl/{slug}.crl",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}, 304: {}},
)
def get_crl(
    slug: str,
    authority: Annotated[Authority, Depends(get_authority)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The CA's current full CRL (DER), re-signed when it is due; served from this node's file cache."""
    return _download(ca.crl_download(authority, _check_slug(slug)), if_none_match)


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
