"""What adapters see of organisations, departments and people: frozen values built inside a transaction."""

from __future__ import annotations

from dataclasses import dataclass

from campusca.db.models import Department, Organisation, Person


@dataclass(frozen=True, slots=True)
class OrganisationView:
    id: int
    name: str
    domain: str
    departments: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "domain": self.domain,
            "departments": list(self.departments),
        }


@dataclass(frozen=True, slots=True)
class DepartmentView:
    id: int
    name: str
    organisation: str
    people: int  # how many people belong to it

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "organisation": self.organisation, "people": self.people}


@dataclass(frozen=True, slots=True)
class PersonView:
    id: int
    username: str
    email: str
    name: str | None
    phone: str | None
    department: str
    organisation: str
    roles: tuple[str, ...]
    active: bool
    has_password: bool

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "name": self.name,
            "phone": self.phone,
            "department": self.department,
            "organisation": self.organisation,
            "roles": list(self.roles),
            "active": self.active,
            "has_password": self.has_password,
        }


def organisation_view(org: Organisation) -> OrganisationView:
    return OrganisationView(
        id=org.id, name=org.name, domain=org.domain, departments=tuple(d.name for d in org.departments)
    )


def department_view(dept: Department) -> DepartmentView:
    return DepartmentView(
        id=dept.id, name=dept.name, organisation=dept.organisation.name, people=len(dept.people)
    )


def person_view(person: Person) -> PersonView:
    return PersonView(
        id=person.id,
        username=person.username,
        email=person.email,
        name=person.name,
        phone=person.phone,
        department=person.department.name,
        organisation=person.department.organisation.name,
        roles=tuple(sorted(r for r in person.roles.split() if r)),
        active=person.active,
        has_password=person.password_hash is not None,
    )
