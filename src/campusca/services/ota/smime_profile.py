"""S/MIME on an enrolled iPhone: the person's identities in a profile encrypted to the device (issue 13).

Where the person's department escrows keys (simple mode: the domain key is in the key backend), campusca
takes the current escrowed encryption key out of escrow for its owner's own phone, issues a signing
certificate with a fresh key for that phone (signing keys are never escrowed, and each device keeps its
own), and puts both in `com.apple.security.pkcs12` payloads (legacy 3DES PKCS#12: what iOS imports
everywhere) of a profile encrypted to the device's newest valid certificate and signed with the
profile-signing identity. When the organisation configures its mail servers (`mail_servers`), a
`com.apple.mail.managed` account names the two identities for signing and encryption. Kept apart from the
enrollment profiles (`profiles.py`), which other work changes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.orm import Session

from campusca.apple import MailServer, Payload, configuration_profile, pkcs12_payload, smime_mail_payload
from campusca.db.escrow import KeyCustody
from campusca.db.models import Person
from campusca.db.ota import Device
from campusca.pki.pkcs12 import export_pkcs12
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import EscrowDisabled, NotAuthorized, PolicyViolation
from campusca.services.ota.devices import device_certificates, get_device
from campusca.services.ota.profiles import identifier_prefix, sign
from campusca.services.people.registry import get_person
from campusca.services.smime.escrow_keys import QUORUM, active_key, domain_decrypter, recover_key
from campusca.services.smime.escrow_policy import effective_policy, find_domain
from campusca.services.smime.issue import SIGNING, SmimePrivateKey, generate_smime_key, issue_one
from campusca.services.smime.recovery import escrowed_custody


@dataclass(frozen=True, slots=True)
class SmimeDeviceProfile:
    """The signed, encrypted `.mobileconfig` and what it holds."""

    username: str
    udid: str
    profile: bytes  # DER CMS SignedData, served as application/x-apple-aspen-config
    signing_serial: str
    encryption_serial: str
    mail_account: bool

    def to_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "udid": self.udid,
            "signing_certificate": self.signing_serial,
            "encryption_certificate": self.encryption_serial,
            "mail_account": self.mail_account,
        }


def smime_profile_for_device(
    authority: Authority, *, username: str, udid: str, actor: str
) -> SmimeDeviceProfile:
    """Build the S/MIME profile for a person's enrolled iPhone; committed (signing certificate, audit) on return."""
    signing_key = generate_smime_key(authority)  # before the write lock
    with authority.db.write() as session:
        person = get_person(session, username)
        device = get_device(session, udid)
        if device.person_id != person.id:
            raise NotAuthorized(f"device {device.udid} is not enrolled to {person.username}")
        device_certificate = _device_certificate(authority, session, device)
        custody, encryption_key = _escrowed_encryption_key(authority, session, person)
        signing = issue_one(
            authority,
            session,
            person,
            SIGNING,
            None,
            actor,
            {"escrowed": False, "device": device.udid},
            signing_key,
        )
        encryption_certificate = x509.load_der_x509_certificate(custody.certificate.der)
        payloads = _payloads(
            authority,
            person,
            device,
            (signing_key, signing.issued.certificate),
            (encryption_key, encryption_certificate),
        )
        prefix = f"{identifier_prefix(person)}.smime.{device.udid}"
        profile = configuration_profile(
            payloads=payloads,
            identifier=prefix,
            display_name=f"S/MIME for {person.email}",
            organization=person.department.organisation.name,
            description="Your e-mail signing and encryption identities",
            encrypted_to=device_certificate,
        )
        encryption_serial = format(encryption_certificate.serial_number, "x")
        audit.record(
            session,
            actor=actor,
            action="smime.device_profile_built",
            target=f"person:{person.username}",
            details={
                "device": device.udid,
                "signing_certificate": signing.issued.serial_hex,
                "encryption_certificate": encryption_serial,
                "why": "the escrowed encryption key left escrow for its owner's enrolled device",
            },
            at=authority.now(),
        )
        return SmimeDeviceProfile(
            username=person.username,
            udid=device.udid,
            profile=sign(authority, profile),
            signing_serial=signing.issued.serial_hex,
            encryption_serial=encryption_serial,
            mail_account=len(payloads) == 3,
        )


def _device_certificate(authority: Authority, session: Session, device: Device) -> x509.Certificate:
    """The device's newest valid certificate: iOS decrypts the profile with that identity's key."""
    for view in device_certificates(authority, session, device):
        row = find_certificate(session, view.serial) if view.status == "valid" else None
        if row is not None:
            certificate = x509.load_der_x509_certificate(row.der)
            if isinstance(certificate.public_key(), rsa.RSAPublicKey):
                return certificate
    raise PolicyViolation(
        f"device {device.udid} has no valid certificate to encrypt the profile to; re-enrol it"
    )


def _escrowed_encryption_key(
    authority: Authority, session: Session, person: Person
) -> tuple[KeyCustody, SmimePrivateKey]:
    policy = effective_policy(person.department)
    domain = find_domain(session, policy) if policy.enabled else None
    if domain is None:
        raise EscrowDisabled(
            f"escrow is off for {policy.scope}: campusca holds no encryption key of {person.username} to install"
        )
    now = authority.now()
    current = [
        c
        for c in escrowed_custody(session, person, domain.id)
        if c.certificate.revoked_at is None and c.certificate.not_after > now
    ]
    if not current:
        raise EscrowDisabled(
            f"{person.username} has no valid escrowed encryption certificate; issue S/MIME first"
        )
    key_row = active_key(domain)
    if key_row is None or key_row.mode == QUORUM:
        raise PolicyViolation(
            f"{policy.scope} escrows in quorum mode: a key leaves escrow only through an approved recovery"
        )
    key = recover_key(current[-1], domain_decrypter(authority, key_row))
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PolicyViolation("archived key is neither an RSA nor an EC key")
    return current[-1], key


def _payloads(
    authority: Authority,
    person: Person,
    device: Device,
    signing: tuple[SmimePrivateKey, x509.Certificate],
    encryption: tuple[SmimePrivateKey, x509.Certificate],
) -> list[Payload]:
    prefix = f"{identifier_prefix(person)}.smime.{device.udid}"
    identities = []
    for use, (key, certificate) in (("signing", signing), ("encryption", encryption)):
        password = secrets.token_urlsafe(18)  # travels inside the encrypted profile only
        pkcs12 = export_pkcs12(
            key=key,
            certificate=certificate,
            chain=authority.chain(),
            password=password.encode(),
            legacy=True,  # 3DES + SHA-1 MAC: what every iOS release imports (research §4.4)
            friendly_name=f"{person.email} {use}".encode(),
        )
        identities.append(
            pkcs12_payload(
                pkcs12,
                password=password,
                identifier=f"{prefix}.{use}",
                display_name=f"S/MIME {use} ({person.email})",
                file_name=f"{person.username}-{use}.p12",
            )
        )
    settings = authority.settings.mail_servers.get(person.department.organisation.name)
    if settings is None:
        return identities
    server = MailServer(**settings.model_dump())
    account = smime_mail_payload(
        server,
        email=person.email,
        username=person.username,
        display_name=person.name or person.email,
        identifier=f"{prefix}.mail",
        signing_uuid=str(identities[0]["PayloadUUID"]),
        encryption_uuid=str(identities[1]["PayloadUUID"]),
    )
    return [*identities, account]
