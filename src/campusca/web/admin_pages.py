"""`/admin/`: the administrators' and RA officers' pages (so far the dashboard)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from campusca.services import ca
from campusca.services.people import WebIdentity
from campusca.web.pages import AuthorityDep, render, staff

router = APIRouter(prefix="/admin", include_in_schema=False)
Staff = Annotated[WebIdentity, Depends(staff)]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    """People and certificate counts, read in one transaction."""
    return render(request, "admin.html", me=me, counts=ca.certificate_counts(authority))
