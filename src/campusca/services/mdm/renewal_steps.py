"""The device-side steps of an MDM renewal: build the replacement profile when it is sent, act on answers.

InstallProfile carries a signed replacement of the enrollment profile: the same top-level
PayloadIdentifier (so installing it replaces the old profile; removing that profile would un-enrol the
phone), the com.apple.mdm payload with unchanged Topic and URLs, and a fresh SCEP identity with a new
one-time challenge that the MDM, VPN and passcode payloads point at. It is built each time it is sent,
so no challenge is ever stored, and encrypted to the identity that asked for it.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campusca.apple import (
    ReportMessage,
    certificate_list_command,
    certificate_list_entries,
    install_profile_command,
)
from campusca.apple.errors import MdmMessageInvalid
from campusca.db.mdm import MdmCommand, MdmDevice, MdmRenewal
from campusca.db.ota import Device, RenewalTrigger
from campusca.pki.crl import RevocationReason
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.ca.revocation import revoke_certificate
from campusca.services.mdm.commands import enqueue
from campusca.services.ota import devices, profiles
from campusca.services.ota.phase3 import final_profile_for

ACTOR = "system:mdm-renewal"
CHALLENGE_TTL_SECONDS = 24 * 3600  # the phone may install the profile hours after it was sent


def install_profile_body(
    authority: Authority, session: Session, device: Device, command: MdmCommand, signer: x509.Certificate
) -> bytes:
    """The InstallProfile plist with a freshly built, signed and encrypted replacement profile."""
    person = device.person
    topic = session.execute(select(MdmDevice.topic).where(MdmDevice.device_id == device.id)).scalar_one()
    profile = final_profile_for(
        authority,
        session,
        person,
        device,
        actor=f"mdm-renewal:{command.renewal_id}",
        challenge_ttl_seconds=CHALLENGE_TTL_SECONDS,
        encrypted_to=signer,
        mdm_topic=topic,
    )
    return install_profile_command(command.command_uuid, profiles.sign(authority, profile))


def on_answer(
    authority: Authority,
    session: Session,
    device: Device,
    command: MdmCommand,
    report: ReportMessage,
    now: datetime,
) -> None:
    """Move the command's renewal on: install acknowledged -> CertificateList; listed -> done; error -> failed."""
    if command.renewal_id is None:
        return
    renewal = session.get(MdmRenewal, command.renewal_id)
    if renewal is None or renewal.open_device_id is None:
        return
    if command.status == "error":
        fail_renewal(session, device, renewal, now, f"{command.request_type} failed: {command.error}")
    elif command.request_type == "InstallProfile":
        _installed(authority, session, device, renewal, now)
    elif command.request_type == "CertificateList":
        _listed(session, device, renewal, report, now)


def _installed(
    authority: Authority, session: Session, device: Device, renewal: MdmRenewal, now: datetime
) -> None:
    renewal.state = "installed"
    old = find_certificate(session, int(renewal.old_serial_hex, 16))
    if renewal.new_serial_hex and old is not None and old.revoked_at is None:
        # The phone holds and uses its replacement: the old certificate is superseded.
        revoke_certificate(
            authority, session, serial=int(old.serial_hex, 16), reason=RevocationReason.SUPERSEDED,
            actor=ACTOR, audit_details={"device": device.udid, "renewal": renewal.id},
        )  # fmt: skip
    probe = enqueue(session, device, "CertificateList", now, renewal_id=renewal.id)
    probe.body = certificate_list_command(probe.command_uuid)
    devices.set_state(session, device, "enrolled", now, via="mdm", renewal=renewal.id)


def _listed(
    session: Session, device: Device, renewal: MdmRenewal, report: ReportMessage, now: datetime
) -> None:
    try:
        listed = certificate_list_entries(report.fields)
    except MdmMessageInvalid:
        listed = []
    ours = [
        format(c.serial_number, "x") for c in listed if find_certificate(session, c.serial_number) is not None
    ]
    installed = renewal.new_serial_hex is not None and renewal.new_serial_hex.lstrip("0") in ours
    renewal.state, renewal.open_device_id, renewal.finished_at = "done", None, now
    devices.record_event(
        session, device, "mdm.certificates_installed", now, {"certificates": ours, "renewal": renewal.id}
    )
    audit.record(
        session, actor=ACTOR, action="device.renewed_over_mdm", target=f"device:{device.udid}",
        details={"renewal": renewal.id, "old": renewal.old_serial_hex.lstrip("0"),
                 "new": (renewal.new_serial_hex or "").lstrip("0"), "installed": installed},
        at=now,
    )  # fmt: skip


def fail_renewal(session: Session, device: Device, renewal: MdmRenewal, now: datetime, why: str) -> None:
    """Give up on a renewal: its commands are cancelled and its triggers dropped, so the invitation round acts."""
    renewal.state, renewal.open_device_id, renewal.finished_at = "failed", None, now
    renewal.push_status = (renewal.push_status or "")[:80] + f" | {why}"[:120]
    for command in session.execute(
        select(MdmCommand).where(
            MdmCommand.renewal_id == renewal.id, MdmCommand.status.in_(("queued", "sent"))
        )
    ).scalars():
        command.status, command.body, command.answered_at = "cancelled", None, now
    session.execute(
        delete(RenewalTrigger).where(
            RenewalTrigger.device_id == device.id, RenewalTrigger.reason.in_(("mdm", "covered"))
        )
    )
    devices.record_event(
        session, device, "mdm.renewal_failed", now, {"renewal": renewal.id, "why": why[:200]}
    )
    audit.record(
        session, actor=ACTOR, action="device.mdm_renewal_failed", target=f"device:{device.udid}",
        details={"renewal": renewal.id, "why": why[:200]}, at=now,
    )  # fmt: skip
