"""REST: escrow policy per organisation or department, recovery agents, and the escrow overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from campusca.services import smime
from campusca.services.authority import Authority
from campusca.services.people.tokens import TokenIdentity
from campusca.web.deps import get_authority, require_role

router = APIRouter(prefix="/escrow", tags=["escrow"])
Admin = Annotated[TokenIdentity, Depends(require_role())]
AuthorityDep = Annotated[Authority, Depends(get_authority)]


class PolicyIn(BaseModel):
    organisation: str | None = None
    department: str | None = Field(default=None, description="Department name, or ORG/NAME")
    enabled: bool | None = Field(description="true/false; null makes a department inherit its organisation's")
    mode: str | None = Field(default=None, description="simple or quorum")
    approvals: int | None = Field(default=None, ge=1, le=255)
    passphrases: dict[str, str] = Field(
        default_factory=dict,
        description="Agent username -> share passphrase, when quorum shares are (re)made",
    )


class AgentIn(BaseModel):
    username: str
    organisation: str | None = None
    department: str | None = None
    passphrases: dict[str, str] = Field(
        default_factory=dict, description="Quorum mode: every agent's passphrase, the new agent's included"
    )


@router.get("")
def overview(
    _: Annotated[TokenIdentity, Depends(require_role("auditor"))], authority: AuthorityDep
) -> list[dict[str, object]]:
    """Every organisation's and department's escrow policy, domain key and agents."""
    return [v.to_json() for v in smime.escrow_overview(authority)]


@router.put("/policy")
def set_policy(body: PolicyIn, identity: Admin, authority: AuthorityDep) -> dict[str, object]:
    """Set the escrow policy of an organisation or department (quorum: add the agents first)."""
    view = smime.set_escrow_policy(
        authority,
        org_name=body.organisation,
        dept_name=body.department,
        enabled=body.enabled,
        mode=body.mode,
        approvals=body.approvals,
        passphrases=body.passphrases,
        actor=identity.actor,
    )
    return view.to_json()


@router.post("/agents", status_code=201)
def add_agent(body: AgentIn, identity: Admin, authority: AuthorityDep) -> dict[str, object]:
    """Make a person with the recovery-agent role an agent of an escrow domain."""
    view = smime.add_escrow_agent(
        authority,
        username=body.username,
        org_name=body.organisation,
        dept_name=body.department,
        passphrases=body.passphrases,
        actor=identity.actor,
    )
    return view.to_json()
