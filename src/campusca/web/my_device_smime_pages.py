"""`/my/devices/{id}/smime-profile`: a person puts their S/MIME identities on their own enrolled iPhone.

GET says what the profile holds (the escrowed encryption identity, a new signing identity, the Mail
account when the organisation configures its servers) or, in one sentence, why it cannot be made: not
the person's device (404), not enrolled, escrow off, or escrow in quorum mode. The POST (CSRF-checked)
makes the profile (`ota.issue_smime_profile`) and answers it as a download Safari hands to Settings.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from campusca.apple import CONTENT_TYPE
from campusca.services import ota
from campusca.services.errors import ServiceError
from campusca.services.people import WebIdentity
from campusca.web.pages import AuthorityDep, render, signed_form, signed_in, status_of

router = APIRouter(prefix="/devices", include_in_schema=False)  # included by my_pages under /my
Me = Annotated[WebIdentity, Depends(signed_in)]
Signed = Annotated[WebIdentity, Depends(signed_form)]


def _page(
    request: Request,
    authority: AuthorityDep,
    me: WebIdentity,
    device_id: int,
    status: int = 200,
    error: str = "",
) -> Response:
    outlook = ota.smime_profile_outlook(authority, username=me.username, device_id=device_id)
    refusal = error or outlook.refusal or ""
    return render(request, "my_device_smime.html", status, me=me, outlook=outlook, refusal=refusal)


@router.get("/{device_id}/smime-profile", response_class=HTMLResponse)
def smime_profile_page(request: Request, device_id: int, authority: AuthorityDep, me: Me) -> Response:
    """What the profile would hold, and the button that makes it; or why it cannot be made."""
    return _page(request, authority, me, device_id)


@router.post("/{device_id}/smime-profile", response_class=HTMLResponse)
def download_smime_profile(request: Request, device_id: int, authority: AuthorityDep, me: Signed) -> Response:
    """Make the profile and answer it; a refusal shows the page again with the reason."""
    try:
        made = ota.issue_smime_profile(authority, username=me.username, device_id=device_id, actor=me.actor)
    except ServiceError as error:
        if status_of(error) == 404:
            raise
        return _page(request, authority, me, device_id, status_of(error), str(error))
    return Response(
        made.signed_profile,
        media_type=CONTENT_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{made.file_name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
