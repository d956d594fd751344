"""LDAP publishing of people's S/MIME certificates through the outbox: on issuance, revocation, expiry, backfill.

A change to a person's S/MIME certificates queues one `ldap` outbox row (the invitation outbox's table
and retry rules, docs/enrollment.md) in the same transaction; it is tried right after the commit and,
while the directory is down, again by the scheduler with a growing delay. A delivery reads what is current
when it runs and replaces the entry's attributes with it, so repeating one is harmless and the newest
state always wins. Organisations publish only when their `ldap` settings name a `publish_bind_dn`.
This is a kernel module so that `ca` (revocation) and `smime` (issuance) can both queue publications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from campusca.config import LdapSettings
from campusca.db import after_commit
from campusca.db.models import Certificate, Person
from campusca.db.ota import OutboxMessage, claim_outbox_message
from campusca.identity import EntryNotFound, IdentityError, LdapCertificatePublisher, LdapPublishOptions
from campusca.pki.cms import build_certs_only
from campusca.services import audit
from campusca.services.authority import Authority

log = logging.getLogger("campusca.ldap")

LDAP_CHANNEL = "ldap"
SMIME_PROFILES = ("smime-signing", "smime-encryption")
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)
EXPIRY_LOOKBACK = timedelta(days=30)
Publisher = Callable[[LdapSettings], LdapCertificatePublisher]


@dataclass(frozen=True, slots=True)
class Publication:
    """One outbox row of the `ldap` channel and how its last attempt went."""

    message_id: int
    username: str
    status: str  # pending | sent | failed | cancelled
    attempts: int
    certificates: int | None
    error: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.message_id,
            "username": self.username,
            "status": self.status,
            "attempts": self.attempts,
            "certificates": self.certificates,
            "error": self.error,
        }


def publish_settings(authority: Authority, person: Person) -> LdapSettings | None:
    """The organisation's LDAP settings when it publishes certificates, else None."""
    directory = authority.settings.ldap.get(person.department.organisation.name)
    if directory is None or not directory.publish_bind_dn:
        return None
    return directory


def default_publisher(directory: LdapSettings) -> LdapCertificatePublisher:
    return LdapCertificatePublisher(
        LdapPublishOptions(
            url=directory.url,
            base=directory.publish_base or directory.user_base,
            bind_dn=directory.publish_bind_dn or "",
            bind_password=directory.publish_bind_password or "",
            entry_filter=directory.publish_filter,
            start_tls=directory.start_tls,
            ca_file=str(directory.ca_file) if directory.ca_file else None,
            verify_tls=directory.verify_tls,
            timeout_seconds=directory.timeout_seconds,
        )
    )


