"""What a successful login yields, and the seam every identity provider fits (local, LDAP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """A person whose password was just checked by `source`, with the roles their groups map to."""

    username: str
    source: str  # local | ldap
    display_name: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


class IdentityProvider(Protocol):
    name: str

    def authenticate(self, username: str, password: str) -> AuthenticatedUser:
        """Return the user, or raise InvalidCredentials / DirectoryUnavailable."""
        ...
