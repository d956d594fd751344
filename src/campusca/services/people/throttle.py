"""Login throttling: failed-login counters in the database, reserved before a password is checked.

Three counters are consulted for every attempt, in one write transaction that locks their rows:
- the (account, address) pair: `login_free_failures` tries, then an exponential back-off
  (`login_backoff_seconds`, doubling, at most `login_backoff_max_seconds`) — the lock-out a stranger
  can cause stays on the stranger's own address;
- the account from every address (`login_max_failures_per_account`) — the ceiling on guesses a
  distributed attacker gets;
- the address for every account (`login_max_failures_per_address`) — against password spraying.
Each counter forgets its failures `login_failure_window_minutes` after the first one it holds.

An admitted attempt is counted as a failure *before* the password is checked, and given back when it
succeeds; so concurrent attempts (threads, workers, nodes) can never check more passwords than the limits
allow. Counters are keyed by SHA-256 digests: a password typed into the username field is never stored.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from campusca.config import Settings
from campusca.db.ota import LoginThrottle
from campusca.services.errors import ServiceError

PAIR, ACCOUNT, ADDRESS = "pair", "account", "address"


@dataclass(frozen=True, slots=True)
class Limits:
    """The throttle's numbers, from settings (documented in docs/enrollment.md, "Login")."""

    free_failures: int
    backoff_seconds: float
    backoff_max_seconds: float
    account_ceiling: int
    address_ceiling: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            free_failures=settings.login_free_failures,
            backoff_seconds=settings.login_backoff_seconds,
            backoff_max_seconds=settings.login_backoff_max_seconds,
            account_ceiling=settings.login_max_failures_per_account,
            address_ceiling=settings.login_max_failures_per_address,
            window=timedelta(minutes=settings.login_failure_window_minutes),
        )

    def pair_wait(self, failures: int) -> float:
        """Seconds the pair must wait after its last failure once it holds `failures`."""
        if failures < self.free_failures:
            return 0.0
        exponent = min(failures - self.free_failures, 32)  # 2**32 s is past any sane maximum
        return min(self.backoff_seconds * 2**exponent, self.backoff_max_seconds)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _keys(account: str, address: str) -> list[tuple[str, str]]:
    return sorted(
        [(PAIR, _digest(account, address)), (ACCOUNT, _digest(account)), (ADDRESS, _digest(address))]
    )


def _lock_rows(session: Session, keys: list[tuple[str, str]]) -> dict[str, LoginThrottle]:
    """Create the counters that do not exist yet, then lock all of them (in key order: no deadlocks).

    SQLite: the caller's BEGIN IMMEDIATE already serialises writers. PostgreSQL: SELECT ... FOR UPDATE.
    """
    values = [{"scope": scope, "key": key, "failures": 0} for scope, key in keys]
    dialect_insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for _ in range(3):  # a concurrent purge may delete a counter between the INSERT and the SELECT
        session.execute(dialect_insert(LoginThrottle).values(values).on_conflict_do_nothing())
        found = session.execute(
            select(LoginThrottle)
            .where(or_(*(and_(LoginThrottle.scope == s, LoginThrottle.key == k) for s, k in keys)))
            .order_by(LoginThrottle.scope, LoginThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
        rows = {row.scope: row for row in found}
        if len(rows) == len(keys):
            return rows
    raise ServiceError("login counters could not be locked; try again")


def _forget_if_stale(row: LoginThrottle, limits: Limits, now: datetime) -> None:
    if row.first_failure_at is not None and now - row.first_failure_at >= limits.window:
        row.failures, row.first_failure_at, row.last_failure_at = 0, None, None


def _seconds_until(moment: datetime, now: datetime) -> float:
    return max(0.0, (moment - now).total_seconds())


def _wait(rows: dict[str, LoginThrottle], limits: Limits, now: datetime) -> float:
    waits = [0.0]
    pair = rows[PAIR]
    if pair.last_failure_at is not None:
        waits.append(
            _seconds_until(pair.last_failure_at + timedelta(seconds=limits.pair_wait(pair.failures)), now)
        )
    for scope, ceiling in ((ACCOUNT, limits.account_ceiling), (ADDRESS, limits.address_ceiling)):
        row = rows[scope]
        if row.failures >= ceiling and row.first_failure_at is not None:
            waits.append(_seconds_until(row.first_failure_at + limits.window, now))
    return max(waits)


def reserve(session: Session, limits: Limits, *, account: str, address: str, now: datetime) -> int | None:
    """Count one failure for this attempt before its password is checked.

    Returns None when the attempt may go ahead, else the whole seconds to wait (nothing is counted then).
    """
    rows = _lock_rows(session, _keys(account, address))
    for row in rows.values():
        _forget_if_stale(row, limits, now)
    wait = _wait(rows, limits, now)
    if wait > 0:
        return max(1, math.ceil(wait))
    for row in rows.values():
        row.failures += 1
        row.first_failure_at = row.first_failure_at or now
        row.last_failure_at = now
    return None


def give_back(session: Session, *, account: str, address: str, succeeded: bool) -> None:
    """Undo a reservation: after a success (the pair starts afresh) or when no password was checked."""
    rows = _lock_rows(session, _keys(account, address))
    for scope, row in rows.items():
        if succeeded and scope == PAIR:
            row.failures, row.first_failure_at, row.last_failure_at = 0, None, None
        else:
            row.failures = max(0, row.failures - 1)


def purge(session: Session, limits: Limits, now: datetime) -> None:
    """Drop counters whose window has passed (they would be reset on their next use anyway)."""
    session.execute(
        delete(LoginThrottle).where(
            or_(
                LoginThrottle.first_failure_at.is_(None),
                LoginThrottle.first_failure_at <= now - limits.window,
            )
        )
    )
