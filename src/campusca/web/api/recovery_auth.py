"""Who is calling the S/MIME, escrow and recovery endpoints: a person (HTTP Basic) or an API token (Bearer).

People act for themselves (recovery agents approve, legal officers request, Bob issues his own pair) with
their institutional username and password; administrators' scripts use bearer tokens. The password is
checked by the one login service (`services.people.login.authenticate`): LDAP or local, throttled, audited.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from campusca.services import people
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.services.people import login
from campusca.services.people.login import LoginThrottled
from campusca.web.deps import Unauthenticated, get_authority


@dataclass(frozen=True, slots=True)
class Caller:
    """A person (`username` set, their roles) or an API token (`token_role` set)."""

    actor: str
    username: str | None = None
    roles: tuple[str, ...] = ()
    token_role: str | None = None

    @property
    def is_operator(self) -> bool:
        """An admin token or an admin person: trusted like the CLI operator."""
        return self.token_role == "admin" or "admin" in self.roles


def _basic(authority: Authority, value: str, address: str) -> Caller:
    try:
        username, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("HTTP Basic credentials are not valid base64 of username:password") from None
    if not sep:
        raise Unauthenticated("HTTP Basic credentials must be username:password")
    try:
        person = login.authenticate(
            authority, username=username, password=password, address=address, purpose="api"
        )
    except LoginThrottled:
        raise
    except NotAuthorized as refused:
        raise Unauthenticated(str(refused)) from None
    return Caller(actor=f"person:{person.username}", username=person.username, roles=person.roles)


def caller_of(request: Request, authority: Authority) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        return _basic(authority, value.strip(), request.client.host if request.client else "unknown")
    if scheme.lower() == "bearer" and value:
        try:
            token = people.identify_token(authority, value.strip())
        except NotAuthorized:
            raise Unauthenticated("bearer token is unknown or revoked") from None
        return Caller(actor=token.actor, token_role=token.role)
    raise Unauthenticated(
        "log in with HTTP Basic (username and password) or an 'Authorization: Bearer' token"
    )


def require_caller(*, token_roles: tuple[str, ...] = (), person: bool = True) -> Callable[..., Caller]:
    """A dependency admitting people (when `person`) and tokens of `token_roles` (admin tokens always)."""

    def check(request: Request, authority: Authority = Depends(get_authority)) -> Caller:
        found = caller_of(request, authority)
        if (
            found.token_role is not None
            and found.token_role != "admin"
            and found.token_role not in token_roles
        ):
            raise NotAuthorized(
                f"this needs a person's login or a token with one of: admin, {', '.join(token_roles)}"
            )
        if found.username is not None and not person:
            raise NotAuthorized("this needs an API token")
        return found

    return check
