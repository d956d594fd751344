"""The login throttle on PostgreSQL: two nodes, concurrent guesses, no more checked than the ceiling."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campusca.db.models import AuditRecord
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.services.people import login
from tests.support.postgres import two_nodes_on_postgres

pytestmark = pytest.mark.interop


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Authority, Authority]]:
    with two_nodes_on_postgres(tmp_path / "home", login_max_failures_per_account=5) as nodes:
        yield nodes


def test_twelve_concurrent_guesses_on_two_nodes_check_no_more_than_the_ceiling(
    two_nodes: tuple[Authority, Authority],
) -> None:
    def guess(n: int) -> str:
        try:
            login.authenticate(
                two_nodes[n % 2],
                username="alice",
                password=f"guess-{n}",
                address=f"198.51.100.{n}",
                purpose="test",
            )
        except NotAuthorized as refused:
            return type(refused).__name__
        return "admitted"

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = sorted(pool.map(guess, range(12)))
    assert answers == ["LoginThrottled"] * 7 + ["NotAuthorized"] * 5
    with two_nodes[0].db.read() as session:
        failed = session.execute(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "login.failed")
        ).scalar_one()
    assert failed == 5
    person = login.authenticate(
        two_nodes[1], username="bob", password="campusca-demo", address="192.0.2.1", purpose="test"
    )
    assert person.username == "bob"
