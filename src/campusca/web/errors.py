"""One table from domain errors to HTTP answers for the REST API and the plain endpoints.

This is the only place that maps domain errors to HTTP; OCSP (web/ocsp.py) and SCEP (web/scep.py)
answer inside their protocols with tables of their own.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from campusca.errors import Busy, CampusCAError
from campusca.services import errors as service_errors
from campusca.services.people.login import LoginThrottled, LoginUnavailable
from campusca.web.deps import Unauthenticated
from campusca.web.pages import error_answer, is_page_path

log = logging.getLogger("campusca.web")

# Error -> HTTP status; the first class in the error's MRO wins. Services raise only ServiceError
# subclasses; a codec error that reaches the API (CampusCAError) refused bytes the caller sent.
# Anything else is unexpected: 500 with a request id (`_unexpected` below).
STATUS_BY_ERROR: dict[type[Exception], int] = {
    Unauthenticated: 401,
    LoginThrottled: 429,
    LoginUnavailable: 503,
    service_errors.InvalidInput: 400,
    service_errors.NotFound: 404,
    service_errors.Conflict: 409,
    service_errors.NotAuthorized: 403,
    service_errors.PolicyViolation: 422,
    service_errors.ChallengeRejected: 403,
    service_errors.EscrowDisabled: 409,
    service_errors.ServiceError: 400,
    CampusCAError: 400,
}


# The database gave up waiting for its write lock: a burst is being worked off; try again shortly.
BUSY_RETRY_AFTER_SECONDS = 2


_PAGE_HTTP = {
    404: "there is no page at this address",
    405: "this page cannot be used that way; go back and use its form",
}


def _status_for(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def problem(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def rest_problem(error: CampusCAError) -> tuple[int, dict[str, str], dict[str, str] | None]:
    """A domain error as the REST API answers it: status, {"code", "message"} body and extra headers."""
    if isinstance(error, Busy):
        return 503, {"code": "busy", "message": str(error)}, {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
    status = _status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(error, LoginThrottled):
        headers = {"Retry-After": str(error.retry_after)}
    return status, {"code": getattr(error, "code", "invalid_input"), "message": str(error)}, headers


def log_unexpected(error: Exception, method: str, path: str) -> str:
    """Log an unexpected error by type and a new request id (its text may quote request data)."""
    request_id = uuid.uuid4().hex[:12]
    log.error("unexpected %s in %s %s (request %s)", type(error).__name__, method, path, request_id)
    return f"internal error; request id {request_id}"


def install_error_handlers(app: FastAPI) -> None:
    # Page paths (/my, /agent, /admin, /login) answer the same statuses as an HTML page (web/pages.py).
    @app.exception_handler(CampusCAError)
    async def _domain(request: Request, error: CampusCAError) -> Response:
        status, body, headers = rest_problem(error)
        if is_page_path(request.url.path):
            # Busy is the one 5xx a page answers: back-pressure, retry shortly.
            extra = headers if isinstance(error, (Busy, LoginThrottled)) else None
            return await error_answer(
                request, status, str(error), extra, identify=not isinstance(error, Busy)
            )
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where or 'request'}: {first.get('msg', 'is invalid')}"
        if is_page_path(request.url.path):
            return await error_answer(request, 422, message)
        return problem(422, "invalid_input", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if is_page_path(request.url.path):
            message = _PAGE_HTTP.get(error.status_code, str(error.detail))
            return await error_answer(request, error.status_code, message)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return problem(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        message = log_unexpected(error, request.method, request.url.path)
        if is_page_path(request.url.path):  # a bug, never a planned answer: still a page, not JSON
            return await error_answer(request, 500, message, identify=False)
        return problem(500, "internal_error", message)
