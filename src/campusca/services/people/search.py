"""Finding people for the administrators' pages: search, filter by role and state, sort, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from campusca.db.models import Department, Person
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput
from campusca.services.listing import check_page, contains_any, read_page
from campusca.services.people.registry import ROLES
from campusca.services.people.views import PersonView, person_view

# What a list may be sorted by, and the column each name stands for.
PEOPLE_SORTS = {
    "username": Person.username,
    "name": Person.name,
    "email": Person.email,
    "department": Department.name,
    "created": Person.id,
}


@dataclass(frozen=True, slots=True)
class PeoplePage:
    """One page of people matching a search, and how many match in all."""

    items: tuple[PersonView, ...]
    total: int
    limit: int
    offset: int


def find_people(
    authority: Authority,
    *,
    text: str = "",
    role: str | None = None,
    active: bool | None = None,
    sort: str = "username",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> PeoplePage:
    """People whose username, name, e-mail or phone contains `text` (any case), in one read transaction."""
    if sort not in PEOPLE_SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(PEOPLE_SORTS)}; got {sort!r}")
    if role and role not in ROLES:
        raise InvalidInput(f"role must be among {', '.join(sorted(ROLES))}; got {role!r}")
    check_page(limit, offset, "people")
    query = select(Person).join(Department, Person.department_id == Department.id)
    needle = text.strip().lower()
    if needle:
        query = query.where(contains_any((Person.username, Person.name, Person.email, Person.phone), needle))
    if role:
        # Roles are stored space-separated; padding both sides makes "admin" not match "ra-officer admin2".
        query = query.where((" " + Person.roles + " ").like(f"% {role} %"))
    if active is not None:
        query = query.where(Person.active.is_(active))
    column = PEOPLE_SORTS[sort]
    order = (column.desc(), Person.id.desc()) if descending else (column.asc(), Person.id.asc())
    with authority.db.read() as session:
        total, rows = read_page(session, query, order, limit, offset)
        return PeoplePage(tuple(person_view(p) for p in rows), total, limit, offset)
