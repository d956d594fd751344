"""Enrolled devices: what they reported, their owner, their certificates, state and history; revocation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import DeviceAttributes
from campusca.db.ids import get_row
from campusca.db.models import Certificate, Person
from campusca.db.ota import Device, DeviceEvent, Enrollment
from campusca.pki.certificates import openssl_serial
from campusca.pki.crl import RevocationReason
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.ca.revocation import revoke_certificate
from campusca.services.errors import Conflict, InvalidInput, NotFound
from campusca.services.ota.device_smime import revoke_sent
from campusca.services.ota.mdm_status import MdmStatus, mdm_status
from campusca.services.people.registry import get_person
from campusca.services.scep.enrollments import enrollments_for_device

# enrolling: phases 1-2 under way · awaiting_install: final profile sent, its certificate not yet enrolled ·
# enrolled · declined: the person refused the final profile · revoked · retired: revoked, never re-invited ·
# renewal_invited: a re-enrollment invitation went out
STATES = ("enrolling", "awaiting_install", "enrolled", "declined", "revoked", "retired", "renewal_invited")


@dataclass(frozen=True, slots=True)
class DeviceCertificate:
    serial: int
    role: str  # enrollment (phase 2, signs phase 3) | vpn (the final profile's identity)
    subject: str
    status: str  # valid | revoked | expired
    not_after: datetime
    revoked_at: datetime | None
    issued_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "serial": openssl_serial(self.serial),
            "issued_at": self.issued_at.isoformat(),
            "role": self.role,
            "subject": self.subject,
            "status": self.status,
            "not_after": self.not_after.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class DeviceView:
    id: int
    udid: str
    owner: str
    state: str
    channel: str
    serial: str | None
    product: str | None
    os_version: str | None
    imei: str | None
    meid: str | None
    mac_address: str | None
    device_name: str | None
    created_at: datetime
    updated_at: datetime
    certificates: tuple[DeviceCertificate, ...]
    history: tuple[dict[str, object], ...]
    mdm: MdmStatus = MdmStatus()

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "udid": self.udid,
            "owner": self.owner,
            "state": self.state,
            "channel": self.channel,
            "serial": self.serial,
            "product": self.product,
            "os_version": self.os_version,
            "imei": self.imei,
            "meid": self.meid,
            "mac_address": self.mac_address,
            "device_name": self.device_name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "certificates": [c.to_json() for c in self.certificates],
            "history": list(self.history),
            "mdm": self.mdm.to_json(),
        }


def record_event(
    session: Session, device: Device, event: str, at: datetime, details: dict[str, Any] | None = None
) -> None:
    session.add(
        DeviceEvent(device_id=device.id, at=at, event=event, details=json.dumps(details or {}, default=str))
    )


def set_state(session: Session, device: Device, state: str, at: datetime, **details: Any) -> None:
    if device.state != state:
        record_event(session, device, f"state.{state}", at, {"from": device.state, **details})
    device.state, device.updated_at = state, at


def record_device(
    authority: Authority, session: Session, *, person: Person, attributes: DeviceAttributes, channel: str
) -> Device:
    """Create or update the device a phase-2 request describes; its owner becomes `person`."""
    if not attributes.udid:
        raise InvalidInput("device attributes must include UDID")
    now = authority.now()
    device = session.execute(select(Device).where(Device.udid == attributes.udid)).scalar()
    if device is None:
        device = Device(udid=attributes.udid, person_id=person.id, state="enrolling", channel=channel)
        device.created_at = now
        session.add(device)
        session.flush()
        record_event(session, device, "recorded", now, {"owner": person.username})
    elif device.person_id != person.id:
        record_event(
            session, device, "owner_changed", now, {"from": device.person.username, "to": person.username}
        )
        device.person_id = person.id
    device.serial = attributes.serial or device.serial
    device.imei, device.meid = attributes.imei or device.imei, attributes.meid or device.meid
    device.product, device.os_version = attributes.product, attributes.version
    device.mac_address, device.device_name = attributes.mac_address_en0, attributes.device_name
    device.channel = channel
    set_state(session, device, "enrolling", now)
    session.flush()
    audit.record(
        session,
        actor=f"device:{device.udid}",
        action="device.recorded",
        target=f"device:{device.udid}",
        details={"owner": person.username, "serial": device.serial, "product": device.product},
        at=now,
    )
    return device


def get_device(session: Session, ref: str) -> Device:
    """A device by UDID (or by numeric id)."""
    ref = ref.strip()
    device = session.execute(select(Device).where(Device.udid == ref)).scalar()
    if device is None and ref.isdigit():
        device = get_row(session, Device, int(ref))
    if device is None:
        raise NotFound(f"no device with UDID {ref!r}")
    return device


def device_certificates(authority: Authority, session: Session, device: Device) -> list[DeviceCertificate]:
    """Certificates SCEP issued for this device (found by its UDID), newest first."""
    enrollment_serials = {
        e.enrollment_serial_hex
        for e in session.execute(select(Enrollment).where(Enrollment.device_id == device.id)).scalars()
        if e.enrollment_serial_hex
    }
    now = authority.now()
    result: list[DeviceCertificate] = []
    for view in enrollments_for_device(session, device.udid):
        if view.certificate_serial is None:
            continue
        row = find_certificate(session, view.certificate_serial)
        if row is None:
            continue
        result.append(_device_certificate(row, view.created_at, enrollment_serials, device, session, now))
    return result


def _device_certificate(
    row: Certificate,
    issued_at: datetime,
    enrollment_serials: set[str],
    device: Device,
    session: Session,
    now: datetime,
) -> DeviceCertificate:
    if row.serial_hex in enrollment_serials:
        role = "enrollment"
    else:
        final_sent = session.execute(
            select(Enrollment.id).where(
                Enrollment.device_id == device.id,
                Enrollment.final_profile_sent_at.is_not(None),
                Enrollment.final_profile_sent_at <= issued_at,
            )
        ).first()
        role = "vpn" if final_sent else "enrollment"
    status = "revoked" if row.revoked_at else ("expired" if row.not_after <= now else "valid")
    return DeviceCertificate(
        serial=int(row.serial_hex, 16),
        role=role,
        subject=row.subject,
        status=status,
        not_after=row.not_after,
        revoked_at=row.revoked_at,
        issued_at=row.created_at,
    )


def refresh_state(authority: Authority, session: Session, device: Device) -> str:
    """A device awaiting installation is enrolled once its final-profile certificate has been issued."""
    if device.state == "awaiting_install" and any(
        c.role == "vpn" and c.status == "valid" for c in device_certificates(authority, session, device)
    ):
        set_state(session, device, "enrolled", authority.now())
        session.flush()
    return device.state


def device_view(authority: Authority, session: Session, device: Device) -> DeviceView:
    events = session.execute(
        select(DeviceEvent).where(DeviceEvent.device_id == device.id).order_by(DeviceEvent.id)
    ).scalars()
    history = tuple({"at": e.at.isoformat(), "event": e.event, **json.loads(e.details)} for e in events)
    certificates = tuple(device_certificates(authority, session, device))
    state = device.state
    if state == "awaiting_install" and any(c.role == "vpn" and c.status == "valid" for c in certificates):
        state = "enrolled"  # shown as it is; persisted by the next write (refresh_state)
    return DeviceView(
        id=device.id,
        udid=device.udid,
        owner=device.person.username,
        state=state,
        channel=device.channel,
        serial=device.serial,
        product=device.product,
        os_version=device.os_version,
        imei=device.imei,
        meid=device.meid,
        mac_address=device.mac_address,
        device_name=device.device_name,
        created_at=device.created_at,
        updated_at=device.updated_at,
        certificates=certificates,
        history=history,
        mdm=mdm_status(session, device),
    )


def list_devices(
    authority: Authority, *, username: str | None = None, state: str | None = None, limit: int = 1000
) -> list[DeviceView]:
    """Devices, newest first, with owner, state and certificates (a read transaction of its own)."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}; got {state!r}")
    with authority.db.read() as session:
        query = select(Device).order_by(Device.id.desc()).limit(limit)
        if username:
            query = query.where(Device.person_id == get_person(session, username).id)
        views = [device_view(authority, session, d) for d in session.execute(query).scalars()]
    return [v for v in views if state is None or v.state == state]


