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


def caller(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    authority: Authority = Depends(get_authority),
) -> TokenIdentity:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("an 'Authorization: Bearer <token>' header is required")
    try:
        return people.identify_token(authority, credentials.credentials)
    except NotAuthorized:
        raise Unauthenticated("bearer token is unknown or revoked") from None


def require_role(*roles: str) -> Callable[[TokenIdentity], Awaitable[TokenIdentity]]:
    """A dependency that admits tokens with one of `roles` (admin is always admitted)."""

    async def check(identity: TokenIdentity = Depends(caller)) -> TokenIdentity:
        if identity.role != "admin" and identity.role not in roles:
            raise NotAuthorized(f"this needs one of the roles: admin, {', '.join(roles)}")
        return identity

    return check
