"""The landing page at `/`: what a newcomer opening the printed URL should see."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from campusca.services import people
from campusca.web.pages import AuthorityDep, current, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, authority: AuthorityDep) -> HTMLResponse:
    org = people.main_organisation(authority)
    context = {
        "organisation": org.name if org else "campusca",
        "domain": org.domain if org else "example.edu",
        "cas": authority.ca_slugs(),
        "public_url": authority.settings.public_url.rstrip("/"),
    }
    return render(request, "home.html", me=current(request, authority), **context)
