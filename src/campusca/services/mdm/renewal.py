"""The renewal round with MDM: devices enrolled in MDM get their certificate replaced over MDM, the rest an invitation.

For each device that is enrolled in MDM, has checked in within `mdm_checkin_max_days` and whose MDM
identity is due (expires within the window, or is revoked for a reason MDM may repair), one renewal is
opened (a unique column keeps it to one per device, whichever process runs), its certificates are marked
as acted upon (so the invitation round leaves them alone), InstallProfile is queued, and the device is
woken by an APNs push. Everything else — keyCompromise, silent devices, devices without MDM, renewals
that failed or timed out — is left to ota's invitation round, which runs right after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campusca.db.mdm import MdmDevice, MdmRenewal
from campusca.db.ota import Device, RenewalTrigger
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate, serial_to_hex
from campusca.services.mdm.apns import PushTarget, send_pushes
from campusca.services.mdm.commands import enqueue
from campusca.services.mdm.identity import RENEWABLE_REASONS
from campusca.services.mdm.push_cert import push_credentials
from campusca.services.mdm.renewal_steps import ACTOR, fail_renewal
from campusca.services.ota import devices, reenrollment
from campusca.services.ota.invitations import Senders

log = logging.getLogger("campusca.renewal")
# Held for the duration of one round, by the scheduler's leader and by `campusca renew run-once` alike:
# rounds never overlap, yet the CLI runs one now even while `serve` holds the scheduler lease.
ROUND_LEASE = "renewal-round"
ROUND_LEASE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class MdmRenewalView:
    device: str
    reason: str
    old_serial: str
    state: str
    push: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "reason": self.reason,
            "old_serial": self.old_serial,
            "state": self.state,
            "push": self.push,
        }


@dataclass(frozen=True, slots=True)
class RoundReport:
    """The invitation round's report plus the MDM renewals this round opened or pushed."""

    invitations: reenrollment.RenewalReport
    mdm: tuple[MdmRenewalView, ...] = ()

    @property
    def ran(self) -> bool:
        return self.invitations.ran

    def to_json(self) -> dict[str, object]:
        return {**self.invitations.to_json(), "mdm": [r.to_json() for r in self.mdm]}


def run_once(
    authority: Authority, *, senders: Senders | None = None, window_days: int | None = None
) -> RoundReport:
    """One renewal round: MDM first, then invitations for whatever MDM cannot repair. Hold the lease to call it."""
    window = timedelta(days=authority.settings.renewal_window_days if window_days is None else window_days)
    _expire_stale(authority)
    with authority.db.read() as session:
        device_ids = list(
            session.execute(select(MdmDevice.device_id).where(MdmDevice.enrolled.is_(True))).scalars()
        )
    for device_id in device_ids:
        try:
            _consider(authority, device_id, window)
        except IntegrityError:  # another process opened this device's renewal first
            continue
    pushed = _push_queued(authority)
    invitations = reenrollment.run_once(authority, senders=senders, window_days=window_days)
    return RoundReport(invitations, tuple(pushed))


def _consider(authority: Authority, device_id: int, window: timedelta) -> None:
    """One device in one transaction: open its renewal, mark its certificates and queue InstallProfile."""
    now = authority.now()
    with authority.db.write() as session:
        device, row = session.get(Device, device_id), _mdm_row(session, device_id)
        if device is None or row is None:
            return
        due = _renewable_due(authority, session, device, row, now + window)
        if due:
            _open_renewal(session, device, row, due, now)


def _renewable_due(
    authority: Authority, session: Session, device: Device, row: MdmDevice, horizon: datetime
) -> list[devices.DeviceCertificate]:
    """The device's due certificates when MDM should replace its identity now, else [] (after marking
    an unused phase-2 certificate, so it never brings an invitation)."""
    silent_since = authority.now() - timedelta(days=authority.settings.mdm_checkin_max_days)
    if device.state == "retired" or not row.push_token_hex:
        return []
    if row.last_checkin_at is None or row.last_checkin_at < silent_since:
        return []  # silent: the invitation round reaches the person instead
    due = reenrollment.due_certificates(authority, session, device, horizon)
    identity = next((c for c in due if serial_to_hex(c.serial) == row.identity_serial_hex), None)
    if identity is None:
        _cover(session, device, [c for c in due if c.status != "revoked"], authority.now())
        return []
    if identity.status == "revoked" and _revocation_reason(session, identity.serial) not in RENEWABLE_REASONS:
        return []  # keyCompromise and the like: by invitation only
    if _failed_before(session, identity.serial):
        return []  # MDM could not replace this certificate once: the invitation round takes over
    return due


