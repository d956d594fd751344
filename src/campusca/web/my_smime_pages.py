"""`/my/smime`: a person issues their own S/MIME pair and downloads it as one PKCS#12 file.

What `campusca smime issue` makes (`smime.issue_smime_bundle`): a signing and an encryption identity in
one password-protected file. The page says before issuing whether the encryption key will be escrowed
and by whom (and, once issued, under "Your current certificates"); a password the passphrase policy
refuses is answered with the form again, the reason and a strength meter, and nothing is issued.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from campusca.services import smime
from campusca.services.errors import ServiceError
from campusca.services.people import WebIdentity
from campusca.web.pages import AuthorityDep, render, signed_form, signed_in, status_of

router = APIRouter(include_in_schema=False)  # included by my_pages under /my
Me = Annotated[WebIdentity, Depends(signed_in)]
Signed = Annotated[WebIdentity, Depends(signed_form)]
Secret = Annotated[str, Form(max_length=1024)]
P12_MEDIA_TYPE = "application/x-pkcs12"
# /my/smime alone loads one static script (web/static/strength.js: the meter as the person types, asking
# /my/smime/strength); every other page keeps the script-less policy of pages.PAGE_HEADERS.
SCRIPTED_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _form(
    request: Request,
    authority: AuthorityDep,
    me: WebIdentity,
    status: int = 200,
    *,
    error: str = "",
    strength: smime.PasswordStrength | None = None,
    legacy: bool = False,
) -> Response:
    outlook = smime.escrow_outlook(authority, me.username)
    custody = smime.key_custody_of(authority, me.username)
    response = render(
        request,
        "my_smime.html",
        status,
        me=me,
        outlook=outlook,
        current=custody[0] if custody else None,
        error=error,
        strength=strength,
        legacy=legacy,
    )
    response.headers["Content-Security-Policy"] = SCRIPTED_CSP
    return response


@router.get("/smime", response_class=HTMLResponse)
def smime_page(request: Request, authority: AuthorityDep, me: Me) -> Response:
    """The form, with what will happen to the encryption key."""
    return _form(request, authority, me)


@router.post("/smime/strength")
def password_strength(authority: AuthorityDep, me: Signed, password: Secret = "") -> Response:
    """The meter for the password typed so far (the script's question); changes nothing, never echoes it."""
    strength = smime.judge_pkcs12_password(authority, password, owner=me.username)
    body = {"score": strength.score, "label": strength.label, "accepted": strength.accepted}
    return JSONResponse(body | {"refusal": strength.refusal}, headers={"Cache-Control": "no-store"})


@router.post("/smime", response_class=HTMLResponse)
def issue_smime(
    request: Request,
    authority: AuthorityDep,
    me: Signed,
    password: Secret = "",
    repeat: Secret = "",
    legacy: Annotated[bool, Form()] = False,
) -> Response:
    """Issue the pair and answer the PKCS#12 as a download; a refused password or policy shows the form again."""
    strength = smime.judge_pkcs12_password(authority, password, owner=me.username)
    if not strength.accepted:
        return _form(
            request, authority, me, 422, error=strength.refusal or "", strength=strength, legacy=legacy
        )
    if password != repeat:
        error = "the two PKCS#12 passwords differ; type the same password twice"
        return _form(request, authority, me, 422, error=error, strength=strength, legacy=legacy)
    try:
        bundle = smime.issue_smime_bundle(
            authority, username=me.username, actor=me.actor, password=password, legacy=legacy
        )
    except ServiceError as error:
        return _form(request, authority, me, status_of(error), error=str(error), legacy=legacy)
    suffix = "-legacy" if legacy else ""
    return Response(
        bundle.pkcs12 or b"",
        media_type=P12_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{me.username}-smime{suffix}.p12"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
