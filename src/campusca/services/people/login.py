"""The one login service: every password check (REST Basic, enrollment pages, web pages) goes through here.

`authenticate` looks the person up, takes a throttle reservation (services/people/throttle.py) in a
write transaction *before* the password is checked, checks it with the person's organisation's provider
(LDAP when `ldap."ORG"` is configured, else the local argon2id hash), and audits the outcome
(login.succeeded / login.failed / login.throttled). Every refusal looks the same to the caller — unknown
user, wrong password, deactivated, someone else's account on an enrollment link — and costs one password
verification (a dummy argon2 verify when there is nothing to check). Web sessions and CSRF live here too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campusca.config import LdapSettings
from campusca.db.models import Department, Organisation, Person
from campusca.db.ota import WebSession
from campusca.identity import PASSWORDS, DirectoryUnavailable, InvalidCredentials, LdapOptions, LdapProvider
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized, ServiceError
from campusca.services.people import throttle
from campusca.services.people.registry import ROLES

SESSION_TOKEN_BYTES = 32
_MAX_USERNAME = 128
WRONG = "username or password is wrong"


class LoginThrottled(NotAuthorized):
    """Too many failed logins for this account or from this address (HTTP 429 with Retry-After)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginUnavailable(ServiceError):
    """The organisation's directory cannot be reached (HTTP 503); not counted as a failed login."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class AuthenticatedPerson:
    """A person whose password was just checked by `source` (local | ldap)."""

    username: str
    organisation: str
    source: str
    roles: tuple[str, ...]
    display_name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class _Account:
    """What the password check needs to know about the account a login names."""

    username: str
    organisation: str
    password_hash: str | None
    active: bool
    roles: tuple[str, ...]
    display_name: str | None
    email: str | None
    ldap: LdapSettings | None


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just created: both secrets are returned once and stored hashed."""

    token: str
    csrf_token: str
    expires_at: datetime


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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
    authority: Authority,
    *,
    username: str,
    password: str,
    address: str,
    purpose: str,
    only: str | None = None,
) -> AuthenticatedPerson:
    """Check a password under the throttle; audited; one answer (NotAuthorized) for every kind of wrong.

    `purpose` says where the login came from (api, enrollment, web) for the audit trail. `only` admits
    just that account (an enrollment link is for its invitee): anyone else's correct password is refused
    exactly like a wrong one, without being checked. Raises LoginThrottled or LoginUnavailable otherwise.
    """
    typed = username.strip().lower()[:_MAX_USERNAME]
    limits = throttle.Limits.from_settings(authority.settings)
    with authority.db.write() as session:
        account = _account(authority, session, typed)
        wait = throttle.reserve(session, limits, account=typed, address=address, now=authority.now())
        if wait is not None:
            _audit_refusal(authority, session, "login.throttled", account, address, purpose, retry_after=wait)
    if wait is not None:
        raise LoginThrottled(f"too many failed logins; try again in {wait} seconds", retry_after=wait)
    admitted = account if account is not None and (only is None or account.username == only) else None
    try:
        refusal, directory_roles = _check(admitted, password)
    except DirectoryUnavailable:
        _settle_unavailable(authority, typed, account, address, purpose)
        raise LoginUnavailable("login is unavailable right now: the directory cannot be reached") from None
    if refusal is None and admitted is not None:
        return _settle_success(authority, typed, admitted, address, purpose, directory_roles)
    reason = "not_invitee" if account is not None and admitted is None else refusal
    with authority.db.write() as session:
        _audit_refusal(authority, session, "login.failed", account, address, purpose, reason=reason)
    raise NotAuthorized(WRONG)


def _account(authority: Authority, session: Session, typed: str) -> _Account | None:
    found = session.execute(
        select(Person, Organisation.name)
        .join(Department, Person.department_id == Department.id)
        .join(Organisation, Department.organisation_id == Organisation.id)
        .where(Person.username == typed)
    ).first()
    if found is None or not typed:
        return None
    person, organisation = found
    return _Account(
        username=person.username,
        organisation=organisation,
        password_hash=person.password_hash,
        active=person.active,
        roles=tuple(person.roles.split()),
        display_name=person.name,
        email=person.email,
        ldap=authority.settings.ldap.get(organisation),
    )


