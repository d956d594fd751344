"""`/admin/audit`: browse and filter the audit trail, and verify its hash chain with progress.

Verification runs a slice of records per request (`audit_review.verify_slice`): the first slice on the
POST of the "verify" button, each further one on a GET the progress page's `<meta http-equiv=refresh>`
makes (no JavaScript). A continuation link carries `proof`, an HMAC of where it continues under the
session's CSRF token: only this session, having verified everything before `after`, can continue from
there, so a hand-made `after=` cannot skip records and have the run recorded as a success. The result
is recorded with the acting person once the run reaches the end.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from campusca.services import audit_review
from campusca.services.people import WebIdentity
from campusca.web.admin_pages import Staff, StaffForm, actor, done, notice_of
from campusca.web.listing import Listing, whole_number
from campusca.web.pages import AuthorityDep, PageForbidden, render

router = APIRouter(prefix="/admin/audit", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def audit_page(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    listing = Listing.read(
        request.url.path,
        request.query_params,
        filters=("actor", "action", "target"),
        sorts=("seq",),
        default_sort="seq",
        descending=True,
    )
    found = audit_review.search_records(
        authority,
        actor=listing.filters["actor"],
        action=listing.filters["action"],
        target=listing.filters["target"],
        newest_first=listing.descending,
        limit=listing.per_page,
        offset=listing.offset,
    )
    verification, records = audit_review.last_verification(authority)
    return render(
        request,
        "admin/audit.html",
        me=me,
        records=found.items,
        list=listing.with_total(found.total),
        verification=verification,
        audit_records=records,
        notice=notice_of(request),
    )


def _proof(me: WebIdentity, after: int) -> str:
    return hmac.new(me.csrf_token.encode(), f"audit-verify:{after}".encode(), hashlib.sha256).hexdigest()


def _step(request: Request, authority: AuthorityDep, me: WebIdentity, after: int) -> Response:
    step = audit_review.verify_slice(authority, after=after)
    if not step.done:
        return render(request, "admin/audit_verify.html", me=me, step=step, proof=_proof(me, step.checked))
    audit_review.record_verification(authority, step, actor=actor(me))
    return done("/admin/audit", "verified-ok" if step.ok else "verified-broken")


@router.post("/verify", response_class=HTMLResponse)
def start_verification(request: Request, authority: AuthorityDep, me: StaffForm) -> Response:
    return _step(request, authority, me, 0)


@router.get("/verify", response_class=HTMLResponse)
def continue_verification(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    after = whole_number(request.query_params.get("after"), 0, high=2**62)
    given = request.query_params.get("proof", "")
    if not hmac.compare_digest(given.encode(errors="surrogatepass"), _proof(me, after).encode()):
        raise PageForbidden(
            "this verification link is not from your session; start again on the audit page", me
        )
    return _step(request, authority, me, after)
