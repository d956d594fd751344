"""`/agent/recovery`: recovery agents and legal officers act on key recovery requests.

The queue (`smime.recovery_queue`) lists the open requests the person may act on: agents approve (in
quorum mode with their share passphrase) or reject requests of their escrow domain, never their own
request nor the recovery of their own key; legal officers open legal cases, release them once (the
messages are decrypted server-side and answered as a ZIP) and close them. The services enforce every
rule again; this module only maps forms to their calls.
"""

from __future__ import annotations

import io
import zipfile
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campusca.services import smime
from campusca.services.errors import ServiceError
from campusca.services.people import WebIdentity
from campusca.web.my_smime_pages import P12_MEDIA_TYPE
from campusca.web.pages import AuthorityDep, PageForbidden, render, signed_form, signed_in, status_of

router = APIRouter(prefix="/agent", include_in_schema=False)
AGENT_ROLES = ("recovery-agent", "legal-officer")
Secret = Annotated[str, Form(max_length=1024)]


def _agent(me: WebIdentity) -> WebIdentity:
    if not me.has_any(*AGENT_ROLES):
        raise PageForbidden("this page is for recovery agents and legal officers", me)
    return me


def agent(me: Annotated[WebIdentity, Depends(signed_in)]) -> WebIdentity:
    return _agent(me)


def agent_form(me: Annotated[WebIdentity, Depends(signed_form)]) -> WebIdentity:
    return _agent(me)


Agent = Annotated[WebIdentity, Depends(agent)]
AgentForm = Annotated[WebIdentity, Depends(agent_form)]


def _queue(
    request: Request, authority: AuthorityDep, me: WebIdentity, status: int = 200, **context: object
) -> Response:
    items = smime.recovery_queue(authority, me.username)
    return render(
        request,
        "agent_recovery.html",
        status,
        me=me,
        items=items,
        legal=me.has_any("legal-officer"),
        **context,
    )


def _done(what: str, request_id: int) -> Response:
    return RedirectResponse(f"/agent/recovery?done={what}&id={request_id}", status_code=303)


@router.get("/recovery", response_class=HTMLResponse)
def queue_page(request: Request, authority: AuthorityDep, me: Agent, done: str = "", id: int = 0) -> Response:
    """The requests this person may act on; `done` says what the last form did (after its redirect)."""
    said = {"approved": "approved", "rejected": "rejected", "closed": "closed"}.get(done)
    return _queue(request, authority, me, done=said, done_id=id)


@router.post("/recovery", response_class=HTMLResponse)
def open_legal_case(
    request: Request,
    authority: AuthorityDep,
    me: AgentForm,
    username: Annotated[str, Form(max_length=256)] = "",
    case: Annotated[str, Form(max_length=128)] = "",
    confidential: Annotated[bool, Form()] = False,
) -> Response:
    """A legal officer opens a legal case; in quorum mode the answer shows the release code, this once."""
    try:
        requested = smime.request_recovery(
            authority,
            username=username.strip().lower(),
            reason=smime.LEGAL_RECOVERY,
            actor=me.actor,
            requester=me.username,
            case_ref=case,
            confidential=confidential,
        )
    except ServiceError as error:
        return _queue(request, authority, me, status_of(error), error=str(error))
    return _queue(request, authority, me, requested=requested)


@router.post("/recovery/{request_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request, request_id: int, authority: AuthorityDep, me: AgentForm, passphrase: Secret = ""
) -> Response:
    """Approve as this agent; quorum mode unseals the agent's share with their passphrase."""
    try:
        smime.approve_recovery(
            authority, request_id=request_id, agent=me.username, passphrase=passphrase or None, actor=me.actor
        )
    except ServiceError as error:
        return _queue(request, authority, me, status_of(error), error=str(error), failed=request_id)
    return _done("approved", request_id)


@router.post("/recovery/{request_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    request_id: int,
    authority: AuthorityDep,
    me: AgentForm,
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Reject (an agent of the domain) or withdraw (the requester) a request not yet released."""
    try:
        smime.reject_recovery(
            authority, request_id=request_id, by=me.username, actor=me.actor, note=note.strip() or None
        )
    except ServiceError as error:
        return _queue(request, authority, me, status_of(error), error=str(error), failed=request_id)
    return _done("rejected", request_id)


@router.post("/recovery/{request_id}/release", response_class=HTMLResponse)
def release(
    request: Request,
    request_id: int,
    authority: AuthorityDep,
    me: AgentForm,
    messages: Annotated[list[UploadFile] | None, File()] = None,
    release_code: Annotated[str, Form(max_length=256)] = "",
    password: Secret = "",
    legacy: Annotated[bool, Form()] = False,
) -> Response:
    """Release an approved request once: a legal case's messages decrypted into a ZIP, or a lost key's PKCS#12."""
    chosen = [m for m in messages or [] if m.filename]  # a file input left empty sends no filename
    uploads = [m.file.read() for m in chosen]  # the body limit (max_body_bytes) bounds them all
    names = [m.filename or "message" for m in chosen]
    code = release_code.strip() or None
    try:
        current = smime.get_recovery_request(authority, request_id)
        if current.reason != smime.LEGAL_RECOVERY:
            return _release_lost_key(authority, me, request_id, password, code, legacy)
        result = smime.release_legal(
            authority,
            request_id=request_id,
            messages=uploads,
            actor=me.actor,
            releaser=me.username,
            release_code=code,
        )
    except ServiceError as error:
        return _queue(request, authority, me, status_of(error), error=str(error), failed=request_id)
    return Response(
        _zip(names, result.plaintexts),
        media_type="application/zip",
        headers=_attachment(f"case-{request_id}-decrypted.zip"),
    )


def _release_lost_key(
    authority: AuthorityDep, me: WebIdentity, request_id: int, password: str, code: str | None, legacy: bool
) -> Response:
    released = smime.release_lost_key(
        authority,
        request_id=request_id,
        password=password,
        actor=me.actor,
        releaser=me.username,
        release_code=code,
        legacy=legacy,
    )
    return Response(
        released.pkcs12, media_type=P12_MEDIA_TYPE, headers=_attachment(f"recovered-{request_id}.p12")
    )


def _attachment(name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _zip(names: list[str], plaintexts: tuple[bytes, ...]) -> bytes:
    """One .eml per message, numbered in upload order (names may repeat or hold paths)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, plain) in enumerate(zip(names, plaintexts, strict=True), start=1):
            stem = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "message"
            archive.writestr(f"{number:03d}-{stem}.eml", plain)
    return buffer.getvalue()


@router.post("/recovery/{request_id}/close", response_class=HTMLResponse)
def close_case(request: Request, request_id: int, authority: AuthorityDep, me: AgentForm) -> Response:
    """Close a released legal case; a confidential one now gets its revocation, re-key and notice."""
    try:
        smime.close_legal_case(authority, request_id=request_id, actor=me.actor, closer=me.username)
    except ServiceError as error:
        return _queue(request, authority, me, status_of(error), error=str(error), failed=request_id)
    return _done("closed", request_id)
