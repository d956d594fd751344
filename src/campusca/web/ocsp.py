"""OCSP responder endpoint (RFC 6960 Appendix A, RFC 5019 §5): POST /ocsp and GET /ocsp/{base64}.

A raw ASGI layer mounted outside FastAPI's routing, dependencies and middlewares: a query whose answer
is kept in memory (`services.ca.preproduced`) is answered on the event loop without a thread, a
database read or a signature; any other goes to a worker thread once. Every answer under /ocsp is an
OCSP response: failures are mapped by `STATUS_BY_ERROR`, whose catch-all makes an unexpected error an
`internalError` response, never an HTTP error page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from email.utils import format_datetime
from urllib.parse import unquote

from cryptography.x509 import ocsp
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from campusca import metrics
from campusca.pki.errors import OcspMalformedRequest
from campusca.pki.ocsp import OCSP_RESPONSE_CONTENT_TYPE, build_ocsp_error
from campusca.services import ca
from campusca.services import errors as service_errors
from campusca.services.authority import Authority

log = logging.getLogger("campusca.web")
Status = ocsp.OCSPResponseStatus
PREFIX = "/ocsp"
# An OCSPRequest for one certificate is about 100 bytes; a signed one with a chain a few KB.
MAX_REQUEST_BYTES = 64 * 1024

# Errors -> unsuccessful OCSP response status (RFC 6960 §2.3); the first class in the error's MRO wins.
# `Exception` is the catch-all: whatever goes wrong, an OCSP client gets an OCSP answer.
STATUS_BY_ERROR: dict[type[Exception], ocsp.OCSPResponseStatus] = {
    OcspMalformedRequest: Status.MALFORMED_REQUEST,
    service_errors.InvalidInput: Status.MALFORMED_REQUEST,
    service_errors.NotAuthorized: Status.UNAUTHORIZED,  # a CA this responder does not answer for
    service_errors.NotFound: Status.UNAUTHORIZED,  # no CA or responder certificate to answer with
    Exception: Status.INTERNAL_ERROR,
}
_ERROR_BODIES = {status: build_ocsp_error(status) for status in set(STATUS_BY_ERROR.values())}


def status_for(error: Exception) -> ocsp.OCSPResponseStatus:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return Status.INTERNAL_ERROR


_COUNTED = {status: metrics.OCSP_RESPONSES.labels(status=status) for status in ("good", "revoked", "unknown")}
_HEADER_MEMO = 4096  # kept answers whose caching headers are remembered (they change once a second)


class OcspEndpoint:
    """ASGI app answering /ocsp itself and passing everything else (lifespan too) to `app`."""

    def __init__(self, app: ASGIApp, authority: Authority) -> None:
        self.app = app
        self.authority = authority
        self.answers = ca.serving_answers(authority)  # the scheduler and revocations keep them fresh
        self._headers: dict[bytes, tuple[ca.OcspResult, int, list[tuple[bytes, bytes]]]] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self.app, name)  # `state`, `router`, … of the FastAPI app behind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == PREFIX and method == "POST":
                der = await _read_body(receive)
                await self._answer(der, send, head=False)
                return
            if path.startswith(PREFIX + "/") and method in ("GET", "HEAD") and len(path) > len(PREFIX) + 1:
                await self._answer(_decode_get(path[len(PREFIX) + 1 :]), send, head=method == "HEAD")
                return
        await self.app(scope, receive, send)

    async def _answer(self, der: bytes | None, send: Send, *, head: bool) -> None:
        if der is None:
            await _send(send, self._error(Status.MALFORMED_REQUEST), [(b"cache-control", b"no-store")], head)
            return
        result = self.answers.cached(der)
        if result is None:
            try:
                result = await run_in_threadpool(self.answers.answer, der)
            except Exception as error:  # every failure is answered in OCSP, by STATUS_BY_ERROR
                await _send(send, self._failed(error), [(b"cache-control", b"no-store")], head)
                return
        _COUNTED[result.status.value].inc()
        await _send(send, result.der, self._caching_headers(result), head)

    def _caching_headers(self, result: ca.OcspResult) -> list[tuple[bytes, bytes]]:
        if result.nonce:
            return [(b"cache-control", b"no-store")]
        # RFC 5019 §6: let caches keep the response until nextUpdate.
        max_age = max(0, int((result.next_update - self.authority.now()).total_seconds()))
        memo = self._headers.get(result.der)
        if memo is not None and memo[0] is result and memo[1] == max_age:
            return memo[2]
        if len(self._headers) >= _HEADER_MEMO:
            self._headers.clear()
        headers = [
            (b"cache-control", f"max-age={max_age}, public, no-transform, must-revalidate".encode()),
            (b"expires", format_datetime(result.next_update, usegmt=True).encode()),
            (b"last-modified", format_datetime(result.this_update, usegmt=True).encode()),
            (b"etag", b'"' + hashlib.sha256(result.der).hexdigest()[:32].encode() + b'"'),
        ]
        self._headers[result.der] = (result, max_age, headers)
        return headers

    def _error(self, status: ocsp.OCSPResponseStatus) -> bytes:
        metrics.OCSP_RESPONSES.labels(status=status.name.lower()).inc()
        return _ERROR_BODIES.get(status) or build_ocsp_error(status)

    def _failed(self, error: Exception) -> bytes:
        status = status_for(error)
        if status is Status.INTERNAL_ERROR:
            # Logged by type and request id only: exception text may quote request data.
            request_id = uuid.uuid4().hex[:12]
            log.error("unexpected %s answering OCSP (request %s)", type(error).__name__, request_id)
        return self._error(status)


def _decode_get(encoded: str) -> bytes | None:
    """The DER of a GET request: URL-encoded base64 (RFC 6960 A.1), '+' sometimes sent as a space."""
    try:
        return base64.b64decode(unquote(encoded).replace(" ", "+"), validate=False)
    except (binascii.Error, ValueError):
        return None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, body: bytes, headers: list[tuple[bytes, bytes]], head: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", OCSP_RESPONSE_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
