"""The enrollment pages an SMS link opens (login, profile download, decline) and the Profile Service URL.

Server-rendered, no JavaScript, phone-sized. The login form is protected by a double-submit CSRF cookie;
after login, forms carry a token derived from the HttpOnly session cookie. The device's phase-2/3 POSTs
arrive without cookies at `/enroll/ota` (Apple OTA guide).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from campusca.apple import CONTENT_TYPE
from campusca.errors import CampusCAError
from campusca.services import errors as service_errors
from campusca.services import ota
from campusca.services.authority import Authority
from campusca.web.deps import get_authority
from campusca.web.pages import secure, status_of

router = APIRouter(prefix="/enroll", tags=["enrollment"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

SESSION_COOKIE = "campusca_enroll"
LOGIN_CSRF_COOKIE = "campusca_login_csrf"
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",  # the link token is in the URL
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
AuthorityDep = Annotated[Authority, Depends(get_authority)]


def _render(request: Request, name: str, status: int = 200, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(_PAGE_HEADERS)
    return response


def _login_form(
    request: Request, authority: Authority, token: str, status: int = 200, error: str = ""
) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = _render(request, "enroll_login.html", status, token=token, csrf=csrf, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, path="/enroll", httponly=True, secure=secure(authority), samesite="strict"
    )
    return response


@router.get("/{token}", response_class=HTMLResponse)
def enroll_page(request: Request, token: str, authority: AuthorityDep) -> Response:
    """The link from the invitation: the login form, or the enrollment status once logged in."""
    try:
        state = ota.enrollment_page(authority, request.cookies.get(SESSION_COOKIE), token)
        return _render(request, "enroll_status.html", token=token, page=state)
    except service_errors.NotAuthorized:
        pass
    try:
        ota.check_enrollment_link(authority, token)
    except service_errors.ChallengeRejected as error:
        return _render(request, "enroll_error.html", status_of(error), message=str(error))
    return _login_form(request, authority, token)


@router.post("/{token}/login", response_class=HTMLResponse)
def enroll_login(
    request: Request,
    token: str,
    authority: AuthorityDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Check the CSRF pair, then the password (rate-limited); only the invitee gets a session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    # Compared as bytes: compare_digest refuses non-ASCII str, and a form field can hold anything.
    given = csrf.encode(errors="surrogatepass")
    if not csrf or not hmac.compare_digest(given, expected.encode(errors="surrogatepass")):
        return _login_form(request, authority, token, 403, "The form had expired; please try again.")
    address = request.client.host if request.client else "unknown"
    try:
        login = ota.log_in_on_link(
            authority, token=token, username=username, password=password, address=address
        )
    except service_errors.ChallengeRejected as error:
        return _render(request, "enroll_error.html", status_of(error), message=str(error))
    except CampusCAError as error:
        return _login_form(request, authority, token, status_of(error), str(error))
    response = RedirectResponse(f"/enroll/{token}", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        login.session_token,
        path="/enroll",
        httponly=True,
        secure=secure(authority),
        samesite="lax",
        max_age=authority.settings.enroll_session_minutes * 60,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/enroll")
    return response


@router.get("/{token}/profile")
def enroll_profile(request: Request, token: str, authority: AuthorityDep) -> Response:
    """Phase 1: the signed Profile Service profile (Safari hands it to Settings)."""
    try:
        body = ota.profile_service_for_link(authority, request.cookies.get(SESSION_COOKIE), token)
    except CampusCAError as error:
        return _render(request, "enroll_error.html", status_of(error), message=str(error))
    return Response(
        body,
        media_type=CONTENT_TYPE,
        headers={
            "Content-Disposition": 'attachment; filename="enroll.mobileconfig"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/{token}/decline", response_class=HTMLResponse)
def enroll_decline(
    request: Request, token: str, authority: AuthorityDep, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    """Alice says no: the enrollment (and its device) become `declined`, visible to administrators."""
    try:
        ota.decline_on_link(authority, request.cookies.get(SESSION_COOKIE), token, csrf)
    except CampusCAError as error:
        return _render(request, "enroll_error.html", status_of(error), message=str(error))
    return RedirectResponse(f"/enroll/{token}", status_code=303)


@router.post("/ota")
async def profile_service(request: Request, authority: AuthorityDep) -> Response:
    """Phases 2 and 3: the device's CMS-signed attributes in, a signed profile out."""
    body = await request.body()
    try:
        answer = await run_in_threadpool(ota.handle_device_request, authority, body)
    except CampusCAError as error:
        return PlainTextResponse(str(error), status_code=status_of(error))
    return Response(answer, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
