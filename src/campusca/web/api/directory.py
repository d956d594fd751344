"""REST: organisations, departments and people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from campusca.services import people
from campusca.services.authority import Authority
from campusca.services.people import TokenIdentity
from campusca.web.api.params import MAX_RECORD_ID
from campusca.web.deps import get_authority, require_role

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


def _person_out(view: people.PersonView) -> PersonOut:
    return PersonOut.model_validate(view.to_json())


@router.get("/organisations")
def list_organisations(_: Reader, authority: AuthorityDep) -> list[dict[str, object]]:
    return [org.to_json() for org in people.list_organisations(authority)]


@router.post("/organisations", status_code=201)
def add_organisation(body: OrganisationIn, identity: Admin, authority: AuthorityDep) -> dict[str, object]:
    return people.register_organisation(
        authority, name=body.name, domain=body.domain, actor=identity.actor
    ).to_json()


@router.get("/departments")
def list_departments(_: Reader, authority: AuthorityDep) -> list[dict[str, object]]:
    return [dept.to_json() for dept in people.list_departments(authority)]


@router.post("/departments", status_code=201)
def add_department(body: DepartmentIn, identity: Admin, authority: AuthorityDep) -> dict[str, object]:
    return people.register_department(
        authority, name=body.name, organisation=body.organisation, actor=identity.actor
    ).to_json()


@router.get("/people", response_model=PeoplePage)
def list_people(
    _: Reader,
    authority: AuthorityDep,
    department: str | None = None,
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_RECORD_ID),
) -> PeoplePage:
    views, total = people.list_people(authority, department=department, limit=limit, offset=offset)
    return PeoplePage(items=[_person_out(v) for v in views], total=total, limit=limit, offset=offset)


@router.post("/people", status_code=201, response_model=PersonOut)
def add_person(body: PersonIn, identity: Admin, authority: AuthorityDep) -> PersonOut:
    person = people.register_person(
        authority,
        username=body.username,
        email=body.email,
        department=body.department,
        name=body.name,
        phone=body.phone,
        roles=tuple(body.roles),
        actor=identity.actor,
    )
    return _person_out(person)


@router.get("/people/{username}", response_model=PersonOut)
def get_person(username: str, _: Reader, authority: AuthorityDep) -> PersonOut:
    return _person_out(people.view_person(authority, username))


@router.patch("/people/{username}", response_model=PersonOut)
def update_person(username: str, body: PersonPatch, identity: Admin, authority: AuthorityDep) -> PersonOut:
    person = people.change_person(
        authority,
        username,
        actor=identity.actor,
        email=body.email,
        name=body.name,
        phone=body.phone,
        roles=tuple(body.roles) if body.roles is not None else None,
        active=body.active,
    )
    return _person_out(person)


@router.delete("/people/{username}", response_model=PersonOut)
def deactivate_person(username: str, identity: Admin, authority: AuthorityDep) -> PersonOut:
    """People are deactivated, never deleted: their certificates and audit records keep pointing at them."""
    return _person_out(people.change_person(authority, username, actor=identity.actor, active=False))
