"""Sessions of the web pages (/my/, /admin/): log in through the one login service, idle and absolute expiry.

A web-page session is a `WebSession` row without an invitation (enrollment sessions name theirs, so
neither kind opens the other's pages). Its `expires_at` is the idle deadline: each visit moves it to
`now + idle`, never past `created_at + absolute`. The move is written at most once a minute, so
reading pages does not turn every GET into a write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from campusca.db.ota import WebSession
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.services.people import login
from campusca.services.people.registry import get_person

_REFRESH = timedelta(minutes=1)
ENDED = "please log in again: your session has ended"


@dataclass(frozen=True, slots=True)
class WebLogin:
    """A web-page session just created; the token goes in the cookie and is never shown again."""

    token: str
    username: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class WebIdentity:
    """Who a live web-page session belongs to, with their current roles and the session's CSRF token."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    csrf_token: str
    expires_at: datetime

    def has_any(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def actor(self) -> str:
        """Who the audit trail names for a change made on a page: the person, as REST names them."""
        return f"person:{self.username}"


def log_in_web(authority: Authority, *, username: str, password: str, address: str) -> WebLogin:
    """Check the password with the login service (throttled, audited), then open a web-page session.

    Raises what `login.authenticate` raises: NotAuthorized (the same for every kind of wrong),
    LoginThrottled, LoginUnavailable.
    """
    user = login.authenticate(authority, username=username, password=password, address=address, purpose="web")
    idle = authority.settings.web_session_idle_minutes
    with authority.db.write() as session:
        person = get_person(session, user.username)
        new = login.create_session(
            authority, session, person=person, source=user.source, invitation_id=None, minutes=idle
        )
    return WebLogin(token=new.token, username=user.username, expires_at=new.expires_at)


def _deadline(authority: Authority, row: WebSession, now: datetime) -> datetime:
    settings = authority.settings
    absolute = row.created_at + timedelta(hours=settings.web_session_absolute_hours)
    return min(now + timedelta(minutes=settings.web_session_idle_minutes), absolute)


def web_identity(authority: Authority, token: str | None) -> WebIdentity | None:
    """The person of a live web-page session, its idle deadline moved on; None when there is none."""
    now = authority.now()
    with authority.db.read() as session:
        row = login.load_session(authority, session, token)
        if row is None or row.invitation_id is not None or not row.person.active:
            return None
        deadline = _deadline(authority, row, now)
        if deadline <= now:
            return None
        identity = WebIdentity(
            username=row.person.username,
            display_name=row.person.name or row.person.username,
            roles=tuple(row.person.roles.split()),
            csrf_token=login.csrf_for(token or ""),
            expires_at=deadline,
        )
        stale = deadline - row.expires_at > _REFRESH
        row_id = row.id
    if stale:
        with authority.db.write() as session:
            session.execute(
                select(WebSession).where(WebSession.id == row_id)
            ).scalar_one().expires_at = deadline
    return identity


def log_out_web(authority: Authority, token: str | None, csrf_token: str | None) -> None:
    """End the session if the form carries its CSRF token; NotAuthorized (and nothing ends) otherwise."""
    with authority.db.write() as session:
        row = login.load_session(authority, session, token)
        if row is None or row.invitation_id is not None:
            raise NotAuthorized(ENDED)
        login.check_csrf(row, csrf_token)
        username = row.person.username
        login.end_session(session, row)
        audit.record(
            session,
            actor=f"person:{username}",
            action="logout",
            target=f"person:{username}",
            details={"purpose": "web"},
            at=authority.now(),
        )
