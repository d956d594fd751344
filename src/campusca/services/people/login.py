"""Institutional login for web pages: provider per organisation, rate limits in the database, sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from campusca.config import LdapSettings
from campusca.db.models import Person
from campusca.db.ota import LoginFailure, WebSession
from campusca.identity import (
    AuthenticatedUser,
    DirectoryUnavailable,
    IdentityProvider,
    InvalidCredentials,
    LdapOptions,
    LdapProvider,
    LocalAccount,
    LocalProvider,
)
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized, ServiceError
from campusca.services.people.registry import ROLES

SESSION_TOKEN_BYTES = 32


class LoginThrottled(NotAuthorized):
    """Too many failed logins for this account or from this address (HTTP 429)."""

    code = "rate_limited"


class LoginUnavailable(ServiceError):
    """The organisation's directory cannot be reached (HTTP 503); not counted as a failed login."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just created: both secrets are returned once and stored hashed."""

    token: str
    csrf_token: str
    expires_at: datetime


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def provider_for(authority: Authority, organisation: str) -> IdentityProvider:
    """LDAP when the organisation has a directory configured (settings.ldap[ORG]), else local accounts."""
    configured = authority.settings.ldap.get(organisation)
    if configured is not None:
        return LdapProvider(ldap_options(configured))

    def lookup(username: str) -> LocalAccount | None:
        with authority.db.read() as session:
            person = session.execute(select(Person).where(Person.username == username)).scalar()
            if person is None:
                return None
            return LocalAccount(
                username=person.username,
                password_hash=person.password_hash,
                active=person.active,
                display_name=person.name,
                email=person.email,
                roles=tuple(person.roles.split()),
            )

    return LocalProvider(lookup)


def ldap_options(settings: LdapSettings) -> LdapOptions:
    return LdapOptions(
        url=settings.url,
        user_base=settings.user_base,
        bind_dn=settings.bind_dn,
        bind_password=settings.bind_password,
        user_filter=settings.user_filter,
        username_attribute=settings.username_attribute,
        group_base=settings.group_base,
        group_filter=settings.group_filter,
        group_roles=dict(settings.group_roles),
        start_tls=settings.start_tls,
        ca_file=str(settings.ca_file) if settings.ca_file else None,
        verify_tls=settings.verify_tls,
        timeout_seconds=settings.timeout_seconds,
    )


def authenticate(
    authority: Authority, *, organisation: str, username: str, password: str, address: str
) -> AuthenticatedUser:
    """Check a password with the organisation's provider, under per-account and per-address limits.

    Every outcome is audited (login.succeeded / login.failed); failures count towards the limits.
    """
    account = username.strip().lower()[:128]  # usernames are at most 128 characters
    with authority.db.read() as session:
        throttled = _throttled(authority, session, account, address)
    if throttled:
        _record_failure(authority, account, address, reason="rate_limited", count=False)
        raise LoginThrottled("too many failed logins; wait a few minutes and try again")
    try:
        user = provider_for(authority, organisation).authenticate(account, password)
    except InvalidCredentials:
        _record_failure(authority, account, address, reason="bad_credentials", count=True)
        raise NotAuthorized("username or password is wrong") from None
    except DirectoryUnavailable as error:
        _record_failure(authority, account, address, reason="directory_unavailable", count=False)
        raise LoginUnavailable(f"login is unavailable right now ({error})") from None
    with authority.db.write() as session:
        _sync_roles(authority, session, user, organisation)
        audit.record(
            session,
            actor=f"person:{user.username}",
            action="login.succeeded",
            target=f"person:{user.username}",
            details={"source": user.source, "address": address, "roles": list(user.roles)},
            at=authority.now(),
        )
    return user


def _throttled(authority: Authority, session: Session, account: str, address: str) -> bool:
    settings = authority.settings
    since = authority.now() - timedelta(minutes=settings.login_failure_window_minutes)
    for scope, key, limit in (
        ("account", account, settings.login_max_failures_per_account),
        ("address", address, settings.login_max_failures_per_address),
    ):
        count = session.execute(
            select(func.count(LoginFailure.id)).where(
                LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at > since
            )
        ).scalar_one()
        if count >= limit:
            return True
    return False


def _record_failure(authority: Authority, account: str, address: str, *, reason: str, count: bool) -> None:
    now = authority.now()
    with authority.db.write() as session:
        if count:
            session.add(LoginFailure(scope="account", key=account, at=now))
            session.add(LoginFailure(scope="address", key=address, at=now))
            # Old failures no longer count towards any window: drop them as we go.
            horizon = now - timedelta(minutes=authority.settings.login_failure_window_minutes * 4)
            session.execute(delete(LoginFailure).where(LoginFailure.at < horizon))
        audit.record(
            session,
            actor=f"address:{address}",
            action="login.failed",
            target=f"person:{account}",
            details={"reason": reason, "address": address},
            at=now,
        )


def _sync_roles(authority: Authority, session: Session, user: AuthenticatedUser, organisation: str) -> None:
    """An LDAP login with a group->role map makes the person's campusca roles follow the directory."""
    directory = authority.settings.ldap.get(organisation)
    if user.source != "ldap" or directory is None or not directory.group_roles:
        return
    person = session.execute(select(Person).where(Person.username == user.username)).scalar()
    roles = " ".join(sorted(set(user.roles) & ROLES))
    if person is None or person.roles == roles:
        return
    person.roles = roles
    audit.record(
        session,
        actor="system:ldap",
        action="person.roles_synced",
        target=f"person:{person.username}",
        details={"roles": roles.split()},
        at=authority.now(),
    )


def create_session(
    authority: Authority, session: Session, *, person: Person, source: str, invitation_id: int | None
) -> NewSession:
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    csrf = csrf_for(token)
    now = authority.now()
    expires_at = now + timedelta(minutes=authority.settings.enroll_session_minutes)
    session.add(
        WebSession(
            token_hash=_sha256(token),
            csrf_hash=_sha256(csrf),
            person_id=person.id,
            invitation_id=invitation_id,
            source=source,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return NewSession(token=token, csrf_token=csrf, expires_at=expires_at)


def load_session(authority: Authority, session: Session, token: str | None) -> WebSession | None:
    """The live session this cookie names, or None (unknown, expired or absent)."""
    if not token:
        return None
    row = session.execute(select(WebSession).where(WebSession.token_hash == _sha256(token))).scalar()
    if row is None or row.expires_at <= authority.now():
        return None
    return row


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session, derived from its cookie so pages can render it without storing it."""
    return hmac.new(session_token.encode(), b"campusca-csrf", hashlib.sha256).hexdigest()


def check_csrf(web_session: WebSession, csrf_token: str | None) -> None:
    if not csrf_token or not hmac.compare_digest(web_session.csrf_hash, _sha256(csrf_token)):
        raise NotAuthorized("the form has expired; reload the page and try again")


def end_session(session: Session, web_session: WebSession) -> None:
    session.delete(web_session)


def purge_expired(authority: Authority) -> int:
    """Drop sessions that ended a day ago and failures older than any window; returns sessions dropped."""
    now = authority.now()
    with authority.db.write() as session:
        dropped = session.execute(delete(WebSession).where(WebSession.expires_at < now - timedelta(days=1)))
        horizon = now - timedelta(minutes=authority.settings.login_failure_window_minutes * 4)
        session.execute(delete(LoginFailure).where(LoginFailure.at < horizon))
        return int(dropped.rowcount or 0)  # type: ignore[attr-defined]
