"""REST: SCEP one-time challenges and enrollments (list, approve, reject pending requests)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from campusca.services import scep
from campusca.services.authority import Authority
from campusca.services.people import TokenIdentity
from campusca.web.api.params import RecordId
from campusca.web.deps import get_authority, require_role

router = APIRouter(prefix="/scep", tags=["scep"])
AuthorityDep = Annotated[Authority, Depends(get_authority)]


class ChallengeRequest(BaseModel):
    username: str = Field(description="The person the enrolled certificate will belong to")
    device_ref: str | None = Field(default=None, description="The device's UDID; becomes a SAN URN")
    ttl_seconds: int | None = Field(default=None, ge=1, description="Lifetime (default 3600)")
    profile: str | None = Field(default=None, description="Certificate profile (default device)")
    expected_subject: str | None = Field(
        default=None, description="RFC 4514 name or bare CN the CSR must have"
    )


class ChallengeCreated(BaseModel):
    challenge: str = Field(description="The one-time challenge password; shown only in this response")
    username: str
    device_ref: str | None
    profile: str
    expires_at: str
    url: str = Field(description="The SCEP URL to enrol at")


class RejectRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=256)


@router.post("/challenges", status_code=201, response_model=ChallengeCreated)
def create_challenge(
    body: ChallengeRequest,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer"))],
    authority: AuthorityDep,
) -> ChallengeCreated:
    """Create a one-time SCEP challenge for a person (and optionally a device)."""
    created = scep.issue_challenge(
        authority,
        username=body.username,
        actor=identity.actor,
        ttl_seconds=body.ttl_seconds,
        device_ref=body.device_ref,
        expected_subject=body.expected_subject,
        profile=body.profile,
    )
    return ChallengeCreated(
        challenge=created.secret,
        username=created.username,
        device_ref=created.device_ref,
        profile=created.profile,
        expires_at=created.expires_at.isoformat(),
        url=created.url,
    )


@router.get("/challenges")
def list_challenges(
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))],
    authority: AuthorityDep,
    include_used: bool = False,
) -> list[dict[str, object]]:
    """Challenges (never their secrets), newest first; by default only usable ones."""
    return [v.to_json() for v in scep.list_challenges(authority, include_used=include_used)]


@router.get("/enrollments")
def list_enrollments(
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))],
    authority: AuthorityDep,
    status: str | None = Query(default=None, description="pending, issued or rejected"),
    device_ref: str | None = None,
    limit: int = Query(default=100, ge=1, le=10_000),
) -> list[dict[str, object]]:
    """SCEP enrollments, newest first."""
    views = scep.list_enrollments(authority, status=status, device_ref=device_ref, limit=limit)
    return [v.to_json() for v in views]


@router.post("/enrollments/{enrollment_id}/approve")
def approve(
    enrollment_id: RecordId,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer"))],
    authority: AuthorityDep,
) -> dict[str, object]:
    """Approve a pending request: the certificate is issued and handed out at the next poll."""
    return scep.approve_pending(authority, enrollment_id, actor=identity.actor).to_json()


@router.post("/enrollments/{enrollment_id}/reject")
def reject(
    enrollment_id: RecordId,
    body: RejectRequest,
    identity: Annotated[TokenIdentity, Depends(require_role("ra-officer"))],
    authority: AuthorityDep,
) -> dict[str, object]:
    """Reject a pending request: the next poll gets a FAILURE."""
    return scep.reject_pending(authority, enrollment_id, actor=identity.actor, reason=body.reason).to_json()
