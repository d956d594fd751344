"""The login throttle on PostgreSQL: two nodes, concurrent guesses, no more checked than the ceiling."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campusca.config import load_settings
from campusca.db.models import AuditRecord
from campusca.keys import KeyType
from campusca.services.authority import Authority, open_authority
from campusca.services.demo import add_demo_data
from campusca.services.errors import NotAuthorized
from campusca.services.people import login
from campusca.services.setup import initialise
from tests.support.peers import require_peer
from tests.support.postgres import postgres_bin, postgres_cluster

pytestmark = pytest.mark.interop


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Authority, Authority]]:
    require_peer("runuser")
    if postgres_bin() is None:
        require_peer("initdb")  # skips locally, fails under CI
    with postgres_cluster() as url:
        home = tmp_path / "home"
        limits = {"database_url": url, "login_max_failures_per_account": 5}
        first, _ = initialise(
            load_settings(home, **limits), org_name="Example University", key_type=KeyType.EC_P256
        )
        add_demo_data(first)
        second = open_authority(load_settings(home, **limits))
        yield first, second
        first.db.dispose()
        second.db.dispose()


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
