"""`/my/devices`: a person's devices; enrol an iPhone (their own invitation), report one lost (with confirmation).

"Enrol an iPhone" sends the person the same invitation an administrator would (`ota.send_invitation`,
by SMS or e-mail). "Report lost" shows what will be revoked and asks again; the POST revokes every
valid certificate of the device (keyCompromise) and retires it (`ota.report_lost`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campusca.services import ota
from campusca.services.errors import ServiceError
from campusca.services.people import WebIdentity
from campusca.web.pages import AuthorityDep, render, signed_form, signed_in, status_of

router = APIRouter(prefix="/devices", include_in_schema=False)  # included by my_pages under /my
Me = Annotated[WebIdentity, Depends(signed_in)]
Signed = Annotated[WebIdentity, Depends(signed_form)]
CHANNEL_NAMES = {"sms": "SMS", "email": "e-mail"}


def _page(
    request: Request, authority: AuthorityDep, me: WebIdentity, status: int = 200, **context: object
) -> Response:
    devices = ota.list_devices(authority, username=me.username, limit=50)
    invitations = ota.invitation_views(authority, username=me.username, limit=5)
    return render(
        request,
        "my_devices.html",
        status,
        me=me,
        devices=devices,
        invitations=invitations,
        channels=CHANNEL_NAMES,
        **context,
    )


@router.get("", response_class=HTMLResponse)
def devices_page(
    request: Request, authority: AuthorityDep, me: Me, sent: str = "", lost: str = ""
) -> Response:
    """The devices and recent invitations; `sent`/`lost` say what the last form did (after its redirect)."""
    return _page(
        request, authority, me, sent=CHANNEL_NAMES.get(sent, ""), lost=lost if lost.isdigit() else ""
    )


@router.post("/invite", response_class=HTMLResponse)
def invite_myself(
    request: Request,
    authority: AuthorityDep,
    me: Signed,
    channel: Annotated[str, Form(max_length=16)] = "sms",
) -> Response:
    """Send the person their own enrollment invitation; the page then says where it went."""
    try:
        ota.send_invitation(authority, username=me.username, channel=channel, actor=me.actor)
    except ServiceError as error:
        return _page(request, authority, me, status_of(error), error=str(error))
    return RedirectResponse(f"/my/devices?sent={channel}", status_code=303)


@router.get("/{device_id}/lost", response_class=HTMLResponse)
def confirm_lost(request: Request, device_id: int, authority: AuthorityDep, me: Me) -> Response:
    """The confirmation step: which certificates will be revoked, and the button that does it."""
    device = ota.own_device(authority, username=me.username, device_id=device_id)
    return render(request, "my_device_lost.html", me=me, device=device)


@router.post("/{device_id}/lost", response_class=HTMLResponse)
def report_lost(request: Request, device_id: int, authority: AuthorityDep, me: Signed) -> Response:
    """Revoke the device's certificates and retire it; back to the list, which says it is done."""
    ota.report_lost(authority, username=me.username, device_id=device_id, actor=me.actor)
    return RedirectResponse(f"/my/devices?lost={device_id}", status_code=303)
