"""S/MIME on an enrolled iPhone: the person's escrowed encryption identity and a new signing identity, in one
profile encrypted to the device (issue 13).

The encryption identity is the person's current one, opened from escrow, so the phone reads the same mail
as their other clients. That needs an escrow domain campusca can open by itself (simple mode, its key in
the key backend): in quorum mode only the recovery agents' shares open the archive, so the page says that
an approved recovery must come first. Signing keys are never escrowed, so the signing identity is new: a
key made here, certified for the person's address, put in the profile and forgotten; a later profile for
the same device revokes (superseded) the signing certificate of the one before. The PKCS#12 passwords are
random per profile and travel in the payloads' `Password` keys: the profile is CMS-encrypted to the
device's own certificate, so only that phone can open it. Every issuance is audited, without secrets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.apple import MailServers, Payload, mail_payload, pkcs12_payload, smime_profile
from campusca.config import Settings
from campusca.db.escrow import EscrowDomainKeyRow, KeyCustody
from campusca.db.ids import get_row
from campusca.db.models import Certificate, Person
from campusca.db.ota import Device
from campusca.notify import EmailMessage, NotifyError
from campusca.pki.crl import RevocationReason
from campusca.pki.pkcs12 import export_pkcs12
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import find_certificate, issue_certificate
from campusca.services.errors import EscrowDisabled, NotFound, PolicyViolation, ServiceError
from campusca.services.notifications import make_email_sender
from campusca.services.ota import profiles
from campusca.services.ota.device_smime import SENT_EVENT, revoke_sent
from campusca.services.ota.devices import DeviceView, device_certificates, device_view, record_event
from campusca.services.smime.escrow_keys import QUORUM, domain_decrypter, recover_key
from campusca.services.smime.escrow_policy import effective_policy
from campusca.services.smime.issue import ENCRYPTION, SIGNING, generate_smime_key

Pkcs12Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
ENROLLED_STATES = ("enrolled", "renewal_invited")


@dataclass(frozen=True, slots=True)
class SmimeProfileOutlook:
    """What `/my/devices/{id}/smime-profile` shows before the person asks for the profile."""

    device: DeviceView
    refusal: str | None  # why no profile can be made now; None: it can
    encryption_serial: int | None
    escrow_scope: str | None
    mail_server: str | None  # the incoming host when the profile creates the Mail account

    @property
    def available(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class SmimeDeviceProfile:
    """A signed, encrypted profile for one device; its keys and passwords exist only inside it."""

    device_id: int
    udid: str
    signing_serial: int
    encryption_serial: int
    superseded: tuple[int, ...]
    mail_account: bool
    file_name: str
    signed_profile: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Ready:
    person: Person
    device: Device
    custody: KeyCustody
    key_row: EscrowDomainKeyRow
    recipient: x509.Certificate
    scope: str


def smime_profile_outlook(authority: Authority, *, username: str, device_id: int) -> SmimeProfileOutlook:
    """Whether the person can have an S/MIME profile for this device, and what it would hold (read only)."""
    with authority.db.read() as session:
        device = _own(session, username, device_id)
        view = device_view(authority, session, device)
        try:
            ready = _ready(authority, session, device, view)
            mail = mail_servers(authority.settings)
        except ServiceError as error:
            return SmimeProfileOutlook(view, str(error), None, None, None)
        serial = int(ready.custody.certificate.serial_hex, 16)
        host = mail.incoming_host if mail is not None else None
        return SmimeProfileOutlook(view, None, serial, ready.scope, host)


def issue_smime_profile(
    authority: Authority, *, username: str, device_id: int, actor: str
) -> SmimeDeviceProfile:
    """Make, audit and sign the device's S/MIME profile in one transaction, committed when this returns.

    The person is told by e-mail afterwards (which device, which certificates), so a profile made by
    someone who took over their account does not go unnoticed; the notice is audited too.
    """
    mail = mail_servers(authority.settings)
    signing_key = generate_smime_key(authority)  # before the write lock
    with authority.db.write() as session:
        device = _own(session, username, device_id)
        ready = _ready(authority, session, device, device_view(authority, session, device))
        encryption_key = _identity_key(recover_key(ready.custody, domain_decrypter(authority, ready.key_row)))
        encryption_certificate = x509.load_der_x509_certificate(ready.custody.certificate.der)
        superseded = revoke_sent(authority, session, device, reason=RevocationReason.SUPERSEDED, actor=actor,
                                 why="a new S/MIME profile was made for the device", roles=("signing",))  # fmt: skip
        signing = issue_certificate(
            authority,
            session,
            profile_name=SIGNING,
            public_key=signing_key.public_key(),
            actor=actor,
            person=ready.person,
            audit_details={
                "key_source": "generated",
                "escrowed": False,
                "kept": False,
                "device": device.udid,
            },
        )
        identities = ((signing_key, signing.certificate), (encryption_key, encryption_certificate))
        profile = _profile(authority, ready, mail, *identities)
        made = SmimeDeviceProfile(
            device_id=device.id,
            udid=device.udid,
            signing_serial=signing.serial,
            encryption_serial=encryption_certificate.serial_number,
            superseded=tuple(superseded),
            mail_account=mail is not None,
            file_name=f"{ready.person.username}-smime.mobileconfig",
            signed_profile=profiles.sign(authority, profile),
        )
        _record(authority, session, ready, made, actor)
        notice = _notice(ready, made)
    _notify(authority, notice, actor, target=f"person:{username}")
    return made


def _record(
    authority: Authority, session: Session, ready: _Ready, made: SmimeDeviceProfile, actor: str
) -> None:
    """The device event `device_smime` reads later, and the audit record (serials, never keys or passwords)."""
    now = authority.now()
    signing, encryption = format(made.signing_serial, "x"), format(made.encryption_serial, "x")
    sent = {"signing_serial": signing, "encryption_serial": encryption}
    record_event(session, ready.device, SENT_EVENT, now, sent)
    audit.record(
        session,
        actor=actor,
        action="smime.device_profile_issued",
        target=f"person:{ready.person.username}",
        details={
            "device": made.udid,
            **sent,
            "encryption_key_from": ready.scope,
            "superseded": [format(s, "x") for s in made.superseded],
            "mail_account": made.mail_account,
        },
        at=now,
    )


def _notice(ready: _Ready, made: SmimeDeviceProfile) -> EmailMessage:
    device = ready.device.device_name or ready.device.product or ready.device.udid
    body = (
        f"Hello {ready.person.name or ready.person.username},\n\nyour S/MIME certificates were put in a profile "
        f"for your device {device}: your encryption certificate {made.encryption_serial:x} (its key from "
        f"escrow) and a new signing certificate {made.signing_serial:x} for that device only.\n"
        "If you did not ask for this, report the device lost and tell your help desk.\n"
    )
    return EmailMessage(
        to=ready.person.email, subject="Your S/MIME certificates were put on a device", body=body
    )


def _notify(authority: Authority, message: EmailMessage, actor: str, *, target: str) -> None:
    """Send the notice after the commit and audit whether it went out (as recoveries do)."""
    try:
        make_email_sender(authority.settings).send_email(message)
        action, details = "smime.device_profile_notified", {"to": message.to}
    except NotifyError as error:
        action, details = "smime.device_profile_notify_failed", {"to": message.to, "error": str(error)[:200]}
    with authority.db.write() as session:
        audit.record(session, actor=actor, action=action, target=target, details=details,
                     at=authority.now())  # fmt: skip


def mail_servers(settings: Settings) -> MailServers | None:
    """The Mail account's servers when the organisation configures them (both hosts), else None."""
    incoming, outgoing = settings.mail_incoming_host, settings.mail_outgoing_host
    if not incoming and not outgoing:
        return None
    if not incoming or not outgoing:
        missing = "mail_outgoing_host" if incoming else "mail_incoming_host"
        raise PolicyViolation(f"{missing} must be set too: the iPhone's Mail account needs both mail servers")
    return MailServers(
        incoming_host=incoming,
        outgoing_host=outgoing,
        incoming_protocol=settings.mail_incoming_protocol,
        incoming_port=settings.mail_incoming_port,
        outgoing_port=settings.mail_outgoing_port,
        use_ssl=settings.mail_use_ssl,
        account_description=settings.mail_account_description,
    )