def queue_publication(
    authority: Authority, session: Session, person: Person, *, attempt_now: bool = True
) -> int | None:
    """Queue a publication of the person's current certificates in the caller's transaction.

    With `attempt_now` it is tried right after the commit (a failure is recorded for the scheduler's retry).
    """
    if publish_settings(authority, person) is None:
        return None
    now = authority.now()
    # A row nobody has claimed yet will read the newest state anyway; a claimed one may already have read.
    waiting = session.execute(
        select(OutboxMessage).where(
            OutboxMessage.channel == LDAP_CHANNEL,
            OutboxMessage.recipient == person.username,
            OutboxMessage.status == "pending",
            OutboxMessage.attempts == 0,
        )
    ).scalar_one_or_none()
    if waiting is None:
        waiting = OutboxMessage(
            channel=LDAP_CHANNEL,
            recipient=person.username,
            subject="S/MIME certificates",
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        session.add(waiting)
    waiting.next_attempt_at = now
    session.flush()
    message_id = waiting.id
    if attempt_now:
        after_commit(session, ("ldap", person.id), lambda: publish_message(authority, message_id))
    return message_id


def queue_for_certificate(authority: Authority, session: Session, certificate: Certificate) -> int | None:
    """Queue a publication when `certificate` is a person's S/MIME certificate (revoked, for instance)."""
    if certificate.profile not in SMIME_PROFILES or certificate.person_id is None:
        return None
    person = session.get(Person, certificate.person_id)
    return queue_publication(authority, session, person) if person is not None else None


def queue_for_holder(
    authority: Authority, session: Session, profile: str, person_id: int, organisation: str
) -> int | None:
    """Queue a publication for a certificate just issued (any path: S/MIME, REST, SCEP).

    Answers from the settings alone when the organisation does not publish: issuance is a hot path.
    """
    directory = authority.settings.ldap.get(organisation)
    if profile not in SMIME_PROFILES or directory is None or not directory.publish_bind_dn:
        return None
    person = session.get(Person, person_id)
    return queue_publication(authority, session, person) if person is not None else None


def publish_message(
    authority: Authority, message_id: int, publisher: Publisher = default_publisher
) -> Publication:
    """Claim one `ldap` row and replace the person's directory attributes with their current certificates."""
    now = authority.now()
    with authority.db.write() as session:
        claimed = claim_outbox_message(session, message_id, now, channel=LDAP_CHANNEL)
        row = session.get(OutboxMessage, message_id)
        if row is None or not claimed:
            return _publication(row, message_id, None)
        person = session.execute(select(Person).where(Person.username == row.recipient)).scalar_one()
        directory = publish_settings(authority, person)
        ders = current_certificates(session, person, now)
        email = person.email
    if directory is None:
        return _record(authority, message_id, None, "publishing is no longer configured", final=True)
    try:
        blob = build_certs_only_or_none(ders)
        dn = publisher(directory).replace_certificates(email, smime_blob=blob, certificates=ders)
    except EntryNotFound as error:  # not retried: the next change to the person's certificates queues again
        return _record(authority, message_id, len(ders), str(error)[:300], final=True)
    except IdentityError as error:
        return _record(authority, message_id, len(ders), str(error)[:300], final=False)
    return _record(authority, message_id, len(ders), None, final=False, dn=dn)


def build_certs_only_or_none(ders: list[bytes]) -> bytes | None:
    """userSMIMECertificate: a PKCS#7 certs-only SignedData of the person's certificates (RFC 2798 §2.6)."""
    if not ders:
        return None
    return build_certs_only([x509.load_der_x509_certificate(der) for der in ders])


def current_certificates(session: Session, person: Person, now: datetime) -> list[bytes]:
    """The DER of the person's valid S/MIME certificates, signing first (what address books should see)."""
    rows = session.execute(
        select(Certificate.der)
        .where(
            Certificate.person_id == person.id,
            Certificate.profile.in_(SMIME_PROFILES),
            Certificate.revoked_at.is_(None),
            Certificate.not_after > now,
            Certificate.not_before <= now,
        )
        .order_by(Certificate.profile.desc(), Certificate.id.desc())
    ).scalars()
    return list(rows)


def _record(
    authority: Authority,
    message_id: int,
    count: int | None,
    error: str | None,
    *,
    final: bool,
    dn: str | None = None,
) -> Publication:
    now = authority.now()
    with authority.db.write() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:  # pragma: no cover - rows are never deleted
            raise LookupError(message_id)
        row.last_error = error
        if error is None:
            row.status, row.sent_at, action = "sent", now, "ldap.published"
        elif final or row.attempts >= authority.settings.outbox_max_attempts:
            row.status, action = "failed", "ldap.publish_failed"
        else:
            delay = BACKOFF_SECONDS[min(row.attempts, len(BACKOFF_SECONDS)) - 1]
            row.next_attempt_at, action = now + timedelta(seconds=delay), "ldap.publish_retry"
            log.warning("LDAP publication for %s failed (attempt %d): %s", row.recipient, row.attempts, error)
        audit.record(
            session,
            actor="system:outbox",
            action=action,
            target=f"person:{row.recipient}",
            details={"attempts": row.attempts, "certificates": count, "dn": dn, "error": error},
            at=now,
        )
        return _publication(row, message_id, count)


def _publication(row: OutboxMessage | None, message_id: int, count: int | None) -> Publication:
    if row is None:
        return Publication(message_id, "", "missing", 0, count, None)
    return Publication(row.id, row.recipient, row.status, row.attempts, count, row.last_error)


def queue_expired(authority: Authority) -> int:
    """Queue people whose S/MIME certificate expired (in the last 30 days) since their last publication."""
    now = authority.now()
    later_publication = exists().where(
        OutboxMessage.channel == LDAP_CHANNEL,
        OutboxMessage.recipient == Person.username,
        OutboxMessage.created_at >= Certificate.not_after,
    )
    with authority.db.write() as session:
        people = session.execute(
            select(Person)
            .join(Certificate, Certificate.person_id == Person.id)
            .where(
                Certificate.profile.in_(SMIME_PROFILES),
                Certificate.revoked_at.is_(None),
                Certificate.not_after <= now,
                Certificate.not_after > now - EXPIRY_LOOKBACK,
                ~later_publication,
            )
            .distinct()
        ).scalars()
        queued = [queue_publication(authority, session, person, attempt_now=False) for person in people]
        return sum(1 for message_id in queued if message_id is not None)


def publish_due(authority: Authority, *, limit: int = 100) -> list[Publication]:
    """The scheduler's round: queue expiries, then retry every `ldap` row whose next attempt is due."""
    queue_expired(authority)
    with authority.db.read() as session:
        due = list(
            session.execute(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.channel == LDAP_CHANNEL,
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= authority.now(),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).scalars()
        )
    return [publish_message(authority, message_id) for message_id in due]


@dataclass(frozen=True, slots=True)
class BackfillReport:
    people: int
    published: int
    failed: int
    skipped: int  # organisations without publishing settings


def publish_all(
    authority: Authority,
    *,
    username: str | None = None,
    progress: Callable[[int, int, Publication], None] | None = None,
    publisher: Publisher = default_publisher,
) -> BackfillReport:
    """Backfill: publish everyone who ever had an S/MIME certificate (or one person), now.

    Only organisations that publish are touched; `progress(done, total, last)` follows each publication.
    """
    had_smime = exists().where(Certificate.person_id == Person.id, Certificate.profile.in_(SMIME_PROFILES))
    with authority.db.write() as session:
        query = select(Person).where(had_smime).order_by(Person.id)
        if username is not None:
            query = query.where(Person.username == username.strip().lower())
        people = list(session.execute(query).scalars())
        queued = [queue_publication(authority, session, person, attempt_now=False) for person in people]
    ids = [message_id for message_id in queued if message_id is not None]
    published = failed = 0
    for done, message_id in enumerate(ids, start=1):
        publication = publish_message(authority, message_id, publisher)
        published += publication.status == "sent"
        failed += publication.status != "sent"
        if progress is not None:
            progress(done, len(ids), publication)
    return BackfillReport(len(people), published, failed, len(people) - len(ids))
