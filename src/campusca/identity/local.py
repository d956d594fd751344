"""Local accounts: argon2id password hashes kept in campusca's own directory (RFC 9106)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from campusca.identity.errors import InvalidCredentials
from campusca.identity.types import AuthenticatedUser

_DUMMY_PASSWORD = "campusca-no-such-user"
# That password hashed with argon2-cffi's default parameters, written out rather than hashed at import:
# a hash takes argon2id's 64 MB for a moment, and that moment set every serve worker's peak memory.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$PmDcMSqpBL7gkG4VBo6uzw$MqP9+DOkilywXTtf9BlFmiV+zUXqSUYHGiAuJV/rb6Y"
)


class PasswordVerifier:
    """argon2id verification that costs the same whether or not there is a hash to check.

    A missing hash (unknown user, no local password) is replaced by a fixed dummy hash made with the same
    parameters, so the answer time does not tell whether an account exists. The counters let operators
    (and tests) see how many passwords were actually checked, and how many of those were dummies.
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # The dummy must cost what a real verification costs: made afresh for other parameters.
        needs_own = self._hasher.check_needs_rehash(_DUMMY_HASH)
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD) if needs_own else _DUMMY_HASH
        self._lock = threading.Lock()
        # A verification holds argon2id's 64 MB while it runs. One at a time per process keeps a burst of
        # logins from multiplying that in a worker (8 admitted writes were 8 x 64 MB on top of its ~130);
        # one already keeps two cores busy (4 lanes), so a burst is not answered any later overall.
        self._one_at_a_time = threading.Lock()
        self.verifications = 0
        self.dummy_verifications = 0

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; always runs exactly one argon2 verification."""
        with self._lock:
            self.verifications += 1
            self.dummy_verifications += stored is None
        try:
            with self._one_at_a_time:
                matched = self._hasher.verify(stored or self._dummy_hash, password)
        except (VerificationError, InvalidHashError, UnicodeError):
            matched = False
        return matched and stored is not None

    def burn(self, password: str) -> None:
        """One dummy verification: for a login refused before any password is looked at."""
        self.verify(None, password)


PASSWORDS = PasswordVerifier()  # one per process: argon2 is stateless, the counters are per process


@dataclass(frozen=True, slots=True)
class LocalAccount:
    username: str
    password_hash: str | None
    active: bool
    display_name: str | None = None
    email: str | None = None
    roles: tuple[str, ...] = ()


class LocalProvider:
    """Checks a password against the argon2id hash the account lookup returns."""

    name = "local"

    def __init__(
        self, lookup: Callable[[str], LocalAccount | None], verifier: PasswordVerifier = PASSWORDS
    ) -> None:
        self._lookup = lookup
        self._verifier = verifier

    def authenticate(self, username: str, password: str) -> AuthenticatedUser:
        account = self._lookup(username.strip().lower()) if username.strip() else None
        stored = account.password_hash if account is not None else None
        # Verify first, decide after: every refusal costs one argon2 verification.
        if not self._verifier.verify(stored, password) or account is None or not account.active:
            raise InvalidCredentials("username or password is wrong")
        return AuthenticatedUser(
            username=account.username,
            source=self.name,
            display_name=account.display_name,
            email=account.email,
            roles=account.roles,
        )