def _check(account: _Account | None, password: str) -> tuple[str | None, tuple[str, ...]]:
    """(None, directory roles) when the password is right and the account may log in, else (reason, ()).

    Every path runs one argon2 verification (the person's hash, or the dummy one); LDAP accounts add the
    bind. The reason is for the audit trail only; callers all get the same answer.
    """
    if account is None:
        PASSWORDS.burn(password)
        return "unknown_account", ()
    roles: tuple[str, ...] = ()
    if account.ldap is not None:
        # The dummy verify too: an unknown username costs one argon2 verify, so a directory account
        # must not answer ~300 ms sooner (only the directory's round trip is left to tell them apart).
        PASSWORDS.burn(password)
        try:
            roles = LdapProvider(ldap_options(account.ldap)).authenticate(account.username, password).roles
        except InvalidCredentials:
            return "wrong_password", ()
    elif not PASSWORDS.verify(account.password_hash, password):
        return ("wrong_password" if account.password_hash else "no_local_password"), ()
    return (None, roles) if account.active else ("deactivated", ())


def _audit_refusal(
    authority: Authority,
    session: Session,
    action: str,
    account: _Account | None,
    address: str,
    purpose: str,
    **details: object,
) -> None:
    # The username is kept only when it names a real account: an unknown one may be a mistyped password.
    audit.record(
        session,
        actor=f"address:{address}",
        action=action,
        target=f"person:{account.username}" if account is not None else "person:?",
        details={"address": address, "purpose": purpose, **details},
        at=authority.now(),
    )


def _settle_unavailable(
    authority: Authority, typed: str, account: _Account | None, address: str, purpose: str
) -> None:
    with authority.db.write() as session:
        throttle.give_back(session, account=typed, address=address, succeeded=False)
        _audit_refusal(
            authority, session, "login.failed", account, address, purpose, reason="directory_unavailable"
        )


def _settle_success(
    authority: Authority,
    typed: str,
    account: _Account,
    address: str,
    purpose: str,
    directory_roles: tuple[str, ...],
) -> AuthenticatedPerson:
    source = "ldap" if account.ldap is not None else "local"
    with authority.db.write() as session:
        throttle.give_back(session, account=typed, address=address, succeeded=True)
        roles = _sync_roles(authority, session, account, directory_roles)
        audit.record(
            session,
            actor=f"person:{account.username}",
            action="login.succeeded",
            target=f"person:{account.username}",
            details={"source": source, "address": address, "purpose": purpose, "roles": list(roles)},
            at=authority.now(),
        )
    return AuthenticatedPerson(
        username=account.username,
        organisation=account.organisation,
        source=source,
        roles=roles,
        display_name=account.display_name,
        email=account.email,
    )


def _sync_roles(
    authority: Authority, session: Session, account: _Account, directory_roles: tuple[str, ...]
) -> tuple[str, ...]:
    """An LDAP login with a group->role map makes the person's campusca roles follow the directory."""
    if account.ldap is None or not account.ldap.group_roles:
        return account.roles
    person = session.execute(select(Person).where(Person.username == account.username)).scalar_one()
    roles = " ".join(sorted(set(directory_roles) & ROLES))
    if person.roles != roles:
        person.roles = roles
        audit.record(
            session,
            actor="system:ldap",
            action="person.roles_synced",
            target=f"person:{person.username}",
            details={"roles": roles.split()},
            at=authority.now(),
        )
    return tuple(roles.split())


def create_session(
    authority: Authority,
    session: Session,
    *,
    person: Person,
    source: str,
    invitation_id: int | None,
    minutes: int | None = None,
) -> NewSession:
    """A session for `person`: an enrollment session names its invitation, a web-page session none."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    csrf = csrf_for(token)
    now = authority.now()
    expires_at = now + timedelta(minutes=minutes or authority.settings.enroll_session_minutes)
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
        throttle.purge(session, throttle.Limits.from_settings(authority.settings), now)
        return int(dropped.rowcount or 0)  # type: ignore[attr-defined]
