"""The landing page at `/`: what a newcomer opening the printed URL should see."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from campusca.services import people
from campusca.services.authority import Authority
from campusca.web.deps import get_authority

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, authority: Annotated[Authority, Depends(get_authority)]) -> HTMLResponse:
    org = people.main_organisation(authority)
    context = {
        "organisation": org.name if org else "campusca",
        "domain": org.domain if org else "example.edu",
        "cas": authority.ca_slugs(),
        "public_url": authority.settings.public_url.rstrip("/"),
    }
    return templates.TemplateResponse(request, "home.html", context)
