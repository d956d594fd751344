"""Apple over-the-air enrollment, the state machine: login, phase 1, phase 2, phase 3, decline (Apple OTA guide).

States of an enrollment: logged_in -> profile_service_sent (phase 1 downloaded) -> certificate_requested
(phase 2 answered with a SCEP payload) -> final_profile_sent (phase 3 answered); or declined.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import (
    DeviceAttributes,
    DeviceNotTrusted,
    DeviceResponseInvalid,
    DeviceSignatureInvalid,
    parse_device_attributes,
)
from campusca.db.ota import Enrollment, Invitation, WebSession
from campusca.pki.pem import load_certificates
from campusca.services import audit
from campusca.services.authority import ISSUING_CA, Authority
from campusca.services.errors import ChallengeRejected, Conflict, InvalidInput, NotAuthorized, ServiceError
from campusca.services.ota import devices, phase3, profiles
from campusca.services.ota.invitations import find_usable_invitation, mark_used
from campusca.services.ota.phase3 import refuse
from campusca.services.people import login
from campusca.services.scep.challenges import create_challenge

CHALLENGE_BYTES = 32
ACTIVE_STATES = ("logged_in", "profile_service_sent")


@dataclass(frozen=True, slots=True)
class EnrollmentLogin:
    session_token: str
    csrf_token: str
    username: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class EnrollmentPage:
    """What the enrollment page shows a logged-in person."""

    username: str
    display_name: str
    organisation: str
    state: str
    device: str | None
    csrf_token: str
    can_download: bool


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def log_in(
    authority: Authority, *, token: str, username: str, password: str, address: str
) -> EnrollmentLogin:
    """Log in on an invitation link; only the invitee may use it, and only once."""
    now = authority.now()
    with authority.db.read() as session:
        invitation = find_usable_invitation(session, token, now)
        invitee = invitation.person.username
    # Only the invitee is admitted: anyone else's correct password is refused like a wrong one.
    user = login.authenticate(
        authority, username=username, password=password, address=address, purpose="enrollment", only=invitee
    )
    with authority.db.write() as session:
        invitation = find_usable_invitation(session, token, authority.now())
        mark_used(session, invitation, authority.now())
        new = login.create_session(
            authority, session, person=invitation.person, source=user.source, invitation_id=invitation.id
        )
        session.add(
            Enrollment(
                invitation_id=invitation.id,
                person_id=invitation.person_id,
                state="logged_in",
                created_at=authority.now(),
                updated_at=authority.now(),
            )
        )
        audit.record(
            session,
            actor=f"person:{invitee}",
            action="enrollment.started",
            target=f"person:{invitee}",
            details={"invitation": invitation.id, "source": user.source},
            at=authority.now(),
        )
    return EnrollmentLogin(new.token, new.csrf_token, invitee, new.expires_at)


def _session_enrollment(authority: Authority, session: Session, session_token: str | None) -> Enrollment:
    web_session = login.load_session(authority, session, session_token)
    if web_session is None or web_session.invitation_id is None:
        raise NotAuthorized("please log in again: your session has ended")
    enrollment = session.execute(
        select(Enrollment).where(Enrollment.invitation_id == web_session.invitation_id)
    ).scalar()
    if enrollment is None:
        raise NotAuthorized("please log in again: your session has ended")
    return enrollment


def session_for_token(
    authority: Authority, session: Session, session_token: str | None, token: str
) -> WebSession:
    """The live session for this link's invitation, or NotAuthorized."""
    web_session = login.load_session(authority, session, session_token)
    invitation = session.get(Invitation, web_session.invitation_id) if web_session else None
    if web_session is None or invitation is None or invitation.token_hash != _sha256(token):
        raise NotAuthorized("please log in first")
    return web_session


def page(authority: Authority, session: Session, session_token: str) -> EnrollmentPage:
    enrollment = _session_enrollment(authority, session, session_token)
    person = enrollment.person
    return EnrollmentPage(
        username=person.username,
        display_name=person.name or person.username,
        organisation=person.department.organisation.name,
        state=enrollment.state,
        device=enrollment.device.device_name or enrollment.device.udid if enrollment.device else None,
        csrf_token=login.csrf_for(session_token),
        can_download=enrollment.state in ACTIVE_STATES,
    )


def download_profile_service(authority: Authority, session_token: str) -> bytes:
    """Phase 1: a signed Profile Service profile with a fresh one-time challenge bound to this enrollment."""
    with authority.db.write() as session:
        enrollment = _session_enrollment(authority, session, session_token)
        if enrollment.state not in ACTIVE_STATES:
            raise Conflict(f"this enrollment is {enrollment.state.replace('_', ' ')}; ask for a new link")
        challenge = secrets.token_urlsafe(CHALLENGE_BYTES)
        profile = profiles.profile_service_profile(authority, person=enrollment.person, challenge=challenge)
        now = authority.now()
        enrollment.challenge_hash = _sha256(challenge)
        enrollment.challenge_expires_at = now + timedelta(minutes=authority.settings.enroll_session_minutes)
        enrollment.state, enrollment.updated_at = "profile_service_sent", now
        audit.record(
            session,
            actor=f"person:{enrollment.person.username}",
            action="enrollment.profile_service_sent",
            target=f"person:{enrollment.person.username}",
            details={"enrollment": enrollment.id},
            at=now,
        )
        return profiles.sign(authority, profile)