def _own(session: Session, username: str, device_id: int) -> Device:
    # By numeric id only, and someone else's device answers like one that does not exist (own_devices).
    device = get_row(session, Device, device_id)
    if device is None or device.person.username != username:
        raise NotFound(f"no device with id {device_id}")
    return device


def _ready(authority: Authority, session: Session, device: Device, view: DeviceView) -> _Ready:
    """Everything the profile needs, or the one sentence that says why it cannot be made."""
    person = device.person
    if view.state not in ENROLLED_STATES:
        raise PolicyViolation(
            f"this device is {view.state.replace('_', ' ')}, not enrolled: S/MIME certificates go only to a "
            "phone that finished enrollment (the profile is encrypted to its device certificate)"
        )
    recipient = _recipient(authority, session, device)
    policy = effective_policy(person.department)
    holder = policy.scope.split(":", 1)[1].replace("/", " / ")
    if not policy.enabled:
        raise EscrowDisabled(
            f"escrow is off for {holder}: campusca keeps no copy of your encryption key, so it cannot put it "
            "on a phone; import the PKCS#12 file you downloaded instead"
        )
    custody = _current_custody(authority, session, person)
    key_row = session.get(EscrowDomainKeyRow, custody.domain_key_id) if custody.domain_key_id else None
    if key_row is None or key_row.mode == QUORUM or key_row.key_label is None:
        raise PolicyViolation(
            f"your encryption key is escrowed by {holder} in quorum mode: campusca cannot open it without "
            "its recovery agents, who must approve a key recovery first (ask your help desk)"
        )
    return _Ready(person, device, custody, key_row, recipient, holder)


