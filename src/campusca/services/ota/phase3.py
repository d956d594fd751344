"""Phase 3 of Apple OTA enrollment: the device signs with the certificate it just enrolled; we answer the final profile.

The signer must be a certificate of our issuing CA, on record, unrevoked and in its validity period; SCEP
must have issued it for the UDID the request names, to the device's owner, and the SERIAL must match
what phase 2 recorded (research §2.3).
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import DeviceAttributes, Payload
from campusca.db.models import Person
from campusca.db.ota import Device, Enrollment
from campusca.services import audit
from campusca.services.authority import ISSUING_CA, Authority
from campusca.services.ca.issuance import find_certificate, serial_to_hex
from campusca.services.errors import NotAuthorized, ServiceError
from campusca.services.ota import devices, profiles
from campusca.services.ota.passcode_policy import policy_for
from campusca.services.scep.challenges import create_challenge
from campusca.services.scep.enrollments import enrollments_for_device

ANSWERABLE = ("certificate_requested", "final_profile_sent")


def refuse(
    authority: Authority, error: ServiceError, *, actor: str, target: str, **details: object
) -> ServiceError:
    """Audit a refusal in a transaction of its own (the caller's is rolled back) and return the error."""
    with authority.db.write() as session:
        audit.record(
            session,
            actor=actor,
            action="enrollment.refused",
            target=target,
            details={"reason": str(error), **details},
            at=authority.now(),
        )
    return error


def answer(authority: Authority, attributes: DeviceAttributes) -> bytes:
    """Return the signed, encrypted final profile, or raise NotAuthorized (audited) with the reason."""
    signer = attributes.signer_certificate
    now = authority.now()
    with authority.db.write() as session:
        problem = _certificate_problem(authority, session, signer, now)
        device = _device(session, attributes.udid)
        problem = problem or _device_problem(session, device, attributes, signer)
        enrollment = _enrollment(session, device) if problem is None and device is not None else None
        if problem is None and enrollment is None:
            problem = "no enrollment of this device is waiting for its final profile"
        if problem is None and enrollment is not None and device is not None:
            return _final(authority, session, enrollment, device, signer, now)
    raise refuse(
        authority,
        NotAuthorized(problem or "phase 3 request refused"),
        actor=f"device:{attributes.udid}",
        target=f"device:{attributes.udid}",
        signer_serial=format(signer.serial_number, "x"),
    )


def _certificate_problem(
    authority: Authority, session: Session, signer: x509.Certificate, now: datetime
) -> str | None:
    try:
        signer.verify_directly_issued_by(authority.ca(ISSUING_CA).certificate)
    except (InvalidSignature, ValueError, TypeError):
        return "the signing certificate was not issued by this CA"
    row = find_certificate(session, signer.serial_number)
    if row is None or row.der != signer.public_bytes(serialization.Encoding.DER):
        return "the signing certificate is not on record"
    if row.revoked_at is not None:
        return "the signing certificate is revoked"
    if not row.not_before <= now < row.not_after:
        return "the signing certificate is outside its validity period"
    return None


def _device(session: Session, udid: str | None) -> Device | None:
    if not udid:
        return None
    return session.execute(select(Device).where(Device.udid == udid)).scalar()


def _device_problem(
    session: Session, device: Device | None, attributes: DeviceAttributes, signer: x509.Certificate
) -> str | None:
    if device is None:
        return "the UDID does not name an enrolling device"
    issued_for_device = {
        v.certificate_serial
        for v in enrollments_for_device(session, device.udid)
        if v.status == "issued" and v.certificate_serial is not None
    }
    if signer.serial_number not in issued_for_device:
        return "the signing certificate was not issued for this UDID"
    if (attributes.serial or device.serial) and attributes.serial != device.serial:
        return "the SERIAL does not match the one recorded in phase 2"
    row = find_certificate(session, signer.serial_number)
    if row is None or row.person_id != device.person_id:
        return "the signing certificate belongs to someone other than the device's owner"
    if device.state in ("declined", "retired"):
        return f"the device is {device.state}"
    return None


def _enrollment(session: Session, device: Device) -> Enrollment | None:
    return session.execute(
        select(Enrollment)
        .where(Enrollment.device_id == device.id, Enrollment.state.in_(ANSWERABLE))
        .order_by(Enrollment.id.desc())
    ).scalar()


def final_profile_for(
    authority: Authority,
    session: Session,
    person: Person,
    device: Device,
    *,
    actor: str,
    challenge_ttl_seconds: int,
    encrypted_to: x509.Certificate,
    mdm_topic: str | None,
) -> Payload:
    """The device's final profile (SCEP with a fresh one-time challenge bound to it, passcode policy,
    VPN, MDM when `mdm_topic`), encrypted to the device: at enrollment and when MDM renews it."""
    challenge = create_challenge(
        authority,
        session,
        person=person,
        actor=actor,
        ttl_seconds=challenge_ttl_seconds,
        device_ref=device.udid,
        expected_subject=profiles.device_common_name(person, device.udid),
        profile="device",
    )
    return profiles.final_device_profile(
        authority,
        person=person,
        device=device,
        challenge=challenge,
        policy=policy_for(session, person.department.organisation_id),
        encrypted_to=encrypted_to,
        mdm_topic=mdm_topic,
    )


def _final(
    authority: Authority,
    session: Session,
    enrollment: Enrollment,
    device: Device,
    signer: x509.Certificate,
    now: datetime,
) -> bytes:
    person = enrollment.person
    profile = final_profile_for(
        authority,
        session,
        person,
        device,
        actor=f"enrollment:{enrollment.id}",
        # The person installs the final profile by hand, perhaps later the same day.
        challenge_ttl_seconds=max(authority.settings.enroll_session_minutes * 60, 24 * 3600),
        encrypted_to=signer,
        mdm_topic=profiles.active_mdm_topic(session),
    )
    enrollment.state, enrollment.final_profile_sent_at, enrollment.updated_at = "final_profile_sent", now, now
    enrollment.enrollment_serial_hex = serial_to_hex(signer.serial_number)
    devices.set_state(session, device, "awaiting_install", now)
    devices.record_event(session, device, "final_profile_sent", now, {"enrollment": enrollment.id})
    audit.record(
        session,
        actor=f"device:{device.udid}",
        action="enrollment.final_profile_sent",
        target=f"person:{person.username}",
        details={
            "enrollment": enrollment.id,
            "device": device.udid,
            "signer_serial": format(signer.serial_number, "x"),
            "expires": profile.get("PayloadExpirationDate"),
        },
        at=now,
    )
    return profiles.sign(authority, profile)
