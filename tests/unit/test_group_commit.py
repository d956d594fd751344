"""Group commit: items queued together share a transaction; a bad item fails alone; nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from campusca.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.write() as session:
        session.execute(text("CREATE TABLE item (name TEXT PRIMARY KEY)"))
    return database


def stored(database: Database) -> set[str]:
    with database.read() as session:
        return set(session.execute(text("SELECT name FROM item")).scalars())


def test_items_queued_while_a_batch_is_written_share_the_next_transaction(database: Database) -> None:
    first_inside, others_queued = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def write_all(session: Session, names: Sequence[str]) -> list[str]:
        batches.append(list(names))
        if names == ["first"]:
            first_inside.set()
            assert others_queued.wait(10)
        for name in names:
            if name == "bad":
                raise ValueError("bad item")
            session.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": name})
        return [name.upper() for name in names]

    group = database.group_commit("test", write_all)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(group.submit, "first")
        assert first_inside.wait(10)
        rest = {name: pool.submit(group.submit, name) for name in ("a", "bad", "b")}
        while len(group._queue) < 3:  # the three are queued behind the batch being written
            threading.Event().wait(0.001)
        others_queued.set()
        assert first.result() == "FIRST"
        assert rest["a"].result() == "A" and rest["b"].result() == "B"
        with pytest.raises(ValueError, match="bad item"):
            rest["bad"].result()

    assert batches[0] == ["first"]
    assert sorted(batches[1]) == ["a", "b", "bad"]  # one transaction for the three; it failed…
    assert sorted(map(tuple, batches[2:])) == [("a",), ("b",), ("bad",)]  # …so each went alone
    assert stored(database) == {"first", "a", "b"}


def test_every_submitted_item_is_committed_once_under_contention(database: Database) -> None:
    def write_all(session: Session, names: Sequence[str]) -> list[int]:
        for name in names:
            session.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": name})
        return [len(names)] * len(names)

    group = database.group_commit("contention", write_all)
    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(group.submit, [f"item-{n}" for n in range(200)]))
    assert stored(database) == {f"item-{n}" for n in range(200)}
    assert all(1 <= size <= 64 for size in sizes)
