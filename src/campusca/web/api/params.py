"""Validated path parameters for the REST routes.

Row ids are SQLite/PostgreSQL 64-bit signed integers. A larger number in a path (say
99999999999999999999) would overflow the database driver, so it is refused here as a 422 before any
service runs; the services also treat an out-of-range id as simply not found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_RECORD_ID = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="The record's numeric id")]

__all__ = ["MAX_RECORD_ID", "RecordId"]