def show_device(authority: Authority, ref: str) -> DeviceView:
    """One device by UDID (or numeric id): what it reported, its certificates, state and history."""
    with authority.db.read() as session:
        return device_view(authority, session, get_device(session, ref))


def revoke_device(
    authority: Authority, ref: str, *, reason: RevocationReason, actor: str, retire: bool = False
) -> DeviceView:
    """Revoke every valid certificate of the device; `retire` also stops re-enrollment invitations.

    One transaction: the revocations, the device's new state and the audit record commit together
    before this returns.
    """
    with authority.db.write() as session:
        return _revoke_device(authority, session, ref, reason=reason, actor=actor, retire=retire)


def _revoke_device(
    authority: Authority, session: Session, ref: str, *, reason: RevocationReason, actor: str, retire: bool
) -> DeviceView:
    device = get_device(session, ref)
    if device.state == "retired":
        raise Conflict(f"device {device.udid} is retired already")
    revoked = []
    for certificate in device_certificates(authority, session, device):
        if certificate.status == "valid":
            revoke_certificate(
                authority,
                session,
                serial=certificate.serial,
                reason=reason,
                actor=actor,
                audit_details={"device": device.udid},
            )
            revoked.append(format(certificate.serial, "x"))
    # S/MIME identities put on the device (device_smime): its own signing certificate always goes with it;
    # the person's encryption certificate only when the phone left their hands (lost, retired).
    gone = retire or reason is RevocationReason.KEY_COMPROMISE
    why = "the device they were sent to was revoked"
    roles = ("signing", "encryption") if gone else ("signing",)
    smime_serials = revoke_sent(authority, session, device, reason=reason, actor=actor, why=why, roles=roles)
    revoked += [format(serial, "x") for serial in smime_serials]
    now = authority.now()
    set_state(session, device, "retired" if retire else "revoked", now, by=actor, reason=reason.value)
    audit.record(
        session,
        actor=actor,
        action="device.retired" if retire else "device.revoked",
        target=f"device:{device.udid}",
        details={"reason": reason.value, "certificates": revoked, "owner": device.person.username},
        at=now,
    )
    session.flush()
    return device_view(authority, session, device)