def decline(authority: Authority, session_token: str, csrf_token: str | None) -> None:
    """The person refuses the enrollment (or its final profile); administrators see the state."""
    with authority.db.write() as session:
        web_session = login.load_session(authority, session, session_token)
        if web_session is None:
            raise NotAuthorized("please log in again: your session has ended")
        login.check_csrf(web_session, csrf_token)
        enrollment = _session_enrollment(authority, session, session_token)
        now = authority.now()
        enrollment.state, enrollment.challenge_hash, enrollment.updated_at = "declined", None, now
        if enrollment.device is not None:
            devices.set_state(session, enrollment.device, "declined", now, by=enrollment.person.username)
        audit.record(
            session,
            actor=f"person:{enrollment.person.username}",
            action="enrollment.declined",
            target=f"person:{enrollment.person.username}",
            details={
                "enrollment": enrollment.id,
                "device": enrollment.device.udid if enrollment.device else None,
            },
            at=now,
        )


def handle_device_request(authority: Authority, body: bytes) -> bytes:
    """Phase 2 or 3: the device's signed attributes in, a signed profile out.

    Phase 3 is a request signed by a certificate of our issuing CA; anything else is phase 2.
    """
    attributes = _parse(body, ())
    issuing = authority.ca(ISSUING_CA).certificate
    if attributes.signer_certificate.issuer == issuing.subject:
        # The signature is verified; enrollment_phase3 checks the certificate against our CA and records.
        return phase3.answer(authority, attributes)
    roots = _apple_roots(authority)
    return _phase2(authority, _parse(body, roots) if roots else attributes)


def _parse(body: bytes, roots: list[x509.Certificate] | tuple[()]) -> DeviceAttributes:
    try:
        return parse_device_attributes(body, trusted_device_roots=roots)
    except DeviceSignatureInvalid:
        raise InvalidInput("device attributes signature does not verify") from None
    except DeviceNotTrusted:
        raise NotAuthorized("device signing certificate is not from a trusted device CA") from None
    except DeviceResponseInvalid as error:
        raise InvalidInput(str(error)) from None


def _apple_roots(authority: Authority) -> list[x509.Certificate]:
    path = authority.settings.apple_device_ca_file
    if path is None:
        return []
    try:
        return load_certificates(path.read_bytes())
    except (OSError, ValueError):
        raise ServiceError(f"apple_device_ca_file {path} is not a readable PEM bundle") from None


def _phase2(authority: Authority, attributes: DeviceAttributes) -> bytes:
    if not attributes.challenge:
        raise InvalidInput("device attributes must include CHALLENGE")
    if not attributes.udid:
        raise InvalidInput("device attributes must include UDID")
    now = authority.now()
    with authority.db.write() as session:
        enrollment = session.execute(
            select(Enrollment).where(Enrollment.challenge_hash == _sha256(attributes.challenge))
        ).scalar()
        problem = _challenge_problem(enrollment, now)
        if problem is None and enrollment is not None:
            person = enrollment.person
            device = devices.record_device(
                authority,
                session,
                person=person,
                attributes=attributes,
                channel=enrollment.invitation.channel,
            )
            scep_challenge = create_challenge(
                authority,
                session,
                person=person,
                actor=f"enrollment:{enrollment.id}",
                ttl_seconds=authority.settings.enroll_session_minutes * 60,
                device_ref=device.udid,
                expected_subject=profiles.device_common_name(person, device.udid),
                profile="device",
            )
            profile = profiles.enrollment_profile(
                authority, person=person, device=device, challenge=scep_challenge
            )
            enrollment.device_id, enrollment.challenge_hash = device.id, None
            enrollment.state, enrollment.updated_at = "certificate_requested", now
            devices.record_event(session, device, "scep_profile_sent", now, {"enrollment": enrollment.id})
            audit.record(
                session,
                actor=f"device:{device.udid}",
                action="enrollment.scep_profile_sent",
                target=f"person:{person.username}",
                details={"enrollment": enrollment.id, "device": device.udid},
                at=now,
            )
            return profiles.sign(authority, profile)
    raise refuse(
        authority,
        ChallengeRejected(problem or "enrollment challenge is wrong"),
        actor=f"device:{attributes.udid}",
        target=f"device:{attributes.udid}",
    )


def _challenge_problem(enrollment: Enrollment | None, now: datetime) -> str | None:
    if enrollment is None:
        return "enrollment challenge is wrong or has been used"
    if enrollment.state != "profile_service_sent":
        return f"enrollment is {enrollment.state.replace('_', ' ')}"
    if enrollment.challenge_expires_at is None or enrollment.challenge_expires_at <= now:
        return "enrollment challenge has expired; download the profile again"
    return None


# Wrappers for the enrollment pages: each owns its transaction(s), the page never sees a session.


def enrollment_page(authority: Authority, session_token: str | None, token: str) -> EnrollmentPage:
    """What the page of link `token` shows the person logged in on it; NotAuthorized when nobody is."""
    with authority.db.read() as session:
        session_for_token(authority, session, session_token, token)
        return page(authority, session, session_token or "")


def check_enrollment_link(authority: Authority, token: str) -> None:
    """Raise ChallengeRejected (ChallengeSpent when used, withdrawn or expired) unless the link is usable."""
    with authority.db.read() as session:
        find_usable_invitation(session, token, authority.now())


def profile_service_for_link(authority: Authority, session_token: str | None, token: str) -> bytes:
    """Phase 1 for the person logged in on link `token`: the signed Profile Service profile."""
    with authority.db.read() as session:
        session_for_token(authority, session, session_token, token)
    return download_profile_service(authority, session_token or "")


def decline_on_link(authority: Authority, session_token: str | None, token: str, csrf_token: str) -> None:
    """The person logged in on link `token` refuses the enrollment."""
    with authority.db.read() as session:
        session_for_token(authority, session, session_token, token)
    decline(authority, session_token or "", csrf_token)
