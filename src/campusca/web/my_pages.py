"""`/my/`: the logged-in person's certificates (with PEM downloads), devices and escrowed keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from campusca.errors import CampusCAError
from campusca.services import ca, ota, smime
from campusca.services.people import WebIdentity
from campusca.web import my_device_pages, my_device_smime_pages, my_recovery_pages, my_smime_pages
from campusca.web.pages import AuthorityDep, error_page, openssl_serial, render, signed_in, status_of

router = APIRouter(prefix="/my", include_in_schema=False)
for _section in (my_smime_pages, my_device_pages, my_device_smime_pages, my_recovery_pages):
    router.include_router(_section.router)
Me = Annotated[WebIdentity, Depends(signed_in)]


@router.get("/", response_class=HTMLResponse)
def my_page(request: Request, authority: AuthorityDep, me: Me) -> Response:
    """Certificates (newest first), devices and what happened to the person's encryption keys."""
    certificates, total = ca.list_certificates(authority, username=me.username, limit=100)
    devices = ota.list_devices(authority, username=me.username, limit=50)
    custody = smime.key_custody_of(authority, me.username)
    return render(
        request, "my.html", me=me, certificates=certificates, total=total, devices=devices, custody=custody
    )


@router.get("/certificates/{serial}.pem")
def my_certificate_pem(request: Request, serial: str, authority: AuthorityDep, me: Me) -> Response:
    """One of the person's own certificates as PEM; anyone else's is 404, like one that does not exist."""
    try:
        view = ca.certificate_of_person(authority, ca.parse_serial(serial), me.username)
    except CampusCAError as error:
        return error_page(request, 404 if status_of(error) == 400 else status_of(error), str(error), me)
    name = openssl_serial(view.serial)
    return Response(
        view.pem,
        media_type="application/x-pem-file",
        headers={"Content-Disposition": f'attachment; filename="{name}.pem"', "Cache-Control": "no-store"},
    )
