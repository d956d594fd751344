"""REST: enrolled devices (list, show with certificates and history, revoke) and passcode policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from campusca.services import ota
from campusca.services.authority import Authority
from campusca.services.ca.revocation import parse_reason
from campusca.services.people.tokens import TokenIdentity
from campusca.web.deps import get_authority, require_role

router = APIRouter(tags=["devices"])
Officer = Annotated[TokenIdentity, Depends(require_role("ra-officer"))]
Reader = Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))]
AuthorityDep = Annotated[Authority, Depends(get_authority)]


class RevokeDeviceIn(BaseModel):
    reason: str = Field(default="unspecified", description="RFC 5280 reason, e.g. keyCompromise")
    retire: bool = Field(default=False, description="Also stop re-enrollment invitations for this device")


class PasscodePolicyIn(BaseModel):
    force_pin: bool | None = None
    min_length: int | None = None
    require_alphanumeric: bool | None = None
    max_inactivity_minutes: int | None = None
    max_failed_attempts: int | None = None
    max_pin_age_days: int | None = None
    pin_history: int | None = None


@router.get("/devices")
def list_(
    identity: Reader,
    authority: AuthorityDep,
    username: str | None = None,
    state: str | None = Query(default=None, description=", ".join(ota.DEVICE_STATES)),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, object]]:
    """Devices, newest first, with owner, state and certificates."""
    views = ota.list_devices(authority, username=username, state=state, limit=limit)
    return [v.to_json() for v in views]


@router.get("/devices/{udid}")
def show(udid: str, identity: Reader, authority: AuthorityDep) -> dict[str, object]:
    """One device by UDID: what it reported, its certificates, state and history."""
    return ota.show_device(authority, udid).to_json()


@router.post("/devices/{udid}/revoke")
def revoke(udid: str, body: RevokeDeviceIn, identity: Officer, authority: AuthorityDep) -> dict[str, object]:
    """Revoke the device's certificates; unless retired, the owner is invited to enrol again."""
    view = ota.revoke_device(
        authority, udid, reason=parse_reason(body.reason), actor=identity.actor, retire=body.retire
    )
    return view.to_json()


@router.get("/organisations/{name}/device-policy")
def get_policy(name: str, identity: Reader, authority: AuthorityDep) -> dict[str, object]:
    """The passcode policy enrolled devices of this organisation get."""
    return ota.passcode_policy_of(authority, name).to_json()


@router.put("/organisations/{name}/device-policy")
def set_policy(
    name: str,
    body: PasscodePolicyIn,
    identity: Annotated[TokenIdentity, Depends(require_role())],
    authority: AuthorityDep,
) -> dict[str, object]:
    """Change fields of the passcode policy (admin); unset fields keep their values."""
    policy = ota.set_passcode_policy(
        authority, organisation=name, actor=identity.actor, **body.model_dump(exclude_none=True)
    )
    return policy.to_json()
