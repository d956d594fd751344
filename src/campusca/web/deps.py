"""FastAPI dependencies: the authority from app state, bearer-token callers and their roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from campusca.services import people
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.services.people import TokenIdentity

_bearer = HTTPBearer(auto_error=False, description="An API token from 'campusca token create'")


class Unauthenticated(NotAuthorized):
    """No or an invalid bearer token (HTTP 401, unlike a token lacking a role: 403)."""

    code = "unauthenticated"


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the thread
# pool, and that hop costs more than these functions do (they run on every REST request).
async def get_authority(request: Request) -> Authority:
    authority: Authority = request.app.state.authority
    return authority


async def bearer_credentials(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> HTTPAuthorizationCredentials | None:
    """The Authorization header, unchecked (no I/O): for routes that check it in their own thread."""
    return credentials


def identify(
    authority: Authority, credentials: HTTPAuthorizationCredentials | None, *roles: str
) -> TokenIdentity:
    """The token's identity, admitted only with one of `roles` if any are given (admin always is).

    Reads the database: call it from a route's worker thread. `caller`/`require_role` do so as a
    dependency; the issuance route calls it itself, which saves a hand-over to the thread pool on
    the busiest write path (each costs about as much as the token lookup).
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("an 'Authorization: Bearer <token>' header is required")
    try:
        identity = people.identify_token(authority, credentials.credentials)
    except NotAuthorized:
        raise Unauthenticated("bearer token is unknown or revoked") from None
    if roles:
        _admit(identity, roles)
    return identity


def _admit(identity: TokenIdentity, roles: tuple[str, ...]) -> None:
    if identity.role != "admin" and identity.role not in roles:
        raise NotAuthorized(f"this needs one of the roles: admin, {', '.join(roles)}")


def caller(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    authority: Authority = Depends(get_authority),
) -> TokenIdentity:
    return identify(authority, credentials)


def require_role(*roles: str) -> Callable[[TokenIdentity], Awaitable[TokenIdentity]]:
    """A dependency that admits tokens with one of `roles` (admin is always admitted)."""

    async def check(identity: TokenIdentity = Depends(caller)) -> TokenIdentity:
        _admit(identity, roles)
        return identity

    return check
