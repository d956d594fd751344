"""SCEP endpoint (RFC 8894 §4): GetCACaps, GetCACert, GetNextCACert, PKIOperation by GET and POST.

The adapter only moves bytes: the codec decodes and builds, the service decides. A message that
cannot be authenticated gets HTTP 400 (there is nothing to sign a reply for); once it is, every
refusal is a signed CertRep FAILURE (HTTP 200), mapped from domain errors by `FAIL_INFO_BY_ERROR`;
every other failure is a text/plain HTTP answer chosen by `HTTP_STATUS_BY_ERROR`.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from campusca.errors import Busy
from campusca.scep import (
    ContentType,
    FailInfo,
    PkiMessage,
    ReplyTarget,
    ScepDecodeError,
    ScepRequestError,
    build_cert_rep_failure,
    build_cert_rep_pending,
    build_cert_rep_success,
    build_get_ca_caps,
    build_get_ca_cert,
    build_get_next_ca_cert,
    decode_message_param,
    parse_pki_message,
)
from campusca.services import errors as service_errors
from campusca.services import scep
from campusca.services.authority import Authority
from campusca.web._body import replay
from campusca.web._short_path import RouteLabel, in_thread, whole_body
from campusca.web.errors import BUSY_RETRY_AFTER_SECONDS

_T = TypeVar("_T")
router = APIRouter(tags=["scep"])
log = logging.getLogger("campusca.web")

# Once a request is authenticated, a domain error becomes a signed CertRep FAILURE with this failInfo
# (RFC 8894 §3.2.1.4); the first class in the error's MRO wins.
FAIL_INFO_BY_ERROR: dict[type[Exception], FailInfo] = {
    scep.AlgorithmRefused: FailInfo.BAD_ALG,
    service_errors.NotFound: FailInfo.BAD_CERT_ID,
    service_errors.ChallengeRejected: FailInfo.BAD_REQUEST,
    service_errors.NotAuthorized: FailInfo.BAD_REQUEST,
    service_errors.ServiceError: FailInfo.BAD_REQUEST,
}
# Anything else is answered in HTTP with a text/plain body: a message that cannot be authenticated
# (there is nothing to sign a reply for), and failures that are not the requester's, which a client
# may retry. `Exception` is the catch-all: no JSON error page under /scep.
HTTP_STATUS_BY_ERROR: dict[type[Exception], int] = {
    ScepDecodeError: 400,
    service_errors.ServiceError: 500,  # the RA or CA certificates cannot be loaded: a setup problem
    Exception: 500,
}
_PKI_RESPONSE = {
    200: {"content": {ContentType.PKI_MESSAGE.value: {}}},
    400: {"content": {"text/plain": {}}},
    500: {"content": {"text/plain": {}}},
}


def _first_match(table: dict[type[Exception], _T], error: Exception, default: _T) -> _T:
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return default


def _http_failure(error: Exception) -> Response:
    status = _first_match(HTTP_STATUS_BY_ERROR, error, 500)
    if isinstance(error, ScepDecodeError | service_errors.ServiceError):
        return _plain(status, str(error))
    # Logged by type and request id only: exception text may quote request data.
    request_id = uuid.uuid4().hex[:12]
    log.error("unexpected %s answering SCEP (request %s)", type(error).__name__, request_id)
    return _plain(status, f"internal error; request id {request_id}")


def _query(request: Request | Scope) -> dict[str, str]:
    """The query parameters with their raw values: `message` must never be form-decoded (`+` stays `+`)."""
    scope = request if isinstance(request, dict) else request.scope
    params: dict[str, str] = {}
    for part in scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        params.setdefault(unquote(name), value)
    return params


def _authority(request: Request) -> Authority:
    # Read directly rather than through Depends: FastAPI's dependency solving cost more per request
    # than routing it, and SCEP is a hot path (docs/scep-server.md, "Performance").
    authority: Authority = request.app.state.authority
    return authority


def _plain(status: int, text: str) -> Response:
    return Response(text + "\n", status_code=status, media_type="text/plain")


def _reply(body: bytes, content_type: ContentType) -> Response:
    # Exact media types: iOS compares them as strings, so no `; charset=` may be appended.
    return Response(body, headers={"Content-Type": content_type.value})


def _failure(authority: Authority, request: ReplyTarget, fail_info: FailInfo, text: str) -> Response:
    ra = scep.ra_identity(authority)
    reply = build_cert_rep_failure(
        request,
        fail_info,
        text,
        signer_certificate=ra.certificate,
        signer=ra.key,
        signing_time=authority.now(),
    )
    return _reply(reply, ContentType.PKI_MESSAGE)


def pki_operation(authority: Authority, der: bytes) -> Response:
    """Decode, decide, answer: HTTP 400 before authentication, a signed CertRep after it."""
    try:
        return _pki_operation(authority, der)
    except Exception as error:  # answered by HTTP_STATUS_BY_ERROR
        return _http_failure(error)


def _pki_operation(authority: Authority, der: bytes) -> Response:
    ra = scep.ra_identity(authority)
    try:
        message = parse_pki_message(
            der,
            recipient_certificate=ra.certificate,
            decrypter=ra.key,
            allow_single_des=authority.settings.scep_allow_single_des,
        )
    except ScepRequestError as error:
        return _failure(authority, error.request, error.fail_info, error.text)
    try:
        answer = scep.answer_pki_message(authority, message)
    except service_errors.ServiceError as error:
        fail_info = _first_match(FAIL_INFO_BY_ERROR, error, FailInfo.BAD_REQUEST)
        return _failure(authority, message, fail_info, str(error))
    except Busy as error:
        # Not a CertRep FAILURE: nothing is wrong with the request, and clients retry an HTTP 503.
        return Response(
            str(error),
            status_code=503,
            media_type="text/plain",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        )
    return _reply(_build_answer(authority, message, answer), ContentType.PKI_MESSAGE)


def _build_answer(authority: Authority, message: PkiMessage, answer: scep.ScepAnswer) -> bytes:
    ra = scep.ra_identity(authority)
    if answer.kind is scep.ScepAnswerKind.PENDING:
        return build_cert_rep_pending(
            message, signer_certificate=ra.certificate, signer=ra.key, signing_time=authority.now()
        )
    return build_cert_rep_success(
        message,
        issued=answer.certificates,
        crls=answer.crls,
        signer_certificate=ra.certificate,
        signer=ra.key,
        signing_time=authority.now(),
    )


def other_operation(authority: Authority, operation: str) -> Response:
    """GetCACaps, GetCACert and GetNextCACert (RFC 8894 §3.5, §4.2, §4.7)."""
    try:
        return _other_operation(authority, operation.lower())
    except Exception as error:  # answered by HTTP_STATUS_BY_ERROR
        return _http_failure(error)


def _other_operation(authority: Authority, operation: str) -> Response:
    if operation == "getcacaps":
        caps = build_get_ca_caps(
            sha1=authority.settings.scep_allow_sha1, next_ca=bool(scep.next_ca_certificates(authority))
        )
        return _reply(caps.encode(), ContentType.CA_CAPS)
    if operation == "getcacert":
        body, content_type = build_get_ca_cert(
            scep.ra_identity(authority).certificate, scep.ca_certificates(authority)
        )
        return _reply(body, content_type)
    if operation == "getnextcacert":
        next_certificates = scep.next_ca_certificates(authority)
        if not next_certificates:
            return _plain(404, "no rollover CA is configured")
        ra = scep.ra_identity(authority)
        body, content_type = build_get_next_ca_cert(
            next_certificates, signer_certificate=ra.certificate, signer=ra.key, signing_time=authority.now()
        )
        return _reply(body, content_type)
    return _plain(400, "operation must be GetCACaps, GetCACert, GetNextCACert or PKIOperation")


@router.get("/scep", response_class=Response, responses=_PKI_RESPONSE)
async def scep_get(request: Request) -> Response:
    """SCEP over GET: `?operation=GetCACaps|GetCACert|GetNextCACert|PKIOperation&message=…`."""
    authority = _authority(request)
    params = _query(request)
    operation = unquote(params.get("operation", ""))
    if operation.lower() != "pkioperation":
        return await run_in_threadpool(other_operation, authority, operation)
    if not params.get("message"):
        return _plain(400, "PKIOperation by GET needs a message parameter")
    try:
        der = decode_message_param(params["message"])
    except ScepDecodeError as error:
        return _http_failure(error)
    return await run_in_threadpool(pki_operation, authority, der)


@router.post("/scep", response_class=Response, responses=_PKI_RESPONSE)
async def scep_post(request: Request) -> Response:
    """SCEP PKIOperation over POST: the body is the DER pkiMessage, whatever the Content-Type."""
    authority = _authority(request)
    operation = unquote(_query(request).get("operation", ""))
    if operation.lower() != "pkioperation":
        return _plain(400, "only PKIOperation may be sent by POST")
    body = await request.body()  # chunked uploads arrive buffered by BodyLimitMiddleware
    if not body:
        return _plain(400, "PKIOperation by POST needs the pkiMessage as the body")
    return await run_in_threadpool(pki_operation, authority, body)


_ROUTE = RouteLabel("/scep")


class ScepPostEndpoint:
    """ASGI middleware answering `POST /scep?operation=PKIOperation` with a body itself.

    The busiest SCEP request (every enrollment and renewal) on the short path (web/_short_path.py):
    the same `pki_operation` as `scep_post` below, without FastAPI's routing and request handling.
    Any other request, a POST without a body included, goes on to the routes.
    """

    def __init__(self, app: ASGIApp, authority: Authority, threads: ThreadPoolExecutor) -> None:
        self.app = app
        self.authority = authority
        self.threads = threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/scep"
            or unquote(_query(scope).get("operation", "")).lower() != "pkioperation"
        ):
            await self.app(scope, receive, send)
            return
        body = await whole_body(receive)
        if body is None:
            return  # the client went away
        if not body:
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"] = _ROUTE
        response = await in_thread(self.threads, pki_operation, self.authority, body)
        await response(scope, receive, send)
