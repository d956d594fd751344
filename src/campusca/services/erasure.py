"""Forgetting erased secrets for good, once the transaction that erased them has committed (issue 9).

Setting a column to NULL or retiring a key's row is not enough: SQLite keeps the old page images in
`campusca.db-wal` until a checkpoint, and a retired simple-mode escrow key stays in the key backend. A
service that erases secret material calls `erase_after_commit` inside its transaction; when, and only
if, that transaction commits, the named backend keys are destroyed and the WAL is checkpointed with
TRUNCATE (the database runs with `secure_delete`, so the checkpointed pages hold zeros where the secret
was). Nothing is destroyed before the commit, so a re-wrap that rolls back never loses the only key
that opens the archive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from campusca.db import after_commit
from campusca.db.engine import checkpoint_wal
from campusca.keys import KeyBackend, KeyBackendError

log = logging.getLogger("campusca.erasure")

_PENDING = "campusca.erase_after_commit"


@dataclass
class _Pending:
    keys: list[tuple[KeyBackend, str]] = field(default_factory=list)


def erase_after_commit(
    session: Session, *, backend: KeyBackend | None = None, key_labels: Iterable[str] = ()
) -> None:
    """Once `session` commits: destroy these keys in `backend`, then checkpoint and truncate the WAL.

    Runs through `db.after_commit`, so it happens after the write lock is released and never after
    a rollback; several erasures in one transaction share one checkpoint.
    """
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = _Pending()
        bind = session.get_bind()
        after_commit(session, _PENDING, lambda: _erase(pending, bind))
    if backend is not None:
        pending.keys.extend((backend, label) for label in key_labels)


def _erase(pending: _Pending, bind: Engine | Connection) -> None:
    for backend, label in pending.keys:
        _destroy_key(backend, label)
    try:
        finished = checkpoint_wal(bind)
    except SQLAlchemyError as error:
        log.error(
            "WAL checkpoint after an erasure failed (%s); the next one truncates it", type(error).__name__
        )
        return
    if not finished:
        log.warning("WAL checkpoint after an erasure was held up by readers; the next one truncates it")


def _destroy_key(backend: KeyBackend, label: str) -> None:
    # The commit already happened: a failure is reported, never raised (the caller's work is done), and
    # the key stays listed on its retired row so the next mode change of the domain tries again.
    try:
        destroyed = backend.destroy(label)
    except (KeyBackendError, OSError) as error:
        log.error("retired key %s could not be destroyed: %s", label, type(error).__name__)
        return
    if destroyed:
        log.info("retired key %s destroyed", label)
