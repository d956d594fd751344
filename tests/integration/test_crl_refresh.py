"""CRLs are re-signed before nextUpdate by the scheduler in `campusca serve`, even when nobody fetches them."""

from __future__ import annotations

from datetime import timedelta

from campusca.db.models import CrlState
from campusca.services.authority import Authority
from campusca.web.background import RenewalScheduler


def _numbers(authority: Authority) -> dict[int, int]:
    with authority.db.read() as session:
        return {s.ca_id: s.crl_number for s in session.query(CrlState).all()}


def test_scheduler_round_resigns_only_crls_that_are_due(authority: Authority) -> None:
    before = _numbers(authority)
    scheduler = RenewalScheduler(authority, interval_seconds=60)
    assert scheduler.tick()
    assert _numbers(authority) == before  # fresh CRLs are left alone
    real_clock = authority.clock
    authority.clock = lambda: real_clock() + timedelta(hours=13)  # past half of the 24 h validity
    assert scheduler.tick()
    after = _numbers(authority)
    assert set(after) == set(before)
    assert all(after[ca] > before[ca] for ca in before)
    with authority.db.read() as session:
        for state in session.query(CrlState).all():
            assert state.next_update - authority.now() > timedelta(hours=23)
