"""The three profiles of Apple OTA enrollment as this institution fills them (research §2.2, §2.4, §2.7)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import (
    Payload,
    certificate_payloads,
    configuration_profile,
    final_profile,
    ikev2_vpn_payload,
    mdm_payload,
    passcode_policy_payload,
    profile_service_payload,
    scep_payload,
    sign_profile,
)
from campusca.db.mdm import MdmPushCertificate
from campusca.db.models import Person
from campusca.db.ota import Device
from campusca.pki.profiles import get_profile
from campusca.services.authority import ROOT_CA, Authority
from campusca.services.errors import PolicyViolation
from campusca.services.ota.passcode_policy import PasscodePolicy

PROFILE_SERVICE_PATH = "/enroll/ota"
MDM_SERVER_PATH = "/mdm/server"
MDM_CHECKIN_PATH = "/mdm/checkin"
_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def identifier_prefix(person: Person) -> str:
    """Reverse-DNS prefix of the person's organisation, e.g. `edu.example.campusca`."""
    labels = person.department.organisation.domain.lower().split(".")
    return ".".join([*reversed(labels), "campusca"])


def device_identifier(person: Person, udid: str) -> str:
    """Stable per device, so that a re-enrollment replaces the final profile instead of adding one."""
    return f"{identifier_prefix(person)}.device.{_UNSAFE.sub('-', udid)}"


def device_common_name(person: Person, udid: str) -> str:
    """The certificate CN naming the person and the device (at most 64 characters)."""
    return f"{person.username[:20]} {udid}"[:64]


def sign(authority: Authority, profile: Payload) -> bytes:
    signer = authority.identity("profile-signing")
    return sign_profile(
        profile, signer=signer.key, signer_certificate=signer.certificate, chain=authority.chain()
    )


def profile_service_profile(authority: Authority, *, person: Person, challenge: str) -> Payload:
    """Phase 1: asks the device for its attributes, echoing the one-time `challenge`."""
    url = authority.settings.public_url.rstrip("/") + PROFILE_SERVICE_PATH
    if not url.startswith("https://"):
        raise PolicyViolation("Apple enrollment needs an https:// public URL (CAMPUSCA_PUBLIC_URL)")
    org = person.department.organisation.name
    return profile_service_payload(
        url=url,
        challenge=challenge,
        identifier=f"{identifier_prefix(person)}.enroll",
        display_name=f"{org} device enrollment",
        organization=org,
        description=f"Enrols this device for {person.name or person.username} with {org}.",
    )


def _scep(
    authority: Authority, person: Person, device: Device, *, identifier: str, challenge: str
) -> Payload:
    root = authority.ca(ROOT_CA).certificate
    subject: list[list[list[str]]] = [
        [["O", person.department.organisation.name[:64]]],
        [["OU", person.department.name[:64]]],
        [["CN", device_common_name(person, device.udid)]],
    ]
    if device.serial:
        subject.append([["2.5.4.5", device.serial[:64]]])
    return scep_payload(
        identifier=identifier,
        url=authority.settings.public_url.rstrip("/") + "/scep",
        subject=subject,
        challenge=challenge,
        key_size=2048,
        key_usage=5,
        # SHA-1 of the chain-top CA: one of the two digest lengths iOS accepts (docs/apple.md).
        ca_fingerprint=hashlib.sha1(root.public_bytes(serialization.Encoding.DER)).digest(),  # noqa: S324
        subject_alt_names={"rfc822Name": person.email},
    )


def enrollment_profile(authority: Authority, *, person: Person, device: Device, challenge: str) -> Payload:
    """Phase 2: the CA certificates and a SCEP payload with its own one-time challenge."""
    org = person.department.organisation.name
    identifier = f"{device_identifier(person, device.udid)}.enrollment"
    payloads = [
        *certificate_payloads(list(reversed(authority.chain())), identifier_prefix=identifier),
        _scep(authority, person, device, identifier=f"{identifier}.scep", challenge=challenge),
    ]
    return configuration_profile(
        payloads=payloads,
        identifier=identifier,
        display_name=f"{org} device certificate",
        organization=org,
        description="Enrols a certificate for this device; the VPN and passcode settings follow.",
    )


def vpn_expiration(authority: Authority) -> datetime:
    """PayloadExpirationDate: the renewal window before the final profile's certificate expires."""
    now = authority.now()
    expires = now + timedelta(days=get_profile("device").validity_days)
    offered = expires - timedelta(days=authority.settings.renewal_window_days)
    return offered if offered > now + timedelta(days=1) else now + (expires - now) / 2


def final_device_profile(
    authority: Authority,
    *,
    person: Person,
    device: Device,
    challenge: str,
    policy: PasscodePolicy,
    encrypted_to: x509.Certificate,
    mdm_topic: str | None = None,
) -> Payload:
    """Phase 3: CA certificates, a fresh SCEP identity, passcode policy and IKEv2 VPN, encrypted.

    With `mdm_topic` (MDM is on) the profile also enrols the device in campusca's certificate-only MDM,
    checking in with the same identity; an MDM renewal sends this very profile again (same identifier,
    fresh challenge), which replaces it on the phone (docs/mdm.md).
    """
    settings = authority.settings
    org = person.department.organisation
    identifier = device_identifier(person, device.udid)
    identity = _scep(authority, person, device, identifier=f"{identifier}.identity", challenge=challenge)
    remote = settings.vpn_remote_address or f"vpn.{org.domain}"
    vpn = ikev2_vpn_payload(
        identifier=f"{identifier}.vpn",
        display_name=settings.vpn_display_name,
        remote_address=remote,
        remote_identifier=settings.vpn_remote_identifier or remote,
        local_identifier=person.email,
        identity_payload_uuid=str(identity["PayloadUUID"]),
        enable_revocation_check=True,
        server_ca_common_name=settings.vpn_server_ca_common_name,
    )
    passcode = passcode_policy_payload(
        identifier=f"{identifier}.passcode",
        force_pin=policy.force_pin,
        min_length=policy.min_length,
        require_alphanumeric=policy.require_alphanumeric,
        max_inactivity_minutes=policy.max_inactivity_minutes,
        max_failed_attempts=policy.max_failed_attempts,
        max_pin_age_days=policy.max_pin_age_days,
        pin_history=policy.pin_history,
    )
    return final_profile(
        identifier=identifier,
        display_name=f"{org.name} VPN and passcode",
        organization=org.name,
        description=f"Campus VPN for {person.name or person.username}, with the passcode policy of {org.name}.",
        identity=identity,
        passcode=passcode,
        vpn=vpn,
        encrypted_to=encrypted_to,
        ca_certificates=list(reversed(authority.chain())),
        expiration_date=vpn_expiration(authority),
        mdm=_mdm(authority, identifier, str(identity["PayloadUUID"]), mdm_topic) if mdm_topic else None,
    )


def _mdm(authority: Authority, identifier: str, identity_uuid: str, topic: str) -> Payload:
    base = authority.settings.public_url.rstrip("/")
    return mdm_payload(
        identifier=f"{identifier}.mdm",
        server_url=base + MDM_SERVER_PATH,
        check_in_url=base + MDM_CHECKIN_PATH,
        topic=topic,
        identity_payload_uuid=identity_uuid,
    )


def active_mdm_topic(session: Session) -> str | None:
    """The push Topic when MDM is on (a push certificate is imported), else None."""
    return session.execute(
        select(MdmPushCertificate.topic)
        .where(MdmPushCertificate.active.is_(True))
        .order_by(MdmPushCertificate.id.desc())
    ).scalar()
