"""A device's MDM status as `device show` reports it: enrolled, last check-in, current identity, commands.

Read here (ota) rather than in services/mdm, which sits above ota, so the one device view carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.mdm import MdmCommand, MdmDevice
from campusca.db.models import Certificate
from campusca.db.ota import Device

COMMANDS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class MdmCommandSummary:
    request_type: str
    command_uuid: str
    status: str
    created_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "request_type": self.request_type,
            "command_uuid": self.command_uuid,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class MdmStatus:
    enrolled: bool = False
    last_checkin: datetime | None = None
    current_serial: int | None = None
    current_not_after: datetime | None = None
    commands: tuple[MdmCommandSummary, ...] = ()

    def to_json(self) -> dict[str, object]:
        current = None
        if self.current_serial is not None and self.current_not_after is not None:
            current = {
                "serial": format(self.current_serial, "x"),
                "not_after": self.current_not_after.isoformat(),
            }
        return {
            "enrolled": self.enrolled,
            "last_checkin": self.last_checkin.isoformat() if self.last_checkin else None,
            "current_certificate": current,
            "commands": [c.to_json() for c in self.commands],
        }


def mdm_status(session: Session, device: Device) -> MdmStatus:
    row = session.execute(select(MdmDevice).where(MdmDevice.device_id == device.id)).scalar()
    if row is None:
        return MdmStatus()
    current = None
    if row.identity_serial_hex:
        current = session.execute(
            select(Certificate).where(Certificate.serial_hex == row.identity_serial_hex)
        ).scalar()
    commands = session.execute(
        select(MdmCommand)
        .where(MdmCommand.device_id == device.id)
        .order_by(MdmCommand.id.desc())
        .limit(COMMANDS_SHOWN)
    ).scalars()
    return MdmStatus(
        enrolled=row.enrolled,
        last_checkin=row.last_checkin_at,
        current_serial=int(current.serial_hex, 16) if current is not None else None,
        current_not_after=current.not_after if current is not None else None,
        commands=tuple(
            MdmCommandSummary(c.request_type, c.command_uuid, c.status, c.created_at) for c in commands
        ),
    )
