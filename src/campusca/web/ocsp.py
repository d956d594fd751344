"""OCSP responder endpoint (RFC 6960 Appendix A, RFC 5019 §5): POST and GET with caching headers.

Every answer under /ocsp is an OCSP response: failures are mapped by `STATUS_BY_ERROR`, whose
catch-all makes an unexpected error an `internalError` response, never an HTTP error page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import unquote

from cryptography.x509 import ocsp
from fastapi import APIRouter, Depends, Request, Response

from campusca import metrics
from campusca.pki.errors import OcspMalformedRequest
from campusca.pki.ocsp import OCSP_RESPONSE_CONTENT_TYPE, build_ocsp_error, parse_ocsp_request
from campusca.services import ca
from campusca.services import errors as service_errors
from campusca.services.authority import Authority
from campusca.web.deps import get_authority

router = APIRouter(tags=["ocsp"])
log = logging.getLogger("campusca.web")
Status = ocsp.OCSPResponseStatus

# Errors -> unsuccessful OCSP response status (RFC 6960 §2.3); the first class in the error's MRO wins.
# `Exception` is the catch-all: whatever goes wrong, an OCSP client gets an OCSP answer.
STATUS_BY_ERROR: dict[type[Exception], ocsp.OCSPResponseStatus] = {
    OcspMalformedRequest: Status.MALFORMED_REQUEST,
    service_errors.InvalidInput: Status.MALFORMED_REQUEST,
    service_errors.NotAuthorized: Status.UNAUTHORIZED,  # a CA this responder does not answer for
    service_errors.NotFound: Status.UNAUTHORIZED,  # no CA or responder certificate to answer with
    Exception: Status.INTERNAL_ERROR,
}


def status_for(error: Exception) -> ocsp.OCSPResponseStatus:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return Status.INTERNAL_ERROR


def _error(status: ocsp.OCSPResponseStatus) -> Response:
    metrics.OCSP_RESPONSES.labels(status=status.name.lower()).inc()
    return Response(build_ocsp_error(status), media_type=OCSP_RESPONSE_CONTENT_TYPE)


def _failed(error: Exception) -> Response:
    status = status_for(error)
    if status is Status.INTERNAL_ERROR:
        # Logged by type and request id only: exception text may quote request data.
        request_id = uuid.uuid4().hex[:12]
        log.error("unexpected %s answering OCSP (request %s)", type(error).__name__, request_id)
    return _error(status)


def _respond(authority: Authority, der: bytes) -> Response:
    try:
        query = parse_ocsp_request(der)
        result = ca.answer_ocsp(authority, query)
    except Exception as error:  # every failure is answered in OCSP, by STATUS_BY_ERROR
        return _failed(error)
    metrics.OCSP_RESPONSES.labels(status=result.status.value).inc()
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
        return _error(Status.MALFORMED_REQUEST)
    return _respond(authority, der)
