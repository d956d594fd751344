"""A person's own devices, for `/my/devices`: show one, and report one lost.

A lost phone's certificates are revoked as keyCompromise (whoever finds it holds the keys) and the device
is retired, so no re-enrollment invitation is sent for it (the SMS would reach the lost phone). A device
of someone else answers "no device", exactly like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from campusca.db.ids import get_row
from campusca.db.ota import Device
from campusca.pki.crl import RevocationReason
from campusca.services.authority import Authority
from campusca.services.errors import NotFound
from campusca.services.ota.devices import DeviceView, _revoke_device, device_view


def _own(session: Session, username: str, device_id: int) -> Device:
    # By numeric id only: `get_device` tries the UDID first, and a device chooses its own UDID.
    device = get_row(session, Device, device_id)
    if device is None or device.person.username != username:
        raise NotFound(f"no device with id {device_id}")
    return device


def own_device(authority: Authority, *, username: str, device_id: int) -> DeviceView:
    """One of the person's devices (a read transaction of its own)."""
    with authority.db.read() as session:
        return device_view(authority, session, _own(session, username, device_id))


def report_lost(authority: Authority, *, username: str, device_id: int, actor: str) -> DeviceView:
    """Revoke (keyCompromise) every valid certificate of the person's device and retire it, in one transaction."""
    with authority.db.write() as session:
        device = _own(session, username, device_id)
        return _revoke_device(
            authority, session, device.udid, reason=RevocationReason.KEY_COMPROMISE, actor=actor, retire=True
        )
