"""REST API bearer tokens: random, shown once, stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.ids import get_row
from campusca.db.models import ApiToken
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput, NotAuthorized

TOKEN_ROLES = ("admin", "ra-officer", "auditor")
TOKEN_PREFIX = "cca_"


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"token:{self.name}"


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(authority: Authority, session: Session, *, name: str, role: str, actor: str) -> str:
    """Create a token and return its secret value; only its hash is stored."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(TOKEN_ROLES)}; got {role!r}")
    if not name.strip():
        raise InvalidInput("token name must not be empty")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip(), role=role, token_hash=_hash(token), created_at=authority.now())
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.created",
        target=f"token:{row.name}",
        details={"role": role, "id": row.id},
        at=authority.now(),
    )
    return token


def authenticate_token(session: Session, token: str) -> TokenIdentity:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _hash(token))).scalar()
    if row is None or row.revoked:
        raise NotAuthorized("bearer token is unknown or revoked")
    return TokenIdentity(id=row.id, name=row.name, role=row.role)


def revoke_token(authority: Authority, session: Session, token_id: int, *, actor: str) -> None:
    row = get_row(session, ApiToken, token_id)
    if row is None:
        raise InvalidInput(f"no token with id {token_id}")
    row.revoked = True
    audit.record(
        session,
        actor=actor,
        action="token.revoked",
        target=f"token:{row.name}",
        details={"id": token_id},
        at=authority.now(),
    )


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())
