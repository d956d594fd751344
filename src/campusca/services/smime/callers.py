"""Who calls the S/MIME, escrow and recovery REST routes: an API token or a person with a password.

Each check runs in a read transaction of its own and returns a frozen identity, so the REST adapter
never holds a session. (The password check is the local argon2id one; see issue 9 for the login service.)
"""

from __future__ import annotations

from dataclasses import dataclass

from campusca.services.authority import Authority
from campusca.services.errors import NotFound
from campusca.services.people.registry import check_password, get_person
from campusca.services.people.tokens import TokenIdentity, authenticate_token


@dataclass(frozen=True, slots=True)
class PersonLogin:
    """A person whose username and password were right, with their roles."""

    username: str
    roles: tuple[str, ...]


def api_token_identity(authority: Authority, token: str) -> TokenIdentity:
    """The API token with this secret value; NotAuthorized when unknown or revoked."""
    with authority.db.read() as session:
        return authenticate_token(session, token)


def person_login(authority: Authority, username: str, password: str) -> PersonLogin | None:
    """The active person with this username and password, else None (whatever the reason)."""
    with authority.db.read() as session:
        try:
            person = get_person(session, username)
        except NotFound:
            return None
        if not check_password(person, password) or not person.active:
            return None
        return PersonLogin(username=person.username, roles=tuple(person.roles.split()))