def _open_renewal(
    session: Session, device: Device, row: MdmDevice, due: list[devices.DeviceCertificate], now: datetime
) -> None:
    identity = next(c for c in due if serial_to_hex(c.serial) == row.identity_serial_hex)
    reason = "revoked" if identity.status == "revoked" else "expiring"
    renewal = MdmRenewal(
        device_id=device.id, open_device_id=device.id, reason=reason,
        old_serial_hex=serial_to_hex(identity.serial), state="queued", created_at=now,
    )  # fmt: skip
    session.add(renewal)
    session.flush()  # the unique open_device_id refuses a second renewal in flight
    for certificate in due:
        session.add(RenewalTrigger(
            serial_hex=serial_to_hex(certificate.serial), device_id=device.id, invitation_id=None,
            reason="mdm" if certificate.serial == identity.serial else "covered", at=now,
        ))  # fmt: skip
    enqueue(session, device, "InstallProfile", now, renewal_id=renewal.id)
    devices.record_event(
        session, device, "mdm.renewal_queued", now, {"renewal": renewal.id, "reason": reason}
    )
    audit.record(
        session, actor=ACTOR, action="device.mdm_renewal_queued", target=f"device:{device.udid}",
        details={"renewal": renewal.id, "reason": reason, "certificate": format(identity.serial, "x")}, at=now,
    )  # fmt: skip


def _cover(
    session: Session, device: Device, certificates: list[devices.DeviceCertificate], now: datetime
) -> None:
    """The phase-2 certificate of an MDM device expires unused: mark it so no round ever acts on it."""
    for certificate in certificates:
        session.add(RenewalTrigger(
            serial_hex=serial_to_hex(certificate.serial), device_id=device.id, invitation_id=None,
            reason="covered", at=now,
        ))  # fmt: skip


def _mdm_row(session: Session, device_id: int) -> MdmDevice | None:
    return session.execute(select(MdmDevice).where(MdmDevice.device_id == device_id)).scalar()


def _failed_before(session: Session, serial: int) -> bool:
    return (
        session.execute(
            select(MdmRenewal.id).where(
                MdmRenewal.old_serial_hex == serial_to_hex(serial), MdmRenewal.state == "failed"
            )
        ).first()
        is not None
    )


def _revocation_reason(session: Session, serial: int) -> str | None:
    row = find_certificate(session, serial)
    return row.revocation_reason if row is not None else None


def _expire_stale(authority: Authority) -> None:
    """Renewals open longer than mdm_checkin_max_days fail, so the invitation round takes over."""
    now = authority.now()
    limit = now - timedelta(days=authority.settings.mdm_checkin_max_days)
    with authority.db.write() as session:
        stale = session.execute(
            select(MdmRenewal).where(MdmRenewal.open_device_id.is_not(None), MdmRenewal.created_at < limit)
        ).scalars()
        for renewal in list(stale):
            device = session.get(Device, renewal.device_id)
            if device is not None:
                fail_renewal(session, device, renewal, now, "the device did not check in in time")


def _push_queued(authority: Authority) -> list[MdmRenewalView]:
    """Push every device whose open renewal has not been pushed yet (a failed push is retried next round)."""
    with authority.db.read() as session:
        rows = session.execute(
            select(MdmRenewal.id, Device.udid, MdmDevice.push_token_hex, MdmDevice.push_magic)
            .join(Device, Device.id == MdmRenewal.device_id)
            .join(MdmDevice, MdmDevice.device_id == MdmRenewal.device_id)
            .where(MdmRenewal.open_device_id.is_not(None), MdmRenewal.state == "queued")
        ).all()
    credentials = push_credentials(authority) if rows else None
    if not rows or credentials is None:
        return []
    targets = [PushTarget(token or "", magic or "") for _, _, token, magic in rows]
    results = send_pushes(authority.settings, credentials, targets)
    views = []
    now = authority.now()
    with authority.db.write() as session:
        for (renewal_id, udid, _, _), result in zip(rows, results, strict=True):
            renewal = session.get(MdmRenewal, renewal_id)
            if renewal is None:
                continue
            renewal.push_status = result.detail
            if result.status == "sent" and renewal.state == "queued":
                renewal.state, renewal.pushed_at = "pushed", now
            log.info("MDM push for device %s: %s", udid, result.status)
            views.append(
                MdmRenewalView(
                    udid, renewal.reason, renewal.old_serial_hex.lstrip("0"), renewal.state, result.status
                )
            )
    return views
