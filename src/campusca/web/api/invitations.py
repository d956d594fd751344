"""REST: enrollment invitations (create and send, list, withdraw)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from campusca.services import ota
from campusca.services.authority import Authority
from campusca.services.people.tokens import TokenIdentity
from campusca.web.api.params import RecordId
from campusca.web.deps import get_authority, require_role

router = APIRouter(prefix="/invitations", tags=["enrollment"])
Officer = Annotated[TokenIdentity, Depends(require_role("ra-officer"))]
Reader = Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))]
AuthorityDep = Annotated[Authority, Depends(get_authority)]


class InvitationIn(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    via: str = Field(default="sms", description="sms or email", examples=["sms"])
    ttl_seconds: int | None = Field(default=None, description="Link lifetime (default: invitation_ttl_hours)")
    show_link: bool = Field(default=False, description="Return the secret link too (only this once)")


@router.post("", status_code=201)
def create(body: InvitationIn, identity: Officer, authority: AuthorityDep) -> dict[str, object]:
    """Create a one-time enrollment link and send it; a failed send is reported and retried later."""
    sent = ota.send_invitation(
        authority,
        username=body.username,
        channel=body.via,
        actor=identity.actor,
        ttl_seconds=body.ttl_seconds,
    )
    return sent.to_json(show_link=body.show_link)


@router.get("")
def list_(
    identity: Reader,
    authority: AuthorityDep,
    username: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, object]]:
    """Invitations, newest first, with the state of their message."""
    return [v.to_json() for v in ota.invitation_views(authority, username=username, limit=limit)]


@router.post("/{invitation_id}/cancel", status_code=204)
def cancel(invitation_id: RecordId, identity: Officer, authority: AuthorityDep) -> None:
    """Withdraw an unused invitation: its link stops working at once."""
    ota.withdraw_invitation(authority, invitation_id, actor=identity.actor)
