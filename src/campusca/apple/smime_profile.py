"""S/MIME on iOS: PKCS#12 identity payloads and Mail account S/MIME settings (com.apple.security.pkcs12,
com.apple.mail.managed; Apple device-management schemas).

A person's two identities (the escrowed encryption key and a signing key) travel as two
`com.apple.security.pkcs12` payloads inside a profile encrypted to the device; when the organisation names
its mail server, a `com.apple.mail.managed` account points SMIMESigningCertificateUUID and
SMIMEEncryptionCertificateUUID at them. The PKCS#12 passwords sit in the payloads, which is why such a
profile is only ever built encrypted (`configuration_profile(encrypted_to=…)`).
"""

from __future__ import annotations

from dataclasses import dataclass

from campusca.apple.errors import PayloadInvalid
from campusca.apple.types import Payload, check_int_range, new_payload_uuid, payload_header

_ACCOUNT_TYPES = ("EmailTypeIMAP", "EmailTypePOP")


@dataclass(frozen=True, slots=True)
class MailServer:
    """The organisation's mail servers, for the Mail account that uses the S/MIME identities."""

    incoming_host: str
    outgoing_host: str
    incoming_port: int = 993
    outgoing_port: int = 587
    account_type: str = "EmailTypeIMAP"
    use_ssl: bool = True


def pkcs12_payload(
    pkcs12: bytes,
    *,
    password: str,
    identifier: str,
    display_name: str,
    file_name: str,
    payload_uuid: str | None = None,
) -> Payload:
    """A `com.apple.security.pkcs12` payload: one identity, its password beside it (encrypted profiles only)."""
    if not pkcs12:
        raise PayloadInvalid("pkcs12 must not be empty")
    if not password:
        raise PayloadInvalid("password must not be empty (iOS cannot import an unprotected PKCS#12)")
    payload = payload_header(
        "com.apple.security.pkcs12",
        identifier=identifier,
        display_name=display_name,
        payload_uuid=payload_uuid or new_payload_uuid(),
    )
    payload["PayloadContent"] = pkcs12
    payload["Password"] = password
    payload["PayloadCertificateFileName"] = file_name
    return payload


def smime_mail_payload(
    server: MailServer,
    *,
    email: str,
    username: str,
    display_name: str,
    identifier: str,
    signing_uuid: str,
    encryption_uuid: str,
    encrypt_by_default: bool = False,
    payload_uuid: str | None = None,
) -> Payload:
    """A `com.apple.mail.managed` IMAP/POP account that signs and can encrypt with the two identities."""
    if server.account_type not in _ACCOUNT_TYPES:
        raise PayloadInvalid(f"account_type must be one of {', '.join(_ACCOUNT_TYPES)}")
    if "@" not in email:
        raise PayloadInvalid("email must be a mailbox address")
    check_int_range(server.incoming_port, field="incoming_port", low=1, high=65535)
    check_int_range(server.outgoing_port, field="outgoing_port", low=1, high=65535)
    payload = payload_header(
        "com.apple.mail.managed", identifier=identifier, display_name=display_name, payload_uuid=payload_uuid
    )
    payload.update(
        {
            "EmailAccountDescription": email,
            "EmailAccountName": display_name,
            "EmailAccountType": server.account_type,
            "EmailAddress": email,
            "IncomingMailServerAuthentication": "EmailAuthPassword",
            "IncomingMailServerHostName": server.incoming_host,
            "IncomingMailServerPortNumber": server.incoming_port,
            "IncomingMailServerUseSSL": server.use_ssl,
            "IncomingMailServerUsername": username,
            "OutgoingMailServerAuthentication": "EmailAuthPassword",
            "OutgoingMailServerHostName": server.outgoing_host,
            "OutgoingMailServerPortNumber": server.outgoing_port,
            "OutgoingMailServerUseSSL": server.use_ssl,
            "OutgoingMailServerUsername": username,
            # iOS 10+: SMIMEEnabled is ignored; signing and encryption are switched on one by one.
            "SMIMESigningEnabled": True,
            "SMIMESigningCertificateUUID": signing_uuid,
            "SMIMEEncryptionEnabled": True,
            "SMIMEEncryptionCertificateUUID": encryption_uuid,
            "SMIMEEncryptByDefault": encrypt_by_default,
            "SMIMEEnableEncryptionPerMessageSwitch": True,
        }
    )
    return payload
