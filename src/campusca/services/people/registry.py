"""Organisations, departments and people: the directory every certificate hangs off.

`add_*`, `get_*`, `update_person` and `set_password` join the caller's transaction (for services
composing one); the functions at the end own theirs and answer views (for adapters).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campusca.db.models import Department, Organisation, Person
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import Conflict, InvalidInput, NotFound
from campusca.services.people.views import (
    DepartmentView,
    OrganisationView,
    PersonView,
    department_view,
    organisation_view,
    person_view,
)

ROLES = frozenset({"admin", "ra-officer", "auditor", "recovery-agent", "legal-officer", "helpdesk"})
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_hasher = PasswordHasher()


def add_organisation(
    authority: Authority, session: Session, *, name: str, domain: str, actor: str
) -> Organisation:
    name = name.strip()
    domain = domain.strip().lower()
    if not name:
        raise InvalidInput("organisation name must not be empty")
    if not _DOMAIN.match(domain):
        raise InvalidInput(f"domain must be a DNS name such as example.edu; got {domain!r}")
    if session.execute(select(Organisation.id).where(Organisation.name == name)).first():
        raise Conflict(f"organisation {name!r} already exists")
    org = Organisation(name=name, domain=domain, created_at=authority.now())
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="organisation.added",
        target=f"organisation:{name}",
        details={"domain": domain},
        at=authority.now(),
    )
    return org


def get_organisation(session: Session, name: str) -> Organisation:
    org = session.execute(select(Organisation).where(Organisation.name == name)).scalar()
    if org is None:
        raise NotFound(f"no organisation named {name!r}")
    return org


def add_department(
    authority: Authority, session: Session, *, name: str, org_name: str, actor: str
) -> Department:
    name = name.strip()
    if not name:
        raise InvalidInput("department name must not be empty")
    org = get_organisation(session, org_name)
    if session.execute(
        select(Department.id).where(Department.organisation_id == org.id, Department.name == name)
    ).first():
        raise Conflict(f"department {name!r} already exists in {org.name!r}")
    dept = Department(name=name, organisation=org, created_at=authority.now())
    session.add(dept)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="department.added",
        target=f"department:{name}",
        details={"organisation": org.name},
        at=authority.now(),
    )
    return dept


def get_department(session: Session, name: str, org_name: str | None = None) -> Department:
    """A department by name; `Org/Dept` or `org_name` disambiguates when two organisations share a name."""
    if org_name is None and "/" in name:
        org_name, name = name.split("/", 1)
    query = select(Department).where(Department.name == name)
    if org_name:
        query = query.join(Organisation).where(Organisation.name == org_name)
    found = list(session.execute(query).scalars())
    if not found:
        raise NotFound(f"no department named {name!r}")
    if len(found) > 1:
        raise InvalidInput(f"department {name!r} exists in several organisations; write ORG/{name}")
    return found[0]


def add_person(
    authority: Authority,
    session: Session,
    *,
    username: str,
    email: str,
    dept_name: str,
    actor: str,
    name: str | None = None,
    phone: str | None = None,
    roles: tuple[str, ...] = (),
) -> Person:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("username must be lowercase letters, digits, '.', '_' or '-' (at most 128)")
    if not _EMAIL.match(email):
        raise InvalidInput(f"email must be a mailbox address such as bob@example.edu; got {email!r}")
    if phone is not None and not _PHONE.match(phone):
        raise InvalidInput("phone must be in E.164 form, such as +15551234567")
    unknown = set(roles) - ROLES
    if unknown:
        raise InvalidInput(
            f"roles must be among {', '.join(sorted(ROLES))}; got {', '.join(sorted(unknown))}"
        )
    dept = get_department(session, dept_name)
    if session.execute(select(Person.id).where(Person.username == username)).first():
        raise Conflict(f"person {username!r} already exists")
    person = Person(
        username=username,
        email=email,
        name=name,
        phone=phone,
        department=dept,
        roles=" ".join(sorted(set(roles))),
        created_at=authority.now(),
    )
    session.add(person)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"person {username!r} already exists") from None
    audit.record(
        session,
        actor=actor,
        action="person.added",
        target=f"person:{username}",
        details={"email": email, "department": dept.name, "roles": sorted(set(roles))},
        at=authority.now(),
    )
    return person


def get_person(session: Session, username: str) -> Person:
    person = session.execute(select(Person).where(Person.username == username.strip().lower())).scalar()
    if person is None:
        raise NotFound(f"no person with username {username!r}")
    return person


def update_person(
    authority: Authority,
    session: Session,
    username: str,
    *,
    actor: str,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    roles: tuple[str, ...] | None = None,
    active: bool | None = None,
) -> Person:
    person = get_person(session, username)
    changes: dict[str, object] = {}
    if email is not None:
        if not _EMAIL.match(email):
            raise InvalidInput(f"email must be a mailbox address; got {email!r}")
        person.email = changes["email"] = email  # type: ignore[assignment]
    if name is not None:
        person.name = changes["name"] = name  # type: ignore[assignment]
    if phone is not None:
        if phone and not _PHONE.match(phone):
            raise InvalidInput("phone must be in E.164 form, such as +15551234567")
        person.phone = phone or None
        changes["phone"] = phone
    if roles is not None:
        unknown = set(roles) - ROLES
        if unknown:
            raise InvalidInput(f"roles must be among {', '.join(sorted(ROLES))}")
        person.roles = " ".join(sorted(set(roles)))
        changes["roles"] = sorted(set(roles))
    if active is not None:
        person.active = changes["active"] = active  # type: ignore[assignment]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.updated",
        target=f"person:{person.username}",
        details=changes,
        at=authority.now(),
    )
    return person


def set_password(authority: Authority, session: Session, username: str, password: str, *, actor: str) -> None:
    if len(password) < 10:
        raise InvalidInput("password must be at least 10 characters")
    person = get_person(session, username)
    person.password_hash = _hasher.hash(password)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.password_set",
        target=f"person:{person.username}",
        at=authority.now(),
    )


# --- The adapters' API: each call is one transaction, committed when it returns, answering views. ---


def list_organisations(authority: Authority) -> list[OrganisationView]:
    """Every organisation, by name."""
    with authority.db.read() as session:
        rows = session.execute(select(Organisation).order_by(Organisation.name)).scalars()
        return [organisation_view(org) for org in rows]


def main_organisation(authority: Authority) -> OrganisationView | None:
    """The organisation made first (at init): the institution the service is run for."""
    with authority.db.read() as session:
        org = session.execute(select(Organisation).order_by(Organisation.id).limit(1)).scalar()
        return organisation_view(org) if org is not None else None


def view_organisation(authority: Authority, name: str) -> OrganisationView:
    with authority.db.read() as session:
        return organisation_view(get_organisation(session, name))


def register_organisation(authority: Authority, *, name: str, domain: str, actor: str) -> OrganisationView:
    """Add an organisation (see `add_organisation`) in a transaction of its own."""
    with authority.db.write() as session:
        return organisation_view(add_organisation(authority, session, name=name, domain=domain, actor=actor))


def list_departments(authority: Authority, *, organisation: str | None = None) -> list[DepartmentView]:
    """Departments by organisation and name, optionally of one organisation only."""
    query = select(Department).join(Organisation).order_by(Organisation.name, Department.name)
    if organisation:
        query = query.where(Organisation.name == organisation)
    with authority.db.read() as session:
        return [department_view(dept) for dept in session.execute(query).scalars()]


def view_department(authority: Authority, name: str) -> DepartmentView:
    """A department by NAME or ORG/NAME."""
    with authority.db.read() as session:
        return department_view(get_department(session, name))


def register_department(authority: Authority, *, name: str, organisation: str, actor: str) -> DepartmentView:
    """Add a department (see `add_department`) in a transaction of its own."""
    with authority.db.write() as session:
        return department_view(
            add_department(authority, session, name=name, org_name=organisation, actor=actor)
        )


def list_people(
    authority: Authority, *, department: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[PersonView], int]:
    """A page of people by username, and how many match the filter in all."""
    query = select(Person)
    with authority.db.read() as session:
        if department:
            query = query.where(Person.department_id == get_department(session, department).id)
        total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = session.execute(query.order_by(Person.username).limit(limit).offset(offset)).scalars()
        return [person_view(person) for person in rows], total


def view_person(authority: Authority, username: str) -> PersonView:
    with authority.db.read() as session:
        return person_view(get_person(session, username))


def register_person(
    authority: Authority,
    *,
    username: str,
    email: str,
    department: str,
    actor: str,
    name: str | None = None,
    phone: str | None = None,
    roles: tuple[str, ...] = (),
) -> PersonView:
    """Add a person (see `add_person`) in a transaction of its own."""
    with authority.db.write() as session:
        person = add_person(
            authority,
            session,
            username=username,
            email=email,
            dept_name=department,
            actor=actor,
            name=name,
            phone=phone,
            roles=roles,
        )
        return person_view(person)


def change_person(
    authority: Authority,
    username: str,
    *,
    actor: str,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    roles: tuple[str, ...] | None = None,
    active: bool | None = None,
) -> PersonView:
    """Change a person's details, roles or active flag (see `update_person`) in a transaction of its own."""
    with authority.db.write() as session:
        person = update_person(
            authority,
            session,
            username,
            actor=actor,
            email=email,
            name=name,
            phone=phone,
            roles=roles,
            active=active,
        )
        return person_view(person)


def change_password(authority: Authority, username: str, password: str, *, actor: str) -> None:
    """Set a person's local password (see `set_password`) in a transaction of its own."""
    with authority.db.write() as session:
        set_password(authority, session, username, password, actor=actor)
