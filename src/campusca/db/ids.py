"""Row lookups by a caller-supplied id that may not fit the database's integer type.

Ids are 64-bit signed integers in SQLite and PostgreSQL; binding a larger Python int raises
OverflowError in the driver. An id outside that range names no row, so it is simply not found.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

MIN_ROW_ID = -(2**63)
MAX_ROW_ID = 2**63 - 1

RowT = TypeVar("RowT")


def fits_row_id(row_id: int) -> bool:
    """Whether `row_id` can be bound as a database integer at all."""
    return MIN_ROW_ID <= row_id <= MAX_ROW_ID


def get_row(session: Session, model: type[RowT], row_id: int, **options: Any) -> RowT | None:
    """`session.get(model, row_id)`, or None for an id no row can have."""
    if not fits_row_id(row_id):
        return None
    return session.get(model, row_id, **options)
