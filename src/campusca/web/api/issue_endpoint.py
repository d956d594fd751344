"""POST /api/v1/certificates on a short path: the busiest write, answered without FastAPI's machinery.

Issuing a certificate costs about 2 ms of CPU, and FastAPI's routing, dependency resolution, request
and response models added 1.3 ms more to each one. This plain ASGI layer sits inside the write
admission, metrics and body-limit middlewares and answers a well-formed issuance request itself, with
one hand-over to a thread (web/_short_path.py) for the token check and the service call. Anything else — a body
that is not a JSON object with the documented fields, another method, another path — goes on to
FastAPI unchanged, so validation errors, the OpenAPI entry and the route itself stay FastAPI's
(`web/api/certificates.py`), and domain errors are answered from the REST error table
(`web/errors.rest_problem`), as they would be there.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.security import HTTPAuthorizationCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from campusca.errors import CampusCAError
from campusca.services import ca
from campusca.services.authority import Authority
from campusca.web._body import replay
from campusca.web._short_path import RouteLabel, in_thread, whole_body
from campusca.web.api.certificates import IssueRequest, issue_response
from campusca.web.deps import identify
from campusca.web.errors import log_unexpected, rest_problem

PATH = "/api/v1/certificates"
_CSR_MAX = next(m.max_length for m in IssueRequest.model_fields["csr"].metadata if hasattr(m, "max_length"))
_JSON = (b"content-type", b"application/json")
_ROUTE = RouteLabel(PATH)


class IssueEndpoint:
    """ASGI middleware answering well-formed `POST /api/v1/certificates` itself (module docstring)."""

    def __init__(self, app: ASGIApp, authority: Authority, threads: ThreadPoolExecutor) -> None:
        self.app = app
        self.authority = authority
        self.threads = threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body = await whole_body(receive)
        if body is None:
            return  # the client went away
        fields = _issue_fields(scope, body)
        if fields is None:  # FastAPI answers it: the same 422 as always
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"] = _ROUTE
        status, payload, headers = await in_thread(self.threads, self._issue, _authorization(scope), fields)
        await _send_json(send, status, payload, headers)

    def _issue(
        self, credentials: HTTPAuthorizationCredentials | None, fields: dict[str, Any]
    ) -> tuple[int, bytes, dict[str, str] | None]:
        try:
            identity = identify(self.authority, credentials, "ra-officer")
            issued = ca.issue_from_csr(
                self.authority,
                profile_name=fields["profile"],
                csr_bytes=fields["csr"].encode(),
                username=fields.get("username"),
                actor=identity.actor,
            )
            return 201, _dumps(issue_response(issued)), None
        except CampusCAError as error:
            status, problem, headers = rest_problem(error)
            return status, _dumps(problem), headers
        except Exception as error:  # noqa: BLE001 — an unexpected error is a 500 with a request id
            message = log_unexpected(error, "POST", PATH)
            return 500, _dumps({"code": "internal_error", "message": message}), None


def _issue_fields(scope: Scope, body: bytes) -> dict[str, Any] | None:
    """The request's fields if they are plainly what IssueRequest accepts, else None."""
    if not _is_json(scope):
        return None
    try:
        fields = json.loads(body)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    profile, csr, username = fields.get("profile"), fields.get("csr"), fields.get("username")
    if not isinstance(profile, str) or not isinstance(csr, str) or len(csr) > _CSR_MAX:
        return None
    if username is not None and not isinstance(username, str):
        return None
    return fields


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json"
    return False


def _authorization(scope: Scope) -> HTTPAuthorizationCredentials | None:
    """The bearer credentials as FastAPI's HTTPBearer(auto_error=False) reads them."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
            return None
    return None


def _dumps(payload: object) -> bytes:
    # As Starlette's JSONResponse renders.
    return json.dumps(
        payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


async def _send_json(send: Send, status: int, body: bytes, headers: dict[str, str] | None) -> None:
    raw = [(b"content-length", str(len(body)).encode()), _JSON]
    raw += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
