"""`/admin/scep`: one-time challenges (issue one, see the open ones) and enrollments awaiting approval."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from campusca.errors import CampusCAError
from campusca.services import scep
from campusca.web.admin_pages import Staff, StaffForm, actor, done, failed, notice_of
from campusca.web.listing import Listing
from campusca.web.pages import AuthorityDep, render

router = APIRouter(prefix="/admin/scep", include_in_schema=False)
RECENT = 25


@router.get("", response_class=HTMLResponse)
def scep_page(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    """Open challenges are few (each lives `scep_challenge_ttl_seconds`), so they are paged in memory."""
    listing = Listing.read(
        request.url.path, request.query_params, filters=(), sorts=("created",), default_sort="created"
    )
    challenges = scep.list_challenges(authority)
    return render(
        request,
        "admin/scep.html",
        me=me,
        challenges=challenges[listing.offset : listing.offset + listing.per_page],
        list=listing.with_total(len(challenges)),
        pending=scep.list_enrollments(authority, status="pending", limit=100),
        recent=scep.list_enrollments(authority, limit=RECENT),
        recent_limit=RECENT,
        default_profile=authority.settings.scep_default_profile,
        notice=notice_of(request),
    )


@router.post("/challenges", response_class=HTMLResponse)
def issue_challenge(
    request: Request,
    authority: AuthorityDep,
    me: StaffForm,
    username: Annotated[str, Form(max_length=128)] = "",
    device_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A challenge for a person's device; its secret is on this answer only (no-store), never stored."""
    try:
        new = scep.issue_challenge(
            authority, username=username, device_ref=device_ref.strip() or None, actor=actor(me)
        )
    except CampusCAError as error:
        return failed(request, error, me)
    return render(request, "admin/scep_challenge.html", me=me, new=new)


@router.post("/enrollments/{enrollment_id}/approve", response_class=HTMLResponse)
def approve(request: Request, enrollment_id: int, authority: AuthorityDep, me: StaffForm) -> Response:
    try:
        scep.approve_pending(authority, enrollment_id, actor=actor(me))
    except CampusCAError as error:
        return failed(request, error, me)
    return done("/admin/scep", "approved")


@router.post("/enrollments/{enrollment_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    enrollment_id: int,
    authority: AuthorityDep,
    me: StaffForm,
    reason: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        scep.reject_pending(authority, enrollment_id, actor=actor(me), reason=reason.strip() or None)
    except CampusCAError as error:
        return failed(request, error, me)
    return done("/admin/scep", "rejected")
