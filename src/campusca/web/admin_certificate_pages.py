"""`/admin/certificates`: search certificates (serial as openssl prints it, subject, e-mail, profile, status)
and revoke one with a reason an end-entity certificate may carry (the same list as the REST API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from campusca.errors import CampusCAError
from campusca.services import ca
from campusca.services.ca.certificates import STATUSES
from campusca.services.ca.revocation import END_ENTITY_REASONS
from campusca.services.errors import InvalidInput
from campusca.web.admin_pages import Staff, StaffForm, actor, done, failed, notice_of
from campusca.web.listing import Listing
from campusca.web.pages import AuthorityDep, openssl_serial, render

router = APIRouter(prefix="/admin/certificates", include_in_schema=False)
REASONS = tuple(reason.value for reason in END_ENTITY_REASONS)


@router.get("", response_class=HTMLResponse)
def certificate_list(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    listing = Listing.read(
        request.url.path,
        request.query_params,
        filters=("serial", "q", "profile", "status"),
        sorts=tuple(ca.CERTIFICATE_SORTS),
        default_sort="issued",
        descending=True,
    )
    filters = listing.filters
    try:
        found = ca.find_certificates(
            authority,
            serial=filters["serial"],
            text=filters["q"],
            profile=filters["profile"],
            status=filters["status"] if filters["status"] in STATUSES else "",
            sort=listing.sort,
            descending=listing.descending,
            limit=listing.per_page,
            offset=listing.offset,
        )
        certificates, total, error = found.items, found.total, ""
    except CampusCAError as refused:  # a serial that is not hexadecimal: say so above an empty list
        certificates, total, error = (), 0, str(refused)
    return render(
        request,
        "admin/certificates.html",
        me=me,
        certificates=certificates,
        list=listing.with_total(total),
        profiles=ca.certificate_profiles(authority),
        statuses=STATUSES,
        error=error,
        notice=notice_of(request),
    )


@router.get("/{serial}", response_class=HTMLResponse)
def certificate_page(request: Request, serial: str, authority: AuthorityDep, me: Staff) -> Response:
    try:
        view = ca.get_certificate(authority, ca.parse_serial(serial))
    except CampusCAError as error:
        return failed(request, error, me)
    return render(
        request,
        "admin/certificate.html",
        me=me,
        c=view,
        reasons=REASONS,
        notice=notice_of(request),
    )


@router.post("/{serial}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    serial: str,
    authority: AuthorityDep,
    me: StaffForm,
    reason: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Revoke with a reason; the CRL is re-signed and OCSP answers revoked when this returns."""
    try:
        parsed = ca.parse_serial(serial)
        if confirm != "yes":
            raise InvalidInput("tick the box to confirm the revocation; nothing was revoked")
        ca.revoke_by_serial(authority, serial=parsed, reason=ca.parse_reason(reason), actor=actor(me))
    except CampusCAError as error:
        return failed(request, error, me)
    return done(f"/admin/certificates/{openssl_serial(parsed)}", "revoked")
