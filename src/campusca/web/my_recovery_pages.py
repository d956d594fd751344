"""`/my/recovery`: a person asks for the recovery of a lost encryption key, follows it, and collects it once.

The request, the release and their rules are the CLI's (`smime.request_recovery`, `smime.release_lost_key`):
recovery agents approve on `/agent/recovery`; the released PKCS#12 (the new key and every earlier one)
is a download that works once; in quorum mode the release code shown at request time is needed to collect.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campusca.services import smime
from campusca.services.errors import ServiceError
from campusca.services.people import WebIdentity
from campusca.web.my_smime_pages import P12_MEDIA_TYPE
from campusca.web.pages import AuthorityDep, render, signed_form, signed_in, status_of

router = APIRouter(prefix="/recovery", include_in_schema=False)  # included by my_pages under /my
Me = Annotated[WebIdentity, Depends(signed_in)]
Signed = Annotated[WebIdentity, Depends(signed_form)]
Secret = Annotated[str, Form(max_length=1024)]


def _page(
    request: Request, authority: AuthorityDep, me: WebIdentity, status: int = 200, **context: object
) -> Response:
    custody = smime.key_custody_of(authority, me.username)
    return render(
        request,
        "my_recovery.html",
        status,
        me=me,
        items=smime.own_recoveries(authority, me.username),
        escrowed=any(k.escrowed for k in custody),
        **context,
    )


@router.get("", response_class=HTMLResponse)
def recovery_page(request: Request, authority: AuthorityDep, me: Me, withdrawn: str = "") -> Response:
    return _page(request, authority, me, withdrawn=withdrawn.isdigit())


@router.post("", response_class=HTMLResponse)
def ask_for_recovery(request: Request, authority: AuthorityDep, me: Signed) -> Response:
    """Open a lost-key request; in quorum mode the answer shows the release code, this once."""
    try:
        requested = smime.request_recovery(
            authority, username=me.username, reason="lost-key", actor=me.actor, requester=me.username
        )
    except ServiceError as error:
        return _page(request, authority, me, status_of(error), error=str(error))
    return _page(request, authority, me, requested=requested)


@router.post("/{request_id}/collect", response_class=HTMLResponse)
def collect(
    request: Request,
    request_id: int,
    authority: AuthorityDep,
    me: Signed,
    password: Secret = "",
    repeat: Secret = "",
    release_code: Annotated[str, Form(max_length=256)] = "",
    legacy: Annotated[bool, Form()] = False,
) -> Response:
    """Release the approved request once, as a PKCS#12 download; anything refused shows the page again."""
    strength = smime.judge_pkcs12_password(authority, password, owner=me.username)
    error = strength.refusal if not strength.accepted else None
    if error is None and password != repeat:
        error = "the two PKCS#12 passwords differ; type the same password twice"
    if error is not None:
        return _page(request, authority, me, 422, error=error, strength=strength, failed=request_id)
    try:
        released = smime.release_lost_key(
            authority,
            request_id=request_id,
            password=password,
            actor=me.actor,
            releaser=me.username,
            release_code=release_code.strip() or None,
            legacy=legacy,
        )
    except ServiceError as error:
        return _page(request, authority, me, status_of(error), error=str(error), failed=request_id)
    return Response(
        released.pkcs12,
        media_type=P12_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{me.username}-recovered-{request_id}.p12"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{request_id}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, request_id: int, authority: AuthorityDep, me: Signed) -> Response:
    """The requester withdraws a request that is not yet released (recorded as rejected by them)."""
    smime.reject_recovery(
        authority, request_id=request_id, by=me.username, actor=me.actor, note="withdrawn by the requester"
    )
    return RedirectResponse(f"/my/recovery?withdrawn={request_id}", status_code=303)
