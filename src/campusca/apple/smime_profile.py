"""S/MIME on an iPhone: PKCS#12 identity payloads and the Mail account that uses them (com.apple.security.pkcs12,
com.apple.mail.managed schemas), gathered into one profile encrypted to the device.

The profile carries private keys, so it is always encrypted (TopLevel `EncryptedPayloadContent`, CMS to the
device's own certificate): each PKCS#12 then holds its password in the payload's `Password` key, as
Apple's schema provides, and the person is never asked for one. A Mail payload is optional: it creates
an account on the phone, so it is only worth sending when the institution describes its mail servers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509

from campusca.apple.errors import PayloadInvalid
from campusca.apple.profile import configuration_profile
from campusca.apple.types import Payload, check_int_range, payload_header

INCOMING_PROTOCOLS = {"imap": "EmailTypeIMAP", "pop": "EmailTypePOP"}
_UUID = re.compile(r"^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class MailServers:
    """The institution's mail servers as an iPhone's Mail account needs them (passwords are asked on the phone)."""

    incoming_host: str
    outgoing_host: str
    incoming_protocol: str = "imap"  # imap | pop
    incoming_port: int | None = None  # None: the protocol's default port
    outgoing_port: int | None = None  # None: iOS tries 25, 587 and 465
    use_ssl: bool = True
    account_description: str | None = None


def pkcs12_payload(
    pkcs12: bytes,
    *,
    password: str,
    identifier: str,
    display_name: str,
    file_name: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.security.pkcs12` payload: one identity and the password that opens it.

    Only for encrypted profiles: the password travels in the payload, so the profile's CMS envelope is
    what protects the key.
    """
    if not isinstance(pkcs12, bytes) or not pkcs12:
        raise PayloadInvalid("pkcs12 must be the non-empty DER bytes of a PKCS#12 file")
    if not password:
        raise PayloadInvalid("password must not be empty (iOS would prompt the user for one)")
    payload = payload_header(
        "com.apple.security.pkcs12",
        identifier=identifier,
        display_name=display_name,
        payload_uuid=payload_uuid,
    )
    payload["PayloadCertificateFileName"] = file_name or f"{identifier.rsplit('.', 1)[-1]}.p12"
    payload["PayloadContent"] = pkcs12
    payload["Password"] = password
    return payload


def mail_payload(
    servers: MailServers,
    *,
    identifier: str,
    email: str,
    account_name: str,
    username: str,
    signing_identity_uuid: str,
    encryption_identity_uuid: str,
    display_name: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.mail.managed` payload whose S/MIME settings name the two identity payloads.

    Signing is on (the person may turn it off); encryption is available, off by default, with the
    per-message switch, because a message can only be encrypted to recipients whose certificates are known.
    """
    protocol = INCOMING_PROTOCOLS.get(servers.incoming_protocol)
    if protocol is None:
        raise PayloadInvalid("incoming_protocol must be imap or pop")
    for field, host in (("incoming_host", servers.incoming_host), ("outgoing_host", servers.outgoing_host)):
        if not isinstance(host, str) or not _HOST.match(host):
            raise PayloadInvalid(f"{field} must be a host name such as 'imap.example.edu'")
    for field, uuid in (
        ("signing_identity_uuid", signing_identity_uuid),
        ("encryption_identity_uuid", encryption_identity_uuid),
    ):
        if not isinstance(uuid, str) or not _UUID.match(uuid):
            raise PayloadInvalid(f"{field} must be the PayloadUUID of an identity payload")
    if "@" not in email:
        raise PayloadInvalid("email must be an e-mail address")
    payload = payload_header(
        "com.apple.mail.managed",
        identifier=identifier,
        display_name=display_name if display_name is not None else "Mail",
        payload_uuid=payload_uuid,
    )
    payload |= {
        "EmailAccountType": protocol,
        "EmailAccountDescription": servers.account_description or email,
        "EmailAccountName": account_name,
        "EmailAddress": email,
        "IncomingMailServerHostName": servers.incoming_host,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerUseSSL": bool(servers.use_ssl),
        "IncomingMailServerUsername": username,
        "OutgoingMailServerHostName": servers.outgoing_host,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerUseSSL": bool(servers.use_ssl),
        "OutgoingMailServerUsername": username,
        "SMIMESigningEnabled": True,
        "SMIMESigningUserOverrideable": True,
        "SMIMESigningCertificateUUID": signing_identity_uuid,
        "SMIMEEncryptionEnabled": True,
        "SMIMEEncryptionCertificateUUID": encryption_identity_uuid,
        "SMIMEEncryptByDefault": False,
        "SMIMEEncryptByDefaultUserOverrideable": True,
        "SMIMEEnableEncryptionPerMessageSwitch": True,
    }
    for key, value in (
        ("IncomingMailServerPortNumber", servers.incoming_port),
        ("OutgoingMailServerPortNumber", servers.outgoing_port),
    ):
        if value is not None:
            payload[key] = check_int_range(value, field=key, low=1, high=65535)
    return payload


def smime_profile(
    *,
    identifier: str,
    display_name: str,
    organization: str,
    description: str,
    signing: Payload,
    encryption: Payload,
    mail: Payload | None,
    encrypted_to: x509.Certificate,
    payload_uuid: str | None = None,
) -> Payload:
    """Return the encrypted profile: the signing identity, the encryption identity, then the Mail account.

    Keep `identifier` stable per device: installing a new profile then replaces the old one, and its
    identities with it, instead of adding a second pair.
    """
    for name, payload in (("signing", signing), ("encryption", encryption)):
        if payload.get("PayloadType") != "com.apple.security.pkcs12":
            raise PayloadInvalid(f"{name} must be a com.apple.security.pkcs12 payload")
    payloads = [signing, encryption]
    if mail is not None:
        if mail.get("PayloadType") != "com.apple.mail.managed":
            raise PayloadInvalid("mail must be a com.apple.mail.managed payload")
        if (mail.get("SMIMESigningCertificateUUID"), mail.get("SMIMEEncryptionCertificateUUID")) != (
            signing.get("PayloadUUID"),
            encryption.get("PayloadUUID"),
        ):
            raise PayloadInvalid(
                "mail S/MIME certificate UUIDs must name the signing and encryption payloads"
            )
        payloads.append(mail)
    return configuration_profile(
        payloads=payloads,
        identifier=identifier,
        display_name=display_name,
        organization=organization,
        description=description,
        encrypted_to=encrypted_to,
        payload_uuid=payload_uuid,
    )
