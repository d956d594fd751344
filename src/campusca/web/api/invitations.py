"""REST: enrollment invitations (create and send, list, withdraw)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from campusca.services.authority import Authority
from campusca.services.ota import invitations
from campusca.services.people.tokens import TokenIdentity
from campusca.web.api.params import RecordId
from campusca.web.deps import get_authority, read_session, require_role

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
def create(body: InvitationIn, identity: Officer, authority: AuthorityDep) -> dict[str, Any]:
    """Create a one-time enrollment link and send it; a failed send is reported and retried later."""
    with authority.db.write() as session:
        created = invitations.create_invitation(
            authority,
            session,
            username=body.username,
            channel=body.via,
            actor=identity.actor,
            ttl_seconds=body.ttl_seconds,
        )
    delivery = invitations.deliver_message(authority, created.message_id)
    return {
        "id": created.id,
        "username": created.username,
        "channel": created.channel,
        "expires_at": created.expires_at.isoformat(),
        "delivery": delivery.to_json(),
        "link": created.link if body.show_link else None,
    }


@router.get("")
def list_(
    identity: Reader,
    authority: AuthorityDep,
    session: Annotated[Session, Depends(read_session)],
    username: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, object]]:
    """Invitations, newest first, with the state of their message."""
    return [
        v.to_json() for v in invitations.list_invitations(authority, session, username=username, limit=limit)
    ]


@router.post("/{invitation_id}/cancel", status_code=204)
def cancel(invitation_id: RecordId, identity: Officer, authority: AuthorityDep) -> None:
    """Withdraw an unused invitation: its link stops working at once."""
    with authority.db.write() as session:
        invitations.cancel_invitation(authority, session, invitation_id, actor=identity.actor)
