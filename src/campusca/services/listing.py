"""What the paged searches share (certificates, people, audit records): the page bound, LIKE patterns that
match the searched text literally, and one page read with the total count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from campusca.services.errors import InvalidInput

MAX_PAGE = 500


def check_page(limit: int, offset: int, things: str) -> None:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} {things} and starts at 0 or later")


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern with escape '\\': its %, _ and \\ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_any(columns: Iterable[ColumnElement[Any]], needle: str) -> ColumnElement[bool]:
    """Any of `columns` contains `needle` (already lower-cased), in any case."""
    pattern = f"%{escape_like(needle)}%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


def read_page(
    session: Session, query: Select[Any], order: Sequence[ColumnElement[Any]], limit: int, offset: int
) -> tuple[int, list[Any]]:
    """How many rows `query` matches in all, and the page of them in `order`."""
    total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    rows = list(session.execute(query.order_by(*order).limit(limit).offset(offset)).scalars())
    return total, rows
