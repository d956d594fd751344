"""MDM check-in (`PUT /mdm/checkin`): Authenticate, TokenUpdate, CheckOut (Apple mdm/checkin).

The device's command queue is kept across a new Authenticate: after an MDM renewal the phone
authenticates again with its new identity and must still find the rest of the renewal waiting.
"""

from __future__ import annotations

import logging
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import CheckinMessage, CheckinType
from campusca.db.mdm import MdmDevice, MdmRenewal
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.services.mdm.identity import Speaker, authenticate_signer
from campusca.services.mdm.push_cert import active_topic
from campusca.services.ota import devices

log = logging.getLogger("campusca.mdm")


def check_in(authority: Authority, message: CheckinMessage, signer: x509.Certificate) -> None:
    """Record one check-in signed by `signer`; raises NotAuthorized (nothing recorded) when it may not speak."""
    now = authority.now()
    with authority.db.write() as session:
        speaker = authenticate_signer(authority, session, udid=message.udid, signer=signer, now=now)
        expected = speaker.mdm.topic if speaker.mdm is not None else active_topic(session)
        if message.topic != expected:
            raise NotAuthorized("the check-in Topic is not this server's push topic")
        row = speaker.mdm or _new_row(session, speaker, message.topic)
        was_enrolled = row.enrolled
        row.last_checkin_at = now
        adopt_identity(session, speaker, row, now)
        if message.message_type is CheckinType.AUTHENTICATE:
            row.authenticated_at = now
        elif message.message_type is CheckinType.TOKEN_UPDATE:
            row.push_token_hex, row.push_magic = (message.token or b"").hex(), message.push_magic
            row.enrolled, row.checked_out_at = True, None
        else:
            row.enrolled, row.checked_out_at = False, now
        # A TokenUpdate is recorded when it enrols the device, not each time iOS refreshes its token.
        if message.message_type is not CheckinType.TOKEN_UPDATE or not was_enrolled:
            _record(session, speaker, message.message_type, now)


def _new_row(session: Session, speaker: Speaker, topic: str) -> MdmDevice:
    row = MdmDevice(device_id=speaker.device.id, topic=topic, enrolled=False)
    session.add(row)
    session.flush()
    speaker.mdm = row
    return row


def adopt_identity(session: Session, speaker: Speaker, row: MdmDevice, now: datetime) -> None:
    """A newer certificate signing for the device becomes its identity; the older one is refused from now on."""
    serial_hex = speaker.certificate.serial_hex
    if row.identity_serial_hex == serial_hex:
        return
    previous = row.identity_serial_hex
    row.identity_serial_hex = serial_hex
    renewal = session.execute(select(MdmRenewal).where(MdmRenewal.open_device_id == row.device_id)).scalar()
    if renewal is not None and previous is not None and serial_hex != renewal.old_serial_hex:
        renewal.new_serial_hex = serial_hex
    if previous is not None:
        devices.record_event(
            session,
            speaker.device,
            "mdm.identity_changed",
            now,
            {"from": previous.lstrip("0"), "to": serial_hex.lstrip("0")},
        )


def _record(session: Session, speaker: Speaker, kind: CheckinType, now: datetime) -> None:
    event = {
        "Authenticate": "mdm.authenticated",
        "TokenUpdate": "mdm.enrolled",
        "CheckOut": "mdm.checked_out",
    }[kind]
    devices.record_event(
        session, speaker.device, event, now, {"certificate": speaker.certificate.serial_hex.lstrip("0")}
    )
    audit.record(
        session,
        actor=f"device:{speaker.device.udid}",
        action=event,
        target=f"device:{speaker.device.udid}",
        details={"certificate": speaker.certificate.serial_hex.lstrip("0")},
        at=now,
    )
