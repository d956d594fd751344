"""Enrollment invitations: one-time, expiring links sent by SMS or e-mail through a retrying outbox."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campusca.db.ids import get_row
from campusca.db.models import Person
from campusca.db.ota import Device, Invitation, OutboxMessage, claim_outbox_message
from campusca.notify import EmailMessage, EmailSender, NotifyError, SmsMessage, SmsSender
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.erasure import erase_after_commit
from campusca.services.errors import (
    ChallengeRejected,
    ChallengeSpent,
    InvalidInput,
    NotFound,
    PolicyViolation,
)
from campusca.services.notifications import make_email_sender, make_sms_sender
from campusca.services.people.registry import get_person

log = logging.getLogger("campusca.invitations")

CHANNELS = ("sms", "email")
TOKEN_BYTES = 32  # 256 random bits in the link
MAX_TTL_SECONDS = 30 * 24 * 3600
BACKOFF_SECONDS = (60, 300, 900, 3600, 3 * 3600)


@dataclass(frozen=True, slots=True)
class CreatedInvitation:
    """A new invitation; `link` carries the secret and is shown once (never stored, never audited)."""

    id: int
    username: str
    channel: str
    link: str
    expires_at: datetime
    message_id: int


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: int
    invitation_id: int | None
    channel: str
    recipient: str
    status: str  # pending | sent | failed | cancelled (link used or withdrawn before it went out)
    attempts: int
    error: str | None
    next_attempt_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "channel": self.channel,
            "recipient": self.recipient,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


@dataclass(frozen=True, slots=True)
class Senders:
    email: EmailSender
    sms: SmsSender


def default_senders(authority: Authority) -> Senders:
    return Senders(email=make_email_sender(authority.settings), sms=make_sms_sender(authority.settings))


def hash_token(token: str) -> str:
    # 256 random bits leave nothing to brute-force: a fast hash is enough (as for API tokens).
    return hashlib.sha256(token.encode()).hexdigest()


def enrollment_link(authority: Authority, token: str) -> str:
    return f"{authority.settings.public_url.rstrip('/')}/enroll/{token}"


def create_invitation(
    authority: Authority,
    session: Session,
    *,
    username: str,
    channel: str,
    actor: str,
    ttl_seconds: int | None = None,
    reason: str = "admin",
    device: Device | None = None,
) -> CreatedInvitation:
    """Create an invitation for `username` and queue its message; deliver it with `deliver_message`."""
    if channel not in CHANNELS:
        raise InvalidInput(f"via must be sms or email; got {channel!r}")
    if not authority.settings.public_url.startswith("https://"):
        # iOS posts its attributes to an https:// Profile Service URL only; refuse before a link goes out.
        raise PolicyViolation("public_url must be an https:// URL for Apple enrollment (CAMPUSCA_PUBLIC_URL)")
    ttl = ttl_seconds if ttl_seconds is not None else authority.settings.invitation_ttl_hours * 3600
    if not 60 <= ttl <= MAX_TTL_SECONDS:
        raise InvalidInput(f"ttl must be between 60 and {MAX_TTL_SECONDS} seconds; got {ttl}")
    person = get_person(session, username)
    if not person.active:
        raise InvalidInput(f"person {person.username!r} is deactivated")
    recipient = person.phone if channel == "sms" else person.email
    if not recipient:
        raise InvalidInput(f"person {person.username!r} has no phone number; send by email or add one")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = authority.now()
    invitation = Invitation(
        token_hash=hash_token(token),
        person_id=person.id,
        channel=channel,
        reason=reason,
        device_id=device.id if device is not None else None,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    session.add(invitation)
    session.flush()
    link = enrollment_link(authority, token)
    subject, body = _message_text(person, link, invitation.expires_at, reason)
    message = OutboxMessage(
        invitation_id=invitation.id,
        channel=channel,
        recipient=recipient,
        subject=subject if channel == "email" else None,
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="invitation.created",
        target=f"person:{person.username}",
        details={
            "id": invitation.id,
            "channel": channel,
            "reason": reason,
            "device": device.udid if device is not None else None,
            "expires_at": invitation.expires_at,
        },
        at=now,
    )
    return CreatedInvitation(invitation.id, person.username, channel, link, invitation.expires_at, message.id)


def _message_text(person: Person, link: str, expires_at: datetime, reason: str) -> tuple[str, str]:
    org = person.department.organisation.name
    until = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if reason == "renewal":
        subject = f"{org}: renew your device certificate"
        body = f"{org}: your device certificate needs renewing. Open on your iPhone: {link} (until {until})"
    else:
        subject = f"{org}: enrol your iPhone"
        body = f"{org}: enrol your iPhone for the campus VPN. Open on the phone: {link} (until {until})"
    return subject, body


def find_usable_invitation(session: Session, token: str, now: datetime) -> Invitation:
    """The invitation this link token names, if it can still be used; else ChallengeRejected."""
    row = session.execute(select(Invitation).where(Invitation.token_hash == hash_token(token))).scalar()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        raise ChallengeRejected("this enrollment link is not valid")
    if row.used_at is not None:
        raise ChallengeSpent("this enrollment link has already been used; ask for a new one")
    if row.cancelled_at is not None:
        raise ChallengeSpent("this enrollment link has been withdrawn; ask for a new one")
    if row.expires_at <= now:
        raise ChallengeSpent("this enrollment link has expired; ask for a new one")
    return row


def mark_used(session: Session, invitation: Invitation, now: datetime) -> None:
    """Consume the invitation with one conditional UPDATE, so two logins cannot both use it."""
    used = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise ChallengeSpent("this enrollment link has already been used; ask for a new one")
    invitation.used_at = now
    _withdraw_messages(session, invitation.id)


def cancel_invitation(authority: Authority, session: Session, invitation_id: int, *, actor: str) -> None:
    row = get_row(session, Invitation, invitation_id)
    if row is None:
        raise NotFound(f"no invitation with id {invitation_id}")
    if row.used_at is not None or row.cancelled_at is not None:
        raise InvalidInput(f"invitation {invitation_id} is already used or withdrawn")
    row.cancelled_at = authority.now()
    _withdraw_messages(session, row.id)
    audit.record(
        session,
        actor=actor,
        action="invitation.cancelled",
        target=f"person:{row.person.username}",
        details={"id": row.id},
        at=authority.now(),
    )


def _withdraw_messages(session: Session, invitation_id: int) -> None:
    """A used or withdrawn link is never sent: its queued messages are cancelled and their text erased."""
    withdrawn = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.invitation_id == invitation_id, OutboxMessage.status == "pending")
        .values(status="cancelled", body=None)
        .execution_options(synchronize_session=False)
    )
    if withdrawn.rowcount:  # type: ignore[attr-defined]
        erase_after_commit(session)


def deliver_message(authority: Authority, message_id: int, senders: Senders | None = None) -> Delivery:
    """Try to hand one queued message to its carrier; failures are recorded and retried later."""
    senders = senders or default_senders(authority)
    now = authority.now()
    with authority.db.write() as session:
        claimed = claim_outbox_message(session, message_id, now)
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise NotFound(f"no outbox message with id {message_id}")
        if not claimed:
            return _delivery(row)
        channel, recipient, subject, body = row.channel, row.recipient, row.subject, row.body or ""
    error: str | None = None
    try:
        if channel == "sms":
            senders.sms.send_sms(SmsMessage(to=recipient, body=body))
        else:
            senders.email.send_email(EmailMessage(to=recipient, subject=subject or "", body=body))
    except NotifyError as failure:
        error = str(failure)[:300]
    return _record_attempt(authority, message_id, error)


def _record_attempt(authority: Authority, message_id: int, error: str | None) -> Delivery:
    now = authority.now()
    with authority.db.write() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise NotFound(f"no outbox message with id {message_id}")
        action = "invitation.delivered"
        if error is None:
            row.status, row.sent_at, row.body, row.last_error = "sent", now, None, None
            erase_after_commit(session)  # the link left with the message: no copy stays behind
        else:
            row.last_error = error
            if row.attempts >= authority.settings.outbox_max_attempts:
                row.status, row.body = "failed", None  # final: reported, and the secret link is erased
                erase_after_commit(session)
                action = "invitation.delivery_failed"
            else:
                delay = BACKOFF_SECONDS[min(row.attempts, len(BACKOFF_SECONDS)) - 1]
                row.next_attempt_at = now + timedelta(seconds=delay)
                action = "invitation.delivery_retry"
            log.warning("%s to %s failed (attempt %d): %s", row.channel, row.recipient, row.attempts, error)
        audit.record(
            session,
            actor="system:outbox",
            action=action,
            target=f"invitation:{row.invitation_id}",
            details={"channel": row.channel, "attempts": row.attempts, "error": error},
            at=now,
        )
        return _delivery(row)


def deliver_due(authority: Authority, senders: Senders | None = None, *, limit: int = 100) -> list[Delivery]:
    """Deliver every queued message whose next attempt is due (the scheduler and `renew run-once` call it)."""
    with authority.db.read() as session:
        due = list(
            session.execute(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= authority.now())
                .where(
                    OutboxMessage.channel.in_(("sms", "email"))
                )  # `ldap` rows: services.directory_publishing
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).scalars()
        )
    senders = senders or default_senders(authority)
    return [deliver_message(authority, message_id, senders) for message_id in due]


def _delivery(row: OutboxMessage) -> Delivery:
    return Delivery(
        message_id=row.id,
        invitation_id=row.invitation_id,
        channel=row.channel,
        recipient=row.recipient,
        status=row.status,
        attempts=row.attempts,
        error=row.last_error,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
    )


@dataclass(frozen=True, slots=True)
class InvitationView:
    id: int
    username: str
    channel: str
    reason: str
    device: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime
    status: str  # open | used | expired | cancelled
    delivery: Delivery | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "channel": self.channel,
            "reason": self.reason,
            "device": self.device,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "status": self.status,
            "delivery": self.delivery.to_json() if self.delivery else None,
        }


def invitation_status(row: Invitation, now: datetime) -> str:
    if row.used_at is not None:
        return "used"
    if row.cancelled_at is not None:
        return "cancelled"
    return "expired" if row.expires_at <= now else "open"


def list_invitations(
    authority: Authority, session: Session, *, username: str | None = None, limit: int = 100
) -> list[InvitationView]:
    """Invitations, newest first, with the state of their message."""
    query = select(Invitation).order_by(Invitation.id.desc()).limit(limit)
    if username:
        query = query.where(Invitation.person_id == get_person(session, username).id)
    rows = list(session.execute(query).scalars())
    messages = {
        m.invitation_id: m
        for m in session.execute(
            select(OutboxMessage).where(OutboxMessage.invitation_id.in_([r.id for r in rows]))
        ).scalars()
    }
    devices = {
        d.id: d.udid
        for d in session.execute(
            select(Device).where(Device.id.in_([r.device_id for r in rows if r.device_id]))
        ).scalars()
    }
    now = authority.now()
    return [
        InvitationView(
            id=r.id,
            username=r.person.username,
            channel=r.channel,
            reason=r.reason,
            device=devices.get(r.device_id) if r.device_id else None,
            created_by=r.created_by,
            created_at=r.created_at,
            expires_at=r.expires_at,
            status=invitation_status(r, now),
            delivery=_delivery(messages[r.id]) if r.id in messages else None,
        )
        for r in rows
    ]


# The functions adapters call: each owns its transaction(s) and returns frozen views.


@dataclass(frozen=True, slots=True)
class SentInvitation:
    """A new invitation (committed) and the first attempt to deliver its message."""

    invitation: CreatedInvitation
    delivery: Delivery

    def to_json(self, *, show_link: bool) -> dict[str, object]:
        """The answer to whoever created it; the secret link only when asked for (shown this once)."""
        return {
            "id": self.invitation.id,
            "username": self.invitation.username,
            "channel": self.invitation.channel,
            "expires_at": self.invitation.expires_at.isoformat(),
            "delivery": self.delivery.to_json(),
            "link": self.invitation.link if show_link else None,
        }


def send_invitation(
    authority: Authority, *, username: str, channel: str, actor: str, ttl_seconds: int | None = None
) -> SentInvitation:
    """Create an invitation and queue its message (committed first), then try to deliver it once.

    A failed delivery leaves the message queued for the scheduler; the invitation stands either way.
    """
    with authority.db.write() as session:
        created = create_invitation(
            authority, session, username=username, channel=channel, actor=actor, ttl_seconds=ttl_seconds
        )
    return SentInvitation(created, deliver_message(authority, created.message_id))


def invitation_views(
    authority: Authority, *, username: str | None = None, limit: int = 100
) -> list[InvitationView]:
    """Invitations, newest first, with the state of their message (a read transaction of its own)."""
    with authority.db.read() as session:
        return list_invitations(authority, session, username=username, limit=limit)


def withdraw_invitation(authority: Authority, invitation_id: int, *, actor: str) -> None:
    """Cancel an unused invitation in a transaction of its own: its link stops working once this returns."""
    with authority.db.write() as session:
        cancel_invitation(authority, session, invitation_id, actor=actor)
