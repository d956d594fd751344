"""What every web page shares: templates, security headers, the session cookie, who is logged in, roles.

Pages are server-rendered and work without JavaScript. A page that needs a person depends on
`signed_in` (nobody logged in: a redirect to /login?next=...), an administrator's page on `staff`
(logged in without the role: 403). Domain errors map to a page status in one table, never a 5xx.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from campusca.pki.certificates import openssl_serial
from campusca.services import errors as service_errors
from campusca.services import people
from campusca.services.authority import Authority
from campusca.services.people import WebIdentity
from campusca.services.people.login import LoginThrottled, LoginUnavailable
from campusca.web.deps import get_authority

SESSION_COOKIE = "campusca_session"
STAFF_ROLES = ("admin", "ra-officer")
STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
AuthorityDep = Annotated[Authority, Depends(get_authority)]

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# The one table from domain errors to the status of a page, for the web pages and the enrollment pages
# (and the device's /enroll/ota answer); most specific first, since LoginThrottled is a NotAuthorized
# and ChallengeSpent a ChallengeRejected. It agrees with the REST table (web/errors.py) except for one
# deliberate case: ChallengeSpent, a link (or challenge) that was valid and is now used, withdrawn or
# expired, answers 410 Gone, which says what the person needs to know: this link will never work again,
# ask for a new one. A link or challenge that is simply wrong stays 403, as in REST.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (LoginThrottled, 429),
    (LoginUnavailable, 503),
    (service_errors.ChallengeSpent, 410),
    (service_errors.ChallengeRejected, 403),
    (service_errors.NotAuthorized, 403),
    (service_errors.InvalidInput, 400),
    (service_errors.NotFound, 404),
    (service_errors.Conflict, 409),
    (service_errors.PolicyViolation, 422),
    (service_errors.EscrowDisabled, 409),
)


def sentence(message: str) -> str:
    """A domain error's message as a sentence; unlike `capitalize`, the rest keeps its case (RA, serials)."""
    text = message.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}." if text else ""


templates.env.filters["serial"] = openssl_serial
templates.env.filters["sentence"] = sentence


class LoginRequired(Exception):
    """Nobody is logged in on a page that needs a person; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """The person is logged in but lacks the role the page needs (403)."""

    def __init__(self, message: str, me: WebIdentity) -> None:
        super().__init__(message)
        self.me = me


def status_of(error: Exception) -> int:
    return next((status for cls, status in _STATUS if isinstance(error, cls)), 400)


def secure(authority: Authority) -> bool:
    return authority.settings.public_url.startswith("https://")


def safe_next(value: str | None) -> str:
    """Only a same-site relative path is followed after login; anything else goes to /my/.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/\t/evil" or "/\\evil"
    would become "//evil", another site: only printable ASCII without backslashes is followed.
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/my/"
    return value if all(" " < character < "\x7f" for character in value) else "/my/"


def render(
    request: Request, name: str, status: int = 200, *, me: WebIdentity | None = None, **context: object
) -> HTMLResponse:
    here = request.url.path
    page = {"me": me, "staff": bool(me and me.has_any(*STAFF_ROLES)), "here": here, **context}
    response = templates.TemplateResponse(request, name, page, status_code=status)
    response.headers.update(PAGE_HEADERS)
    return response


def error_page(request: Request, status: int, message: str, me: WebIdentity | None = None) -> HTMLResponse:
    return render(request, "page_error.html", status, me=me, message=message, status_code=status)


def current(request: Request, authority: Authority) -> WebIdentity | None:
    return people.web_identity(authority, request.cookies.get(SESSION_COOKIE))


def signed_in(request: Request, authority: AuthorityDep) -> WebIdentity:
    """The logged-in person, or LoginRequired naming this page as where to come back."""
    identity = current(request, authority)
    if identity is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)
    return identity


def staff(me: Annotated[WebIdentity, Depends(signed_in)]) -> WebIdentity:
    if not me.has_any(*STAFF_ROLES):
        raise PageForbidden("this page is for administrators and RA officers", me)
    return me


CSRF_REFUSED = "this form has expired or did not come from this site; reload the page and try again"


def signed_form(
    me: Annotated[WebIdentity, Depends(signed_in)], csrf: Annotated[str, Form(max_length=128)] = ""
) -> WebIdentity:
    """The logged-in person of a POSTed page form that carries their session's CSRF token; 403 otherwise.

    Every state-changing page form depends on this (or `staff_form`), so a form posted from another site,
    or without the token, is refused before the handler runs and changes nothing.
    """
    given = csrf.encode(errors="surrogatepass")
    if not csrf or not hmac.compare_digest(given, me.csrf_token.encode()):
        raise PageForbidden(CSRF_REFUSED, me)
    return me


def staff_form(me: Annotated[WebIdentity, Depends(signed_form)]) -> WebIdentity:
    """`signed_form` for the administrators' and RA officers' pages."""
    return staff(me)


PAGE_PREFIXES = ("/my", "/agent", "/admin", "/login", "/logout")


def is_page_path(path: str) -> bool:
    """Paths whose errors answer an HTML page (page_error.html) instead of the REST problem JSON."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


async def error_answer(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    identify: bool = True,
) -> HTMLResponse:
    """The error page for an error raised outside a page handler (validation, 404, a domain error), naming
    whoever is logged in when that can be read (in the thread pool: it reads the database). Busy and
    unexpected errors pass `identify=False`: the database is the likely trouble, so the page stays anonymous."""
    me = None
    if identify:
        try:
            me = await run_in_threadpool(current, request, request.app.state.authority)
        except Exception:  # noqa: BLE001 - the error page must render even when the session cannot be read
            me = None
    response = error_page(request, status, message, me)
    response.headers.update(headers or {})
    return response


def install_page_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(error.next_path, safe='/')}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, error: PageForbidden) -> Response:
        return error_page(request, 403, str(error), error.me)
