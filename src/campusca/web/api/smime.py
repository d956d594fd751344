"""REST: a person's S/MIME certificate pair, as a PKCS#12 (base64) with the escrow notice."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from campusca.services import smime
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.web.api.recovery_auth import Caller, require_caller
from campusca.web.deps import get_authority

router = APIRouter(prefix="/smime", tags=["smime"])


class IssueIn(BaseModel):
    username: str
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="PKCS#12 password (the passphrase policy decides); default: generated",
    )
    legacy: bool = Field(default=False, description="3DES/SHA-1 PKCS#12 (gpgsm 2.2, older Apple systems)")
    split: bool = Field(default=False, description="Also one PKCS#12 per key")
    csr_signing: str | None = Field(default=None, max_length=65536)
    csr_encryption: str | None = Field(default=None, max_length=65536, description="Only where escrow is off")


def _only_own(caller: Caller, username: str, refusal: str) -> None:
    """A person (Basic login) acts only for themselves; operators' tokens for anyone."""
    if caller.username is not None and caller.username != username.strip().lower() and not caller.is_operator:
        raise NotAuthorized(refusal)


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


@router.post("/certificates", status_code=201)
def issue(
    body: IssueIn,
    caller: Annotated[Caller, Depends(require_caller(token_roles=("ra-officer",)))],
    authority: Annotated[Authority, Depends(get_authority)],
) -> dict[str, object]:
    """Issue a signing and an encryption certificate; a person may issue only their own (Basic login)."""
    _only_own(caller, body.username, "people can issue S/MIME certificates only for themselves")
    # Committed (certificates, escrow archive, audit) before this route answers 201.
    bundle = smime.issue_smime_bundle(
        authority,
        username=body.username,
        actor=caller.actor,
        password=body.password,
        legacy=body.legacy,
        split=body.split,
        signing_csr=body.csr_signing.encode() if body.csr_signing else None,
        encryption_csr=body.csr_encryption.encode() if body.csr_encryption else None,
    )
    extra = {
        "pkcs12_signing": _b64(bundle.pkcs12_signing),
        "pkcs12_encryption": _b64(bundle.pkcs12_encryption),
    }
    password = bundle.password if bundle.password_generated and bundle.pkcs12 else None
    return {**bundle.to_json(), "pkcs12": _b64(bundle.pkcs12), **extra, "password": password}


class ReissueSigningIn(BaseModel):
    username: str
    password: str = Field(
        max_length=1024, description="One-time PKCS#12 password (the passphrase policy decides)"
    )
    legacy: bool = False


@router.post("/signing-certificates", status_code=201)
def reissue_signing(
    body: ReissueSigningIn,
    caller: Annotated[Caller, Depends(require_caller(token_roles=("ra-officer",)))],
    authority: Annotated[Authority, Depends(get_authority)],
) -> dict[str, object]:
    """Replace a signing certificate whose key was lost (after a recovery); a person only their own."""
    _only_own(caller, body.username, "people can re-issue only their own signing certificate")
    result = smime.reissue_signing(
        authority, username=body.username, password=body.password, actor=caller.actor, legacy=body.legacy
    )
    return {**result.to_json(), "pkcs12": _b64(result.pkcs12)}
