"""Which S/MIME certificates went to a device in an S/MIME profile, and revoking them with the device.

`smime_profile` records each profile it sends as a device event naming the new signing certificate and
the escrowed encryption certificate it carried. A later profile for the device supersedes the earlier
signing certificate; a revoked device takes its signing certificate with it, and a lost (keyCompromise) or
retired one the encryption certificate too, since whoever holds the phone holds that key
(`devices.revoke_device`). Kept apart from `smime_profile` so `devices` can use it.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.ota import Device, DeviceEvent
from campusca.pki.crl import RevocationReason
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.ca.revocation import revoke_certificate

SENT_EVENT = "smime_profile_sent"


def sent_serials(
    session: Session, device: Device, *, roles: tuple[str, ...] = ("signing", "encryption")
) -> list[int]:
    """Serials of the S/MIME certificates sent to the device, oldest first (each once)."""
    events = session.execute(
        select(DeviceEvent)
        .where(DeviceEvent.device_id == device.id, DeviceEvent.event == SENT_EVENT)
        .order_by(DeviceEvent.id)
    ).scalars()
    serials: dict[int, None] = {}
    for event in events:
        details = json.loads(event.details)
        for role in roles:
            if f"{role}_serial" in details:
                serials[int(details[f"{role}_serial"], 16)] = None
    return list(serials)


def revoke_sent(
    authority: Authority,
    session: Session,
    device: Device,
    *,
    reason: RevocationReason,
    actor: str,
    why: str,
    roles: tuple[str, ...] = ("signing", "encryption"),
) -> list[int]:
    """Revoke the still-valid S/MIME certificates that went to the device; returns their serials."""
    revoked = []
    now = authority.now()
    for serial in sent_serials(session, device, roles=roles):
        row = find_certificate(session, serial)
        if row is not None and row.revoked_at is None and row.not_after > now:
            revoke_certificate(authority, session, serial=serial, reason=reason, actor=actor,
                               audit_details={"why": why, "device": device.udid})  # fmt: skip
            revoked.append(serial)
    return revoked
