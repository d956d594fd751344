"""SCEP one-time challenge passwords (RFC 8894 §2.3): created for a person, stored hashed, used once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from campusca.db.direct import DirectStatement
from campusca.db.engine import core_connection
from campusca.db.models import Person
from campusca.db.scep import ScepChallenge
from campusca.pki.certificates import common_name
from campusca.pki.errors import ProfileError
from campusca.pki.profiles import get_profile
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import HOLDER_COLUMNS, Holder, join_holder
from campusca.services.errors import ChallengeRejected, InvalidInput
from campusca.services.people.registry import get_person

# 160 random bits as 40 hex digits: PrintableString-safe, so every client encodes it the same way.
CHALLENGE_BYTES = 20
MAX_TTL_SECONDS = 30 * 24 * 3600
MAX_COMMON_NAME = 64  # X.520 ub-common-name


@dataclass(frozen=True, slots=True)
class ChallengeView:
    """A challenge as administrators see it (never the secret)."""

    id: int
    username: str
    device_ref: str | None
    expected_subject: str | None
    profile: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "device_ref": self.device_ref,
            "expected_subject": self.expected_subject,
            "profile": self.profile,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "consumed_at": self.consumed_at.isoformat() if self.consumed_at else None,
        }


@dataclass(frozen=True, slots=True)
class NewChallenge:
    """A challenge just made: its secret is shown to whoever asked, once, and never stored."""

    secret: str = field(repr=False)
    username: str
    device_ref: str | None
    profile: str
    expires_at: datetime
    url: str  # the SCEP URL the device enrols at


def hash_challenge(secret: str) -> str:
    # 160 random bits leave nothing to brute-force, so a fast hash is enough (as for API tokens).
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def check_scep_profile(authority: Authority, profile: str) -> str:
    """The profile name if SCEP may issue it (settings.scep_profiles), else InvalidInput."""
    try:
        get_profile(profile)
    except ProfileError:
        raise InvalidInput(f"profile {profile!r} does not exist") from None
    if profile not in authority.settings.scep_profiles:
        allowed = ", ".join(authority.settings.scep_profiles)
        raise InvalidInput(f"profile must be one SCEP may issue ({allowed}); got {profile!r}")
    return profile


def create_challenge(
    authority: Authority,
    session: Session,
    *,
    person: Person,
    actor: str,
    ttl_seconds: int = 3600,
    device_ref: str | None = None,
    expected_subject: str | None = None,
    profile: str = "device",
    expected_san: str | None = None,
) -> str:
    """Create a one-time challenge for `person` and return its secret (shown once; only a hash is kept).

    `device_ref` (the device's UDID, or a `urn:` value) is copied into the enrollment and, as a URN,
    into the certificate. `expected_subject` (an RFC 4514 name, or a bare common name) and
    `expected_san` must then match the CSR.
    """
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidInput(f"ttl must be between 1 and {MAX_TTL_SECONDS} seconds; got {ttl_seconds}")
    if not person.active:
        raise InvalidInput(f"person {person.username!r} is deactivated")
    check_scep_profile(authority, profile)
    if expected_subject is not None:
        expected_name(expected_subject)  # refuse an unparsable name now, not at enrollment
    if device_ref is not None and not (0 < len(device_ref.strip()) <= 200):
        raise InvalidInput("device must be 1 to 200 characters")
    secret = secrets.token_hex(CHALLENGE_BYTES)
    now = authority.now()
    row = ScepChallenge(
        secret_hash=hash_challenge(secret),
        person_id=person.id,
        device_ref=device_ref.strip() if device_ref else None,
        expected_subject=expected_subject,
        expected_san=expected_san,
        profile=profile,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scep.challenge.created",
        target=f"person:{person.username}",
        details={"id": row.id, "device": row.device_ref, "profile": profile, "expires_at": row.expires_at},
        at=now,
    )
    return secret


@dataclass(frozen=True, slots=True)
class RedeemableChallenge:
    """A challenge with the holder it was issued for, as read in the enrolling transaction."""

    id: int
    holder: Holder
    profile: str
    device_ref: str | None
    expected_subject: str | None
    expected_san: str | None
    expires_at: datetime
    consumed_at: datetime | None


# Statements of the SCEP enrollment hot path, built once (SQLAlchemy then only looks up their compiled
# form): the ORM query with its joined loads cost more than the rest of an enrollment's SQL together.
_FIND_REDEEMABLE = DirectStatement(
    join_holder(
        select(
            ScepChallenge.secret_hash,
            ScepChallenge.id,
            ScepChallenge.profile,
            ScepChallenge.device_ref,
            ScepChallenge.expected_subject,
            ScepChallenge.expected_san,
            ScepChallenge.expires_at,
            ScepChallenge.consumed_at,
            *HOLDER_COLUMNS,
        ).join(Person, ScepChallenge.person_id == Person.id)
    ).where(ScepChallenge.secret_hash == bindparam("secret_hash"))
)
# RETURNING tells whether this request used the challenge (a DirectStatement has no rowcount).
_USE_CHALLENGE = DirectStatement(
    update(ScepChallenge.__table__)
    .where(ScepChallenge.id == bindparam("challenge_id"), ScepChallenge.consumed_at.is_(None))
    .values(consumed_at=bindparam("now", type_=ScepChallenge.__table__.c.consumed_at.type))
    .returning(ScepChallenge.__table__.c.id)
)


def find_redeemable(session: Session, secret: str) -> RedeemableChallenge:
    """The challenge whose secret this is, with its holder, in one query; checks are the caller's."""
    secret_hash = hash_challenge(secret)
    row = _FIND_REDEEMABLE.one_or_none(core_connection(session), {"secret_hash": secret_hash})
    # compare_digest keeps the refusal path as uniform as the lookup allows.
    if row is None or not hmac.compare_digest(row[0], secret_hash):
        raise ChallengeRejected("challenge password is wrong")
    return RedeemableChallenge(row[1], Holder(*row[8:]), *row[2:8])


def use_challenge(session: Session, challenge: RedeemableChallenge, now: datetime) -> None:
    """Mark the challenge used with one conditional UPDATE, so two requests cannot both use it."""
    if challenge.expires_at <= now:
        raise ChallengeRejected("challenge password has expired")
    used = _USE_CHALLENGE.rows(core_connection(session), {"challenge_id": challenge.id, "now": now})
    if len(used) != 1:
        raise ChallengeRejected("challenge password has already been used")


def check_csr_fits(challenge: RedeemableChallenge, csr: x509.CertificateSigningRequest) -> None:
    """Refuse a CSR whose subject or subjectAltName is not the one the challenge was issued for."""
    if challenge.expected_subject is not None and not _subject_matches(
        csr.subject, expected_name(challenge.expected_subject)
    ):
        raise ChallengeRejected("CSR subject does not match the subject the challenge was issued for")
    if challenge.expected_san is not None and challenge.expected_san not in _requested_names(csr):
        raise ChallengeRejected("CSR subjectAltName does not match the name the challenge was issued for")


def _subject_matches(subject: x509.Name, expected: x509.Name) -> bool:
    """A bare expected CN compares the CN only; a full name compares every attribute, in any order."""
    if len(expected) == 1 and common_name(expected) is not None:
        return common_name(subject) == common_name(expected)

    def attributes(name: x509.Name) -> list[tuple[str, str]]:
        return sorted((a.oid.dotted_string, str(a.value)) for a in name)

    return attributes(subject) == attributes(expected)


def _requested_names(csr: x509.CertificateSigningRequest) -> set[str]:
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return set()
    return {str(name.value) for name in san}


def expected_name(text: str) -> x509.Name:
    """An expected subject: an RFC 4514 name, or a bare common name.

    Attribute lengths follow X.520 (a common name is 1 to 64 characters), as cryptography enforces;
    its ValueError becomes InvalidInput here, so a challenge can never hold a name that fails later.
    """
    if "=" not in text:
        if not 1 <= len(text) <= MAX_COMMON_NAME:
            raise InvalidInput(
                f"expected subject common name must be 1 to {MAX_COMMON_NAME} characters; got {len(text)}"
            )
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])
    try:
        return x509.Name.from_rfc4514_string(text)
    except ValueError as error:  # binascii.Error (bad #hex) is a ValueError too
        detail = str(error) or "it cannot be parsed"
        raise InvalidInput(
            f"expected subject must be an RFC 4514 name such as 'CN=device-1' ({detail})"
        ) from None


