"""Putting a command on a device's MDM queue (the queue itself: queue.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from campusca.db.mdm import MdmCommand
from campusca.db.ota import Device
from campusca.services.ota import devices


def enqueue(
    session: Session, device: Device, request_type: str, now: datetime, *, body: bytes | None = None,
    renewal_id: int | None = None,
) -> MdmCommand:  # fmt: skip
    """Queue a command; `body` None means it is built when sent (InstallProfile of a renewal)."""
    command = MdmCommand(
        device_id=device.id,
        command_uuid=str(uuid.uuid4()).upper(),
        request_type=request_type,
        body=body,
        status="queued",
        attempts=0,
        not_now_count=0,
        renewal_id=renewal_id,
        created_at=now,
    )
    session.add(command)
    session.flush()
    devices.record_event(
        session,
        device,
        "mdm.command_queued",
        now,
        {"request_type": request_type, "command_uuid": command.command_uuid},
    )
    return command
