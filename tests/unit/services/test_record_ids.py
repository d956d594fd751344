"""A record id too large for the database's 64-bit integers names no record: NotFound, never OverflowError."""

from __future__ import annotations

import pytest

from campusca.db.ids import MAX_ROW_ID, fits_row_id
from campusca.services.authority import Authority
from campusca.services.errors import NotFound
from campusca.services.smime import recovery


def test_fits_row_id_bounds() -> None:
    assert fits_row_id(MAX_ROW_ID) and fits_row_id(1)
    assert not fits_row_id(MAX_ROW_ID + 1) and not fits_row_id(99999999999999999999)


@pytest.mark.parametrize(
    "request_id", [2**63, 99999999999999999999, -(2**70)], ids=["fail-2^63", "fail-huge", "fail-neg"]
)
def test_recovery_request_with_too_large_id_is_not_found(authority: Authority, request_id: int) -> None:
    with pytest.raises(NotFound, match="no recovery request"):
        recovery.get_request(authority, request_id)