def _recipient(authority: Authority, session: Session, device: Device) -> x509.Certificate:
    """The device certificate the profile is encrypted to: the phase-2 one (Apple OTA guide), else the VPN one."""
    valid = [c for c in device_certificates(authority, session, device) if c.status == "valid"]
    valid.sort(key=lambda c: (c.role != "enrollment", -c.issued_at.timestamp()))
    for candidate in valid:
        row = find_certificate(session, candidate.serial)
        if row is not None:
            return x509.load_der_x509_certificate(row.der)
    raise PolicyViolation("this device has no valid certificate to encrypt the profile to; enrol it again")


def _current_custody(authority: Authority, session: Session, person: Person) -> KeyCustody:
    """The custody record of the person's newest valid encryption certificate, which must be escrowed."""
    row = session.execute(
        select(KeyCustody)
        .join(Certificate, Certificate.id == KeyCustody.certificate_id)
        .where(
            Certificate.person_id == person.id,
            Certificate.profile == ENCRYPTION,
            Certificate.revoked_at.is_(None),
            Certificate.not_after > authority.now(),
        )
        .order_by(Certificate.id.desc())
    ).scalar()
    if row is None:
        raise PolicyViolation(
            "you have no valid S/MIME encryption certificate; issue your S/MIME certificates first"
        )
    if not row.escrowed or row.archive_record is None:
        raise EscrowDisabled(
            "campusca holds no copy of the key of your current encryption certificate (it was not escrowed), "
            "so it cannot put it on a phone; import your PKCS#12 file instead"
        )
    return row


def _identity_key(key: PrivateKeyTypes) -> Pkcs12Key:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PolicyViolation("the escrowed encryption key is neither RSA nor EC")
    return key


def _profile(
    authority: Authority,
    ready: _Ready,
    mail: MailServers | None,
    signing: tuple[Pkcs12Key, x509.Certificate],
    encryption: tuple[Pkcs12Key, x509.Certificate],
) -> Payload:
    person = ready.person
    org = person.department.organisation.name
    identifier = f"{profiles.device_identifier(person, ready.device.udid)}.smime"
    identities = []
    for role, (key, certificate) in (("signing", signing), ("encryption", encryption)):
        password = secrets.token_urlsafe(24)
        # Legacy PKCS#12 (3DES, SHA-1 MAC): what every iOS release imports; the profile's envelope protects it.
        der = export_pkcs12(key=key, certificate=certificate, chain=authority.chain_of(certificate),
                            password=password.encode(), legacy=True, friendly_name=person.email.encode())  # fmt: skip
        identities.append(pkcs12_payload(der, password=password, identifier=f"{identifier}.{role}",
                                         display_name=f"S/MIME {role} ({person.email})"))  # fmt: skip
    signing_payload, encryption_payload = identities
    account = None
    if mail is not None:
        account = mail_payload(
            mail,
            identifier=f"{identifier}.mail",
            email=person.email,
            account_name=person.name or person.username,
            username=person.email if authority.settings.mail_login == "email" else person.username,
            signing_identity_uuid=str(signing_payload["PayloadUUID"]),
            encryption_identity_uuid=str(encryption_payload["PayloadUUID"]),
            display_name=f"{org} mail",
        )
    return smime_profile(
        identifier=identifier,
        display_name=f"{org} S/MIME",
        organization=org,
        description=f"Signs and decrypts mail of {person.email} on this device.",
        signing=signing_payload,
        encryption=encryption_payload,
        mail=account,
        encrypted_to=ready.recipient,
    )
