"""REST: key recovery requests: request, approve, reject, release (once), close a legal case, list."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from campusca.services import smime
from campusca.services.authority import Authority
from campusca.services.ca.issuance import parse_serial
from campusca.services.errors import InvalidInput, NotAuthorized
from campusca.web.api.params import RecordId
from campusca.web.api.recovery_auth import Caller, require_caller
from campusca.web.deps import get_authority

router = APIRouter(prefix="/recovery/requests", tags=["recovery"])
AuthorityDep = Annotated[Authority, Depends(get_authority)]
Anyone = Annotated[Caller, Depends(require_caller(token_roles=("auditor",)))]
Person = Annotated[Caller, Depends(require_caller(person=True))]


class RequestIn(BaseModel):
    username: str
    reason: str = Field(description="lost-key or legal")
    case: str | None = Field(default=None, max_length=128)
    confidential: bool = False
    certificates: list[str] = Field(
        default_factory=list, description="Serials to cover (default: all escrowed)"
    )


class ApproveIn(BaseModel):
    passphrase: str | None = Field(default=None, description="Quorum mode: the agent's share passphrase")


class RejectIn(BaseModel):
    note: str | None = Field(default=None, max_length=200)


class ReleaseIn(BaseModel):
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="Lost key: one-time PKCS#12 password (the passphrase policy decides)",
    )
    legacy: bool = False
    reissue_signing: bool = Field(
        default=False,
        description="Lost key: also replace the signing certificate (its new key goes in the file)",
    )
    release_code: str | None = Field(default=None, description="Quorum mode: the code shown at request time")
    messages: list[str] = Field(default_factory=list, description="Legal: base64 of each encrypted message")


def _person(caller: Caller) -> str | None:
    """The acting person; None for an operator (admin token), who is trusted like the CLI."""
    if caller.username is None and caller.token_role != "admin":
        raise NotAuthorized("this needs a person's login (HTTP Basic) or an admin token")
    return None if caller.is_operator and caller.username is None else caller.username


_OVERSEERS = frozenset({"admin", "auditor", "recovery-agent", "legal-officer", "helpdesk"})


def _may_see_requests(caller: Caller) -> None:
    """Requests name people and legal cases: only agents, officers, the help desk and auditors list them."""
    if caller.username is not None and not _OVERSEERS & set(caller.roles):
        raise NotAuthorized(
            "listing recovery requests needs the recovery-agent, legal-officer or helpdesk role"
        )


def _decode(messages: list[str]) -> list[bytes]:
    try:
        return [base64.b64decode(m, validate=True) for m in messages]
    except binascii.Error:
        raise InvalidInput("messages must be base64-encoded") from None


@router.post("", status_code=201)
def request_recovery(body: RequestIn, caller: Anyone, authority: AuthorityDep) -> dict[str, object]:
    """Open a request; a quorum-mode answer carries the release code, shown this once."""
    return smime.request_recovery(
        authority,
        username=body.username,
        reason=body.reason,
        actor=caller.actor,
        requester=_person(caller),
        case_ref=body.case,
        confidential=body.confidential,
        serials=[parse_serial(s) for s in body.certificates],
    ).to_json()


@router.get("")
def list_requests(
    caller: Anyone,
    authority: AuthorityDep,
    status: str | None = None,
    username: str | None = Query(default=None),
) -> list[dict[str, object]]:
    """Recovery requests, newest first."""
    _may_see_requests(caller)
    return [v.to_json() for v in smime.list_recovery_requests(authority, status=status, username=username)]


@router.get("/{request_id}")
def get_request(request_id: RecordId, caller: Anyone, authority: AuthorityDep) -> dict[str, object]:
    """One request: status, approvals so far, expiry."""
    _may_see_requests(caller)
    return smime.get_recovery_request(authority, request_id).to_json()


@router.post("/{request_id}/approve")
def approve(
    request_id: RecordId, body: ApproveIn, caller: Person, authority: AuthorityDep
) -> dict[str, object]:
    """Approve as the logged-in recovery agent (quorum mode: with the agent's share passphrase)."""
    if caller.username is None:
        raise NotAuthorized("approvals come from recovery agents logged in as themselves")
    return smime.approve_recovery(
        authority,
        request_id=request_id,
        agent=caller.username,
        passphrase=body.passphrase,
        actor=caller.actor,
    ).to_json()


@router.post("/{request_id}/reject")
def reject(
    request_id: RecordId, body: RejectIn, caller: Person, authority: AuthorityDep
) -> dict[str, object]:
    """Reject (a recovery agent) or withdraw (the requester) a request."""
    return smime.reject_recovery(
        authority, request_id=request_id, by=_person(caller), note=body.note, actor=caller.actor
    ).to_json()


@router.post("/{request_id}/release")
def release(
    request_id: RecordId, body: ReleaseIn, caller: Person, authority: AuthorityDep
) -> dict[str, object]:
    """Release once: a lost key's PKCS#12 (base64), or a legal case's decrypted messages (base64)."""
    releaser = _person(caller)
    if body.messages:
        legal = smime.release_legal(
            authority,
            request_id=request_id,
            messages=_decode(body.messages),
            actor=caller.actor,
            releaser=releaser,
            release_code=body.release_code,
        )
        plain = [base64.b64encode(p).decode() for p in legal.plaintexts]
        return {**_rekey_json(legal), "plaintexts": plain}
    if body.password is None:
        raise InvalidInput("a lost-key release needs a password; a legal release needs messages")
    lost = smime.release_lost_key(
        authority,
        request_id=request_id,
        password=body.password,
        actor=caller.actor,
        releaser=releaser,
        release_code=body.release_code,
        legacy=body.legacy,
        reissue_signing=body.reissue_signing,
    )
    return {
        **_rekey_json(lost),
        "pkcs12": base64.b64encode(lost.pkcs12).decode(),
        "history": list(lost.history),
        "new_signing_certificate": lost.new_signing_serial,
        "revoked_signing": list(lost.revoked_signing),
        "signing_still_valid": list(lost.signing_still_valid),
    }


def _rekey_json(result: smime.LegalRelease | smime.LostKeyRelease) -> dict[str, object]:
    return {**result.request.to_json(), "revoked": list(result.revoked), "new_certificate": result.new_serial}


@router.post("/{request_id}/close-case")
def close_case(request_id: RecordId, caller: Person, authority: AuthorityDep) -> dict[str, object]:
    """Close a released legal case; a confidential one now gets its revocation, re-key and notice."""
    result = smime.close_legal_case(
        authority, request_id=request_id, actor=caller.actor, closer=_person(caller)
    )
    return _rekey_json(result)
