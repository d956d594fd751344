"""Finding people for the administrators' pages: search, filter by role and state, sort, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from campusca.db.models import Department, Person
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput
from campusca.services.people.registry import ROLES
from campusca.services.people.views import PersonView, person_view

MAX_PAGE = 500
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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} people and starts at 0 or later")
    query = select(Person).join(Department, Person.department_id == Department.id)
    needle = text.strip().lower()
    if needle:
        pattern = f"%{_escape_like(needle)}%"
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (Person.username, Person.name, Person.email, Person.phone)
                )
            )
        )
    if role:
        # Roles are stored space-separated; padding both sides makes "admin" not match "ra-officer admin2".
        query = query.where((" " + Person.roles + " ").like(f"% {role} %"))
    if active is not None:
        query = query.where(Person.active.is_(active))
    column = PEOPLE_SORTS[sort]
    order = (column.desc(), Person.id.desc()) if descending else (column.asc(), Person.id.asc())
    with authority.db.read() as session:
        total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = session.execute(query.order_by(*order).limit(limit).offset(offset)).scalars()
        return PeoplePage(tuple(person_view(p) for p in rows), total, limit, offset)