def issue_challenge(
    authority: Authority,
    *,
    username: str,
    actor: str,
    ttl_seconds: int | None = None,
    device_ref: str | None = None,
    expected_subject: str | None = None,
    profile: str | None = None,
) -> NewChallenge:
    """Create a challenge for a person (see `create_challenge`) in a transaction of its own.

    The lifetime and profile default to the settings' `scep_challenge_ttl_seconds` and `scep_default_profile`.
    """
    settings = authority.settings
    ttl = ttl_seconds if ttl_seconds is not None else settings.scep_challenge_ttl_seconds
    profile = profile or settings.scep_default_profile
    with authority.db.write() as session:
        person = get_person(session, username)
        secret = create_challenge(
            authority,
            session,
            person=person,
            actor=actor,
            ttl_seconds=ttl,
            device_ref=device_ref,
            expected_subject=expected_subject,
            profile=profile,
        )
        row = find_redeemable(session, secret)
        return NewChallenge(
            secret=secret,
            username=person.username,
            device_ref=row.device_ref,
            profile=row.profile,
            expires_at=row.expires_at,
            url=f"{settings.public_url.rstrip('/')}/scep",
        )


def list_challenges(authority: Authority, *, include_used: bool = False) -> list[ChallengeView]:
    """Challenges (never their secrets), newest first; by default only those still usable."""
    with authority.db.read() as session:
        return challenge_views(session, include_used=include_used, now=authority.now())


def challenge_views(session: Session, *, include_used: bool, now: datetime) -> list[ChallengeView]:
    """Challenges, newest first; by default only those still usable."""
    query = select(ScepChallenge).order_by(ScepChallenge.id.desc())
    if not include_used:
        query = query.where(ScepChallenge.consumed_at.is_(None), ScepChallenge.expires_at > now)
    return [
        ChallengeView(
            id=row.id,
            username=row.person.username,
            device_ref=row.device_ref,
            expected_subject=row.expected_subject,
            profile=row.profile,
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
        )
        for row in session.execute(query).scalars()
    ]
