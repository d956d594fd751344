"""The per-device MDM command queue (`PUT /mdm/server`): durable, at most one command outstanding per device.

A command is `queued` until it is handed to the device (`sent`), then `acknowledged` or `error` when the
device reports on it. `NotNow` puts it back to `queued`; it is sent again at the device's next `Idle`
(Apple: a device that answers NotNow polls again when it can act). A device reporting Idle while a
command is `sent` lost the answer: the same command is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import ReportMessage, ReportStatus
from campusca.db.mdm import MdmCommand, MdmDevice
from campusca.db.ota import Device
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized
from campusca.services.mdm import renewal_steps
from campusca.services.mdm.checkin import adopt_identity
from campusca.services.mdm.identity import authenticate_signer
from campusca.services.ota import devices

OPEN = ("queued", "sent")


@dataclass(frozen=True, slots=True)
class CommandView:
    device: str
    command_uuid: str
    request_type: str
    status: str
    attempts: int
    not_now_count: int
    created_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    error: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "command_uuid": self.command_uuid,
            "request_type": self.request_type,
            "status": self.status,
            "attempts": self.attempts,
            "not_now_count": self.not_now_count,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "error": self.error,
        }


def answer_report(authority: Authority, report: ReportMessage, signer: x509.Certificate) -> bytes | None:
    """Record the device's report and return the next command plist for it, or None (an empty 200)."""
    now = authority.now()
    with authority.db.write() as session:
        speaker = authenticate_signer(authority, session, udid=report.udid, signer=signer, now=now)
        row = speaker.mdm
        if row is None or not row.enrolled:
            raise NotAuthorized("the device is not enrolled in MDM; it must check in first")
        row.last_checkin_at = now
        adopt_identity(session, speaker, row, now)
        if report.status is not ReportStatus.IDLE and _settle(
            authority, session, speaker.device, report, now
        ):
            return None  # NotNow: the device will poll again when it can act
        return _next(authority, session, speaker.device, row, signer, now)


def _settle(
    authority: Authority, session: Session, device: Device, report: ReportMessage, now: datetime
) -> bool:
    """Apply the device's answer to its command; True when the device asked to be left alone (NotNow)."""
    command = session.execute(
        select(MdmCommand).where(
            MdmCommand.device_id == device.id, MdmCommand.command_uuid == report.command_uuid
        )
    ).scalar()
    if command is None or command.status != "sent":
        return False  # an answer to a command settled before (a re-sent report) changes nothing
    if report.status is ReportStatus.NOT_NOW:
        command.status, command.not_now_count = "queued", command.not_now_count + 1
        devices.record_event(
            session, device, "mdm.command_not_now", now, {"command_uuid": command.command_uuid}
        )
        return True
    command.answered_at, command.body = now, None
    if report.status is ReportStatus.ACKNOWLEDGED:
        command.status = "acknowledged"
    else:
        command.status, command.error = "error", _error_text(report)
    devices.record_event(
        session, device, f"mdm.command_{command.status}", now,
        {"request_type": command.request_type, "command_uuid": command.command_uuid},
    )  # fmt: skip
    renewal_steps.on_answer(authority, session, device, command, report, now)
    return False


def _next(
    authority: Authority,
    session: Session,
    device: Device,
    row: MdmDevice,
    signer: x509.Certificate,
    now: datetime,
) -> bytes | None:
    command = session.execute(
        select(MdmCommand)
        .where(MdmCommand.device_id == device.id, MdmCommand.status.in_(OPEN))
        .order_by((MdmCommand.status == "sent").desc(), MdmCommand.id)
    ).scalar()
    if command is None:
        return None
    body = command.body
    if body is None:
        body = renewal_steps.install_profile_body(authority, session, device, command, signer)
    command.status, command.sent_at, command.attempts = "sent", now, command.attempts + 1
    return body


def _error_text(report: ReportMessage) -> str:
    chain = report.fields.get("ErrorChain")
    if isinstance(chain, list):
        parts = [
            str(e.get("LocalizedDescription") or e.get("ErrorCode")) for e in chain if isinstance(e, dict)
        ]
        return "; ".join(parts)[:500] or report.status.value
    return report.status.value


def list_commands(authority: Authority, *, udid: str | None = None, limit: int = 200) -> list[CommandView]:
    """MDM commands, newest first, optionally of one device (a read transaction of its own)."""
    with authority.db.read() as session:
        query = select(MdmCommand, Device.udid).join(Device, Device.id == MdmCommand.device_id)
        if udid is not None:
            device = devices.get_device(session, udid)
            query = query.where(MdmCommand.device_id == device.id)
        rows = session.execute(query.order_by(MdmCommand.id.desc()).limit(limit)).all()
        return [_view(command, device_udid) for command, device_udid in rows]


def _view(command: MdmCommand, udid: str) -> CommandView:
    return CommandView(
        device=udid,
        command_uuid=command.command_uuid,
        request_type=command.request_type,
        status=command.status,
        attempts=command.attempts,
        not_now_count=command.not_now_count,
        created_at=command.created_at,
        sent_at=command.sent_at,
        answered_at=command.answered_at,
        error=command.error,
    )
