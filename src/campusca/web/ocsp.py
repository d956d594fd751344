"""OCSP responder endpoint (RFC 6960 Appendix A, RFC 5019 §5): POST and GET with caching headers."""

from __future__ import annotations

import base64
import binascii
import hashlib
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import unquote

from cryptography.x509 import ocsp
from fastapi import APIRouter, Depends, Request, Response

from campusca import metrics
from campusca.pki.errors import OcspMalformedRequest
from campusca.pki.ocsp import OCSP_RESPONSE_CONTENT_TYPE, build_ocsp_error, parse_ocsp_request
from campusca.services.authority import Authority
from campusca.services.ca.ocsp import answer_ocsp
from campusca.services.errors import NotAuthorized, NotFound
from campusca.web.deps import get_authority

router = APIRouter(tags=["ocsp"])


def _error(status: ocsp.OCSPResponseStatus) -> Response:
    metrics.OCSP_RESPONSES.labels(status=status.name.lower()).inc()
    return Response(build_ocsp_error(status), media_type=OCSP_RESPONSE_CONTENT_TYPE)


def _respond(authority: Authority, der: bytes) -> Response:
    try:
        query = parse_ocsp_request(der)
        result = answer_ocsp(authority, query)
    except OcspMalformedRequest:
        return _error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    except (NotAuthorized, NotFound):
        return _error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    metrics.OCSP_RESPONSES.labels(status=result.status.value).inc()
    headers = {}
    if query.nonce is None:
        # RFC 5019 §6: let caches keep the response until nextUpdate.
        max_age = max(0, int((result.next_update - authority.now()).total_seconds()))
        headers = {
            "Cache-Control": f"max-age={max_age}, public, no-transform, must-revalidate",
            "Expires": format_datetime(result.next_update, usegmt=True),
            "Last-Modified": format_datetime(result.this_update, usegmt=True),
            "ETag": '"' + hashlib.sha256(result.der).hexdigest()[:32] + '"',
        }
    else:
        headers = {"Cache-Control": "no-store"}
    return Response(result.der, media_type=OCSP_RESPONSE_CONTENT_TYPE, headers=headers)


@router.post("/ocsp", response_class=Response, responses={200: {"content": {OCSP_RESPONSE_CONTENT_TYPE: {}}}})
async def ocsp_post(request: Request, authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """OCSP over POST: the body is a DER OCSPRequest."""
    body = await request.body()
    # About a millisecond of CPU (a SQLite read, usually no signing): cheaper inline than via a thread.
    return _respond(authority, body)


@router.get(
    "/ocsp/{encoded:path}",
    response_class=Response,
    responses={200: {"content": {OCSP_RESPONSE_CONTENT_TYPE: {}}}},
)
def ocsp_get(encoded: str, authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """OCSP over GET: the path is the URL-encoded base64 of the DER OCSPRequest."""
    try:
        der = base64.b64decode(unquote(encoded).replace(" ", "+"), validate=False)
    except (binascii.Error, ValueError):
        return _error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    return _respond(authority, der)
