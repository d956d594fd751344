"""Local accounts: argon2id password hashes kept in campusca's own directory (RFC 9106)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from campusca.identity.errors import InvalidCredentials
from campusca.identity.types import AuthenticatedUser

_hasher = PasswordHasher()
# Hashed once so that unknown users cost as much as known ones (no username oracle by timing).
_DUMMY_HASH = _hasher.hash("campusca-no-such-user")


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

    def __init__(self, lookup: Callable[[str], LocalAccount | None]) -> None:
        self._lookup = lookup

    def authenticate(self, username: str, password: str) -> AuthenticatedUser:
        account = self._lookup(username.strip().lower()) if username.strip() else None
        stored = account.password_hash if account is not None else None
        if not _verify(stored or _DUMMY_HASH, password) or account is None or stored is None:
            raise InvalidCredentials("username or password is wrong")
        if not account.active:
            raise InvalidCredentials("username or password is wrong")
        return AuthenticatedUser(
            username=account.username,
            source=self.name,
            display_name=account.display_name,
            email=account.email,
            roles=account.roles,
        )


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
