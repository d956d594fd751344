"""REST API bearer tokens: random, shown once, stored as SHA-256 only.

`create_token` joins the caller's transaction; `mint_token`,
`identify_token`, `list_tokens` and `revoke_token` own theirs (for adapters).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from campusca.db.direct import DirectStatement
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


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as administrators see it (never its value)."""

    id: int
    name: str
    role: str
    created_at: datetime
    revoked: bool


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


_FIND_TOKEN = DirectStatement(
    select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.revoked).where(
        ApiToken.token_hash == bindparam("token_hash")
    )
)


def revoke_token(authority: Authority, token_id: int, *, actor: str) -> None:
    """Revoke a token by id; requests bearing it are refused from the next one on."""
    with authority.db.write() as session:
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


def list_tokens(authority: Authority) -> list[TokenView]:
    """Every token (never its value), oldest first."""
    with authority.db.read() as session:
        rows = session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()
        return [
            TokenView(id=r.id, name=r.name, role=r.role, created_at=r.created_at, revoked=r.revoked)
            for r in rows
        ]


def mint_token(authority: Authority, *, name: str, role: str, actor: str) -> str:
    """Create a token (see `create_token`) in a transaction of its own; returns its secret value."""
    with authority.db.write() as session:
        return create_token(authority, session, name=name, role=role, actor=actor)


def identify_token(authority: Authority, token: str) -> TokenIdentity:
    """Who a bearer token belongs to; NotAuthorized when it is unknown or revoked."""
    # Every REST request runs this: a bare read transaction, the statement on the DBAPI cursor.
    with authority.db.read_connection() as connection:
        row = _FIND_TOKEN.one_or_none(connection, {"token_hash": _hash(token)})
    if row is None or row[3]:  # unknown, or revoked
        raise NotAuthorized("bearer token is unknown or revoked")
    token_id, name, role, _ = row
    return TokenIdentity(id=token_id, name=name, role=role)
