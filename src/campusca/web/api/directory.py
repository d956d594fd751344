"""REST: organisations, departments and people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.models import Department, Organisation
from campusca.services.authority import Authority
from campusca.services.people import registry
from campusca.services.people.tokens import TokenIdentity
from campusca.web.api.params import MAX_RECORD_ID
from campusca.web.deps import get_authority, read_session, require_role, write_session

router = APIRouter(tags=["directory"])
Admin = Annotated[TokenIdentity, Depends(require_role())]
Reader = Annotated[TokenIdentity, Depends(require_role("ra-officer", "auditor"))]
AuthorityDep = Annotated[Authority, Depends(get_authority)]


class OrganisationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    domain: str = Field(min_length=1, max_length=253)


class DepartmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    organisation: str


class PersonIn(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    email: str = Field(max_length=254)
    department: str
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = None
    roles: list[str] = []


class PersonPatch(BaseModel):
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    roles: list[str] | None = None
    active: bool | None = None


class PersonOut(BaseModel):
    id: int
    username: str
    email: str
    name: str | None
    phone: str | None
    department: str
    organisation: str
    roles: list[str]
    active: bool
    has_password: bool


class PeoplePage(BaseModel):
    items: list[PersonOut]
    total: int
    limit: int
    offset: int


@router.get("/organisations")
def list_organisations(
    _: Reader, session: Annotated[Session, Depends(read_session)]
) -> list[dict[str, object]]:
    return [
        registry.org_json(o)
        for o in session.execute(select(Organisation).order_by(Organisation.name)).scalars()
    ]


@router.post("/organisations", status_code=201)
def add_organisation(
    body: OrganisationIn,
    identity: Admin,
    authority: AuthorityDep,
    session: Annotated[Session, Depends(write_session)],
) -> dict[str, object]:
    return registry.org_json(
        registry.add_organisation(
            authority, session, name=body.name, domain=body.domain, actor=identity.actor
        )
    )


@router.get("/departments")
def list_departments(
    _: Reader, session: Annotated[Session, Depends(read_session)]
) -> list[dict[str, object]]:
    return [
        registry.dept_json(d) for d in session.execute(select(Department).order_by(Department.name)).scalars()
    ]


@router.post("/departments", status_code=201)
def add_department(
    body: DepartmentIn,
    identity: Admin,
    authority: AuthorityDep,
    session: Annotated[Session, Depends(write_session)],
) -> dict[str, object]:
    return registry.dept_json(
        registry.add_department(
            authority, session, name=body.name, org_name=body.organisation, actor=identity.actor
        )
    )


@router.get("/people", response_model=PeoplePage)
def list_people(
    _: Reader,
    session: Annotated[Session, Depends(read_session)],
    department: str | None = None,
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_RECORD_ID),
) -> PeoplePage:
    people = registry.list_people(session, dept=department, limit=limit, offset=offset)
    items = [PersonOut.model_validate(registry.person_view(p).to_json()) for p in people]
    return PeoplePage(items=items, total=registry.count_people(session), limit=limit, offset=offset)


@router.post("/people", status_code=201, response_model=PersonOut)
def add_person(
    body: PersonIn,
    identity: Admin,
    authority: AuthorityDep,
    session: Annotated[Session, Depends(write_session)],
) -> PersonOut:
    person = registry.add_person(
        authority,
        session,
        username=body.username,
        email=body.email,
        dept_name=body.department,
        name=body.name,
        phone=body.phone,
        roles=tuple(body.roles),
        actor=identity.actor,
    )
    return PersonOut.model_validate(registry.person_view(person).to_json())


@router.get("/people/{username}", response_model=PersonOut)
def get_person(username: str, _: Reader, session: Annotated[Session, Depends(read_session)]) -> PersonOut:
    return PersonOut.model_validate(registry.person_view(registry.get_person(session, username)).to_json())


@router.patch("/people/{username}", response_model=PersonOut)
def update_person(
    username: str,
    body: PersonPatch,
    identity: Admin,
    authority: AuthorityDep,
    session: Annotated[Session, Depends(write_session)],
) -> PersonOut:
    person = registry.update_person(
        authority,
        session,
        username,
        actor=identity.actor,
        email=body.email,
        name=body.name,
        phone=body.phone,
        roles=tuple(body.roles) if body.roles is not None else None,
        active=body.active,
    )
    return PersonOut.model_validate(registry.person_view(person).to_json())


@router.delete("/people/{username}", response_model=PersonOut)
def deactivate_person(
    username: str,
    identity: Admin,
    authority: AuthorityDep,
    session: Annotated[Session, Depends(write_session)],
) -> PersonOut:
    """People are deactivated, never deleted: their certificates and audit records keep pointing at them."""
    person = registry.update_person(authority, session, username, actor=identity.actor, active=False)
    return PersonOut.model_validate(registry.person_view(person).to_json())
