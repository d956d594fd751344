"""`/admin/`: the administrators' and RA officers' dashboard, and what every admin page shares.

The other admin pages live beside this one (`admin_people_pages`, `admin_certificate_pages`,
`admin_scep_pages`, `admin_escrow_pages`, `admin_audit_pages`); each calls service functions only.
GET pages need `admin` or `ra-officer` (`Staff`); every POST form goes through `StaffForm`, which also
checks the CSRF token. Changes to people, roles and escrow policy need `admin` (`require_admin`), as in
the REST API. Every change is audited by the service with `actor(me)`, the acting person.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campusca.errors import CampusCAError
from campusca.services import dashboard
from campusca.services.people import WebIdentity
from campusca.web.pages import AuthorityDep, PageForbidden, error_page, render, staff, staff_form, status_of

router = APIRouter(prefix="/admin", include_in_schema=False)
Staff = Annotated[WebIdentity, Depends(staff)]
StaffForm = Annotated[WebIdentity, Depends(staff_form)]

# What a page says after a change succeeded: the POST redirects with ?done=KEY (no free text in URLs).
NOTICES = {
    "person-added": "The person was added.",
    "person-changed": "The changes were saved.",
    "person-deactivated": "The person was deactivated: they can no longer log in.",
    "person-activated": "The person was activated again.",
    "invitation-sent": "The enrollment invitation was sent.",
    "invitation-queued": "The invitation was made, but its message could not be sent yet: it will be retried.",
    "revoked": "The certificate was revoked; the CRL and OCSP say so now.",
    "device-revoked": "The device's certificates were revoked; it can no longer reach the VPN.",
    "approved": "The enrollment was approved: the device receives its certificate at its next poll.",
    "rejected": "The enrollment was rejected.",
    "policy-saved": "The escrow policy was saved.",
    "agent-added": "The recovery agent was added.",
    "verified-ok": "The audit chain verified: no record was changed, removed or reordered.",
    "verified-broken": "The audit chain did NOT verify: see the result below.",
}


def actor(me: WebIdentity) -> str:
    """How the audit trail names the person acting through the web pages."""
    return f"person:{me.username}"


def require_admin(me: WebIdentity) -> None:
    """Changes to people, roles and escrow are for administrators only (RA officers get 403)."""
    if not me.has_any("admin"):
        raise PageForbidden("only administrators can change people, roles and escrow policy", me)


def notice_of(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def done(path: str, notice: str) -> RedirectResponse:
    """After a successful POST: back to a page, which shows the notice (303, so a reload does not re-post)."""
    separator = "&" if "?" in path else "?"
    return RedirectResponse(f"{quote(path, safe='/?=&')}{separator}done={notice}", status_code=303)


def failed(request: Request, error: CampusCAError, me: WebIdentity) -> HTMLResponse:
    """A refused change as a page with the service's sentence and the status from the one table."""
    return error_page(request, status_of(error), str(error), me)


@router.get("/", response_class=HTMLResponse)
def dashboard_page(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    """The figures that say whether anything needs attention, read in one transaction."""
    figures = dashboard.dashboard_figures(authority)
    return render(
        request,
        "admin.html",
        me=me,
        figures=figures,
        expiring_days=dashboard.EXPIRING_DAYS,
        notice=notice_of(request),
    )
