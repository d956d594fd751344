"""Group commit: writes of one kind that arrive together share one write transaction.

Every write transaction pays a fixed price beyond its statements: taking the write lock (on SQLite,
meeting the other processes at it), BEGIN, COMMIT, and the WAL frames of the pages it touched. When
many requests each record one certificate, that price dominates. Here each caller queues its item;
whichever caller gets the batch lock first writes everything queued so far in one transaction and
hands every caller its own result. A caller returns only after the transaction holding its item
has committed, so nothing is acknowledged before it is durable.

A batch fails as a unit, so after a failure (other than Busy, which would fail each item alike) the
items are written again one per transaction: one bad item costs the others a retry, never their write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from campusca.errors import Busy

Item = TypeVar("Item")
Result = TypeVar("Result")
# The largest batch: bounds the transaction's duration, so that readers' snapshots and other
# processes waiting for the SQLite write lock are held up for milliseconds, not for a whole burst.
MAX_BATCH = 64


class _Ticket(Generic[Item, Result]):
    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False

    def settle(self, result: Result | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True


class GroupCommit(Generic[Item, Result]):
    """Writes items with `write_all(session, items) -> results` (one result per item, in order)."""

    def __init__(
        self,
        write: Callable[[], AbstractContextManager[Session]],
        write_all: Callable[[Session, Sequence[Item]], list[Result]],
    ) -> None:
        self._write = write
        self._write_all = write_all
        self._queue: list[_Ticket[Item, Result]] = []
        self._queue_lock = threading.Lock()
        self._batch_lock = threading.Lock()

    def submit(self, item: Item) -> Result:
        """Write `item` (possibly with others) and return its result once committed; raise its error."""
        ticket: _Ticket[Item, Result] = _Ticket(item)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._batch_lock:
            # A caller that held the batch lock before us may have written our item already.
            if not ticket.done:
                for batch in self._take_batches():
                    self._write_batch(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]

    def _take_batches(self) -> Iterator[list[_Ticket[Item, Result]]]:
        with self._queue_lock:
            queued, self._queue = self._queue, []
        for start in range(0, len(queued), MAX_BATCH):
            yield queued[start : start + MAX_BATCH]

    def _write_batch(self, batch: list[_Ticket[Item, Result]]) -> None:
        try:
            with self._write() as session:
                results = self._write_all(session, [ticket.item for ticket in batch])
        except Busy as error:
            for ticket in batch:
                ticket.settle(error=error)
            return
        except Exception as error:
            if len(batch) == 1:
                batch[0].settle(error=error)
                return
            for ticket in batch:  # nothing was committed: each item alone, so only the bad one fails
                self._write_batch([ticket])
            return
        for ticket, result in zip(batch, results, strict=True):
            ticket.settle(result)
