"""Who may speak for a device on the MDM channel: the certificate campusca issued to that UDID, and no other.

A message is accepted when its Mdm-Signature certificate was issued by our issuing CA, is on record, was
issued (by SCEP) for the UDID the message names, is in its validity period, is not older than the
identity the device last authenticated with (superseded), and is not revoked — except that a certificate
revoked for a reason MDM may repair stays accepted while its own renewal is in flight, so the phone can
fetch its replacement (docs/mdm.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.mdm import MdmDevice, MdmRenewal
from campusca.db.models import Certificate
from campusca.db.ota import Device
from campusca.pki.crl import RevocationReason
from campusca.services.authority import ISSUING_CA, Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import NotAuthorized
from campusca.services.scep.enrollments import enrollments_for_device

# Revocations MDM repairs by itself; any other reason (keyCompromise above all: whoever holds that key
# could collect the new challenge) is renewed by invitation only.
RENEWABLE_REASONS = frozenset(
    {
        RevocationReason.UNSPECIFIED.value,
        RevocationReason.SUPERSEDED.value,
        RevocationReason.AFFILIATION_CHANGED.value,
        RevocationReason.CESSATION_OF_OPERATION.value,
    }
)


@dataclass
class Speaker:
    """The device a verified message speaks for, its MDM row (None before Authenticate), its certificate."""

    device: Device
    mdm: MdmDevice | None
    certificate: Certificate


def authenticate_signer(
    authority: Authority, session: Session, *, udid: str, signer: x509.Certificate, now: datetime
) -> Speaker:
    """Return who speaks, or raise NotAuthorized naming why the signature is not good enough."""
    try:
        signer.verify_directly_issued_by(authority.ca(ISSUING_CA).certificate)
    except (InvalidSignature, ValueError, TypeError):
        raise NotAuthorized("the Mdm-Signature certificate was not issued by this CA") from None
    row = find_certificate(session, signer.serial_number)
    if row is None or row.der != signer.public_bytes(serialization.Encoding.DER):
        raise NotAuthorized("the Mdm-Signature certificate is not on record")
    device = session.execute(select(Device).where(Device.udid == udid)).scalar()
    if device is None:
        raise NotAuthorized("the UDID names no device of this server")
    issued = {v.certificate_serial for v in enrollments_for_device(session, udid) if v.status == "issued"}
    if signer.serial_number not in issued:
        raise NotAuthorized("the Mdm-Signature certificate was not issued for this UDID")
    if not row.not_before <= now < row.not_after:
        raise NotAuthorized("the Mdm-Signature certificate is outside its validity period")
    mdm = session.execute(select(MdmDevice).where(MdmDevice.device_id == device.id)).scalar()
    if row.revoked_at is not None and not _being_renewed(session, device, row):
        raise NotAuthorized("the Mdm-Signature certificate is revoked")
    if mdm is not None and mdm.identity_serial_hex and mdm.identity_serial_hex != row.serial_hex:
        current = session.execute(
            select(Certificate).where(Certificate.serial_hex == mdm.identity_serial_hex)
        ).scalar()
        if current is not None and row.id < current.id:  # issued before the identity it last used
            raise NotAuthorized("the Mdm-Signature certificate is superseded by the device's newer identity")
    return Speaker(device, mdm, row)


def _being_renewed(session: Session, device: Device, row: Certificate) -> bool:
    if row.revocation_reason not in RENEWABLE_REASONS:
        return False
    return (
        session.execute(
            select(MdmRenewal.id).where(
                MdmRenewal.open_device_id == device.id, MdmRenewal.old_serial_hex == row.serial_hex
            )
        ).first()
        is not None
    )
