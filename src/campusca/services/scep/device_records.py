"""A device record for certificates SCEP issues against a challenge bound to a device (issue 11, item 7).

Over-the-air enrollment records the device in phase 2; a device enrolled by SCEP alone (`campusca scep
challenge --device UDID`) would otherwise have none, so `campusca device revoke UDID` and the renewal
run could not find it. The record is made in the issuing transaction.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.ota import Device, DeviceEvent
from campusca.db.scep import ScepEnrollment
from campusca.services import audit
from campusca.services.authority import Authority

SCEP_ONLY_CHANNEL_FALLBACK = "email"


def record_scep_device(authority: Authority, session: Session, row: ScepEnrollment, *, actor: str) -> None:
    """Create the device the enrollment names if it has no record yet (an OTA device already has one)."""
    udid = (row.device_ref or "").strip()
    if not udid or row.person is None:
        return
    if session.execute(select(Device.id).where(Device.udid == udid)).first() is not None:
        return
    now = authority.now()
    person = row.person
    device = Device(
        udid=udid,
        person_id=person.id,
        state="enrolled",
        # Renewal invitations go by SMS when the owner has a phone number, else by e-mail.
        channel="sms" if person.phone else SCEP_ONLY_CHANNEL_FALLBACK,
        created_at=now,
        updated_at=now,
    )
    session.add(device)
    session.flush()
    details = {"owner": person.username, "via": "scep", "enrollment": row.id}
    session.add(DeviceEvent(device_id=device.id, at=now, event="recorded", details=json.dumps(details)))
    audit.record(
        session, actor=actor, action="device.recorded", target=f"device:{udid}", details=details, at=now
    )
