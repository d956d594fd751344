"""A device record for certificates SCEP issues against a challenge bound to a device (issue 11, item 7).

Over-the-air enrollment records the device in phase 2; a device enrolled by SCEP alone (`campusca scep
challenge --device UDID`) would otherwise have none, so `campusca device revoke UDID` and the renewal
run could not find it. The record is made in the issuing transaction.
"""

from __future__ import annotations

import json

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from campusca.db.engine import core_connection
from campusca.db.models import Person
from campusca.db.ota import Device, DeviceEvent
from campusca.services import audit
from campusca.services.authority import Authority

SCEP_ONLY_CHANNEL_FALLBACK = "email"


_DEVICE_EXISTS = select(Device.id).where(Device.udid == bindparam("udid"))
_OWNER = select(Person.username, Person.phone).where(Person.id == bindparam("person_id"))


def record_scep_device(
    authority: Authority,
    session: Session,
    *,
    enrollment_id: int,
    device_ref: str | None,
    person_id: int | None,
    actor: str,
) -> None:
    """Create the device an enrollment names if it has no record yet (an OTA device already has one)."""
    udid = (device_ref or "").strip()
    if not udid or person_id is None:
        return
    connection = core_connection(session)
    if connection.execute(_DEVICE_EXISTS, {"udid": udid}).first() is not None:
        return
    username, phone = connection.execute(_OWNER, {"person_id": person_id}).one()
    now = authority.now()
    device = Device(
        udid=udid,
        person_id=person_id,
        state="enrolled",
        # Renewal invitations go by SMS when the owner has a phone number, else by e-mail.
        channel="sms" if phone else SCEP_ONLY_CHANNEL_FALLBACK,
        created_at=now,
        updated_at=now,
    )
    session.add(device)
    session.flush()
    details = {"owner": username, "via": "scep", "enrollment": enrollment_id}
    session.add(DeviceEvent(device_id=device.id, at=now, event="recorded", details=json.dumps(details)))
    audit.record(
        session, actor=actor, action="device.recorded", target=f"device:{udid}", details=details, at=now
    )
