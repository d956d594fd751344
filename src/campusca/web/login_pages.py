"""`/login` and `/logout` for the web pages, through the one login service (throttled, audited).

The login form is protected by a double-submit CSRF cookie (there is no session yet); after login,
forms carry the token derived from the HttpOnly session cookie. Every refusal of a password shows the
same sentence, whoever the username names.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campusca.errors import CampusCAError
from campusca.services import people
from campusca.services.authority import Authority
from campusca.services.people.login import LoginThrottled
from campusca.web.pages import SESSION_COOKIE, AuthorityDep, current, render, safe_next, secure, status_of

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "campusca_web_login_csrf"
EXPIRED = "The form had expired; please try again."


def _login_form(
    request: Request, authority: Authority, next_path: str, status: int = 200, error: object = ""
) -> Response:
    """The form with a fresh CSRF pair; a throttled login's page says when to retry (Retry-After)."""
    csrf = secrets.token_urlsafe(32)
    response = render(request, "login.html", status, csrf=csrf, next=safe_next(next_path), error=str(error))
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, path="/login", httponly=True, secure=secure(authority), samesite="strict"
    )
    if isinstance(error, LoginThrottled):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _same(given: str, expected: str) -> bool:
    # Compared as bytes: compare_digest refuses non-ASCII str, and a form field can hold anything.
    encoded = given.encode(errors="surrogatepass")
    return bool(given) and hmac.compare_digest(encoded, expected.encode(errors="surrogatepass"))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, authority: AuthorityDep, next: str = "/my/") -> Response:
    """The login form; someone already logged in goes straight on."""
    if current(request, authority) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, authority, next)


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    authority: AuthorityDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/my/",
) -> Response:
    """Check the CSRF pair, then the password; a session cookie and a redirect to `next` on success."""
    if not _same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE) or ""):
        return _login_form(request, authority, next, 403, EXPIRED)
    address = request.client.host if request.client else "unknown"
    try:
        login = people.log_in_web(authority, username=username, password=password, address=address)
    except CampusCAError as error:
        return _login_form(request, authority, next, status_of(error), error)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, login.token, path="/", httponly=True, secure=secure(authority), samesite="lax"
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", response_class=HTMLResponse)
def log_out(
    request: Request, authority: AuthorityDep, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    """End the session when the form carries its CSRF token; 403 and nothing changes otherwise."""
    try:
        people.log_out_web(authority, request.cookies.get(SESSION_COOKIE), csrf)
    except CampusCAError as error:
        status = status_of(error)
        return render(request, "page_error.html", status, message=str(error), status_code=status)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
