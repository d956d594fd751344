"""Re-enrollment without the person starting it: find device certificates that expire soon or were revoked.

iOS never renews a SCEP identity by itself (research §2.8), so campusca invites the owner again through
the channel the device was enrolled with. Each certificate triggers at most one invitation (a unique row),
a device with an open renewal invitation gets no second one, and only the holder of the job lease runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campusca.db.ota import Device, Enrollment, Invitation, JobLease, RenewalTrigger
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import serial_to_hex
from campusca.services.ota import devices
from campusca.services.ota.invitations import (
    Delivery,
    Senders,
    create_invitation,
    deliver_due,
    deliver_message,
)
from campusca.services.people.login import purge_expired

log = logging.getLogger("campusca.renewal")
LEASE_NAME = "renewal"
ACTOR = "system:renewal"


@dataclass(frozen=True, slots=True)
class RenewalInvitation:
    device: str
    username: str
    reason: str  # expiring | revoked
    serials: tuple[str, ...]
    invitation_id: int
    delivery: Delivery | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "username": self.username,
            "reason": self.reason,
            "serials": list(self.serials),
            "invitation_id": self.invitation_id,
            "delivery": self.delivery.to_json() if self.delivery else None,
        }


@dataclass(frozen=True, slots=True)
class RenewalReport:
    ran: bool  # False when another process holds the lease
    invitations: tuple[RenewalInvitation, ...] = ()
    retried: tuple[Delivery, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        return {
            "ran": self.ran,
            "invitations": [i.to_json() for i in self.invitations],
            "retried": [d.to_json() for d in self.retried],
        }


def acquire_lease(authority: Authority, holder: str, ttl_seconds: int, name: str = LEASE_NAME) -> bool:
    """Take or renew the job lease; one conditional UPDATE, so two processes can never both hold it."""
    now = authority.now()
    expires = now + timedelta(seconds=ttl_seconds)
    try:
        with authority.db.write() as session:
            taken = session.execute(
                update(JobLease)
                .where(JobLease.name == name, (JobLease.holder == holder) | (JobLease.expires_at <= now))
                .values(holder=holder, expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(JobLease, name) is not None:
                return False
            session.add(JobLease(name=name, holder=holder, expires_at=expires))
    except IntegrityError:  # another process inserted the row first
        return False
    return True


def release_lease(authority: Authority, holder: str, name: str = LEASE_NAME) -> None:
    with authority.db.write() as session:
        session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=authority.now())
            .execution_options(synchronize_session=False)
        )


def run_once(
    authority: Authority, *, senders: Senders | None = None, window_days: int | None = None
) -> RenewalReport:
    """Retry due messages, then invite the owners of devices whose certificates need replacing."""
    retried = tuple(deliver_due(authority, senders))
    purge_expired(authority)
    window = timedelta(days=authority.settings.renewal_window_days if window_days is None else window_days)
    with authority.db.read() as session:
        device_ids = list(session.execute(select(Device.id).where(Device.state != "retired")).scalars())
    invited = []
    for device_id in device_ids:
        created = _consider(authority, device_id, window)
        if created is not None:
            delivery = deliver_message(authority, created[1], senders)
            invited.append(_with_delivery(created[0], delivery))
    return RenewalReport(ran=True, invitations=tuple(invited), retried=retried)


def _with_delivery(invitation: RenewalInvitation, delivery: Delivery) -> RenewalInvitation:
    return RenewalInvitation(
        invitation.device,
        invitation.username,
        invitation.reason,
        invitation.serials,
        invitation.invitation_id,
        delivery,
    )


def _consider(
    authority: Authority, device_id: int, window: timedelta
) -> tuple[RenewalInvitation, int] | None:
    """One device in one transaction: decide, record the triggers and queue the invitation together."""
    now = authority.now()
    with authority.db.write() as session:
        device = session.get(Device, device_id)
        if device is None or device.state == "retired":
            return None
        devices.refresh_state(authority, session, device)
        due = due_certificates(authority, session, device, now + window)
        if not due or _has_open_invitation(session, device, now):
            return None
        if not authority.settings.public_url.startswith("https://"):
            log.warning("device %s needs a renewal invitation, but public_url is not https", device.udid)
            return None  # an invitation link needs https (create_invitation refuses); nothing is recorded
        reason = "revoked" if any(c.status == "revoked" for c in due) else "expiring"
        created = create_invitation(
            authority, session, username=device.person.username, channel=device.channel,
            actor=ACTOR, reason="renewal", device=device,
        )  # fmt: skip
        serials = tuple(format(c.serial, "x") for c in due)
        for certificate in due:
            session.add(
                RenewalTrigger(
                    serial_hex=serial_to_hex(certificate.serial),
                    device_id=device.id,
                    invitation_id=created.id,
                    reason="revoked" if certificate.status == "revoked" else "expiring",
                    at=now,
                )
            )
        devices.set_state(session, device, "renewal_invited", now, reason=reason, invitation=created.id)
        audit.record(
            session,
            actor=ACTOR,
            action="device.renewal_invited",
            target=f"device:{device.udid}",
            details={"reason": reason, "certificates": list(serials), "invitation": created.id},
            at=now,
        )
        session.flush()
        log.info("renewal invitation %d for device %s (%s)", created.id, device.udid, reason)
        invitation = RenewalInvitation(device.udid, device.person.username, reason, serials, created.id)
        return invitation, created.message_id


def due_certificates(
    authority: Authority, session: Session, device: Device, horizon: datetime
) -> list[devices.DeviceCertificate]:
    """This generation's certificates that are revoked or expire before `horizon`, not yet acted upon."""
    latest = session.execute(
        select(Enrollment.created_at)
        .where(Enrollment.device_id == device.id, Enrollment.final_profile_sent_at.is_not(None))
        .order_by(Enrollment.id.desc())
    ).first()
    certificates = devices.device_certificates(authority, session, device)  # newest first
    if latest is not None:
        current = [c for c in certificates if c.issued_at >= latest[0]]
    elif _enrolled_by_scep_alone(session, device):
        # No over-the-air enrollment: its newest certificate is the one in use (RenewalReq replaces it).
        current = certificates[:1]
    else:
        return []  # never got its final profile: nothing of value to renew
    triggered = set(
        session.execute(
            select(RenewalTrigger.serial_hex).where(
                RenewalTrigger.serial_hex.in_([serial_to_hex(c.serial) for c in current])
            )
        ).scalars()
    )
    return [
        c
        for c in current
        if serial_to_hex(c.serial) not in triggered and (c.status == "revoked" or c.not_after <= horizon)
    ]


def _enrolled_by_scep_alone(session: Session, device: Device) -> bool:
    return session.execute(select(Enrollment.id).where(Enrollment.device_id == device.id)).first() is None


def _has_open_invitation(session: Session, device: Device, now: datetime) -> bool:
    return (
        session.execute(
            select(Invitation.id).where(
                Invitation.device_id == device.id,
                Invitation.reason == "renewal",
                Invitation.used_at.is_(None),
                Invitation.cancelled_at.is_(None),
                Invitation.expires_at > now,
            )
        ).first()
        is not None
    )
