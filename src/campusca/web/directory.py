"""The public certificate directory (no login): a person's current S/MIME certificates by e-mail address.

`/directory/certificates?email=` answers JSON to programs and an HTML page to browsers: HTML only when
the request's Accept header names `text/html` (or `text/*`) at least as high as JSON, so a client that
sends no Accept header, `*/*` or `application/json` keeps getting JSON.
"""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query, Request, Response

from campusca.errors import CampusCAError
from campusca.services import ca, smime
from campusca.services.authority import Authority
from campusca.web.deps import get_authority
from campusca.web.pages import current, render, status_of

router = APIRouter(prefix="/directory", tags=["directory"])
_CACHE = {"Cache-Control": "public, max-age=300"}
AuthorityDep = Annotated[Authority, Depends(get_authority)]


def _quality(accept: str, wanted: tuple[str, ...]) -> float:
    """The highest q the Accept header gives any of the media ranges `wanted` (0 when none is named)."""
    best = 0.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() not in wanted:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, q)
    return best


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    html = _quality(accept, ("text/html", "text/*"))
    return html > 0 and html >= _quality(accept, ("application/json", "application/*", "*/*"))


@router.get(
    "/certificates",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
)
def find_certificates(
    request: Request,
    response: Response,
    authority: AuthorityDep,
    email: str = Query(..., max_length=254, description="The mailbox, e.g. mary@example.edu"),
) -> Response | dict[str, object]:
    """Current valid S/MIME certificates of an address; `purpose` says which signs and which to encrypt to.

    JSON, or an HTML page with download links when the browser asks for `text/html`.
    """
    response.headers["Vary"] = "Accept"  # one URL, two representations: caches must keep them apart
    if not wants_html(request):
        entries = smime.lookup.directory_entries(authority, email)
        return {"email": email, "certificates": [e.to_json(authority.settings.public_url) for e in entries]}
    me = current(request, authority)
    try:
        found, error, status = smime.lookup.directory_entries(authority, email), "", 200
    except CampusCAError as refused:
        found, error, status = [], str(refused), status_of(refused)
    page = render(request, "directory.html", status, me=me, email=email, entries=found, error=error)
    page.headers["Vary"] = "Accept"
    return page


@router.get(
    "/certificates/{serial}.pem",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
def certificate_pem(serial: str, authority: AuthorityDep) -> Response:
    """One S/MIME certificate in PEM (revoked and expired ones too, for checking old signatures)."""
    der = smime.lookup.directory_certificate_der(authority, ca.parse_serial(serial))
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type="application/x-pem-file", headers=_CACHE)


@router.get(
    "/certificates/{serial}.der",
    response_class=Response,
    responses={200: {"content": {"application/pkix-cert": {}}}},
)
def certificate_der(serial: str, authority: AuthorityDep) -> Response:
    """One S/MIME certificate in DER."""
    der = smime.lookup.directory_certificate_der(authority, ca.parse_serial(serial))
    return Response(der, media_type="application/pkix-cert", headers=_CACHE)
