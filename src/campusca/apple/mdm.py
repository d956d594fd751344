"""Apple MDM wire format for a certificate-only MDM: the com.apple.mdm payload, check-in and command plists,
and the `Mdm-Signature` header (Apple device-management schemas mdm/profiles/com.apple.mdm, mdm/checkin,
mdm/commands; research on MDM in docs/mdm.md).

Pure codec: bytes in, frozen values out. Which certificate may sign for which device is the caller's
decision; this module only proves that the body was signed by the certificate the header carries.
"""

from __future__ import annotations

import base64
import binascii
import enum
import plistlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import cast
from xml.parsers.expat import ExpatError

from cryptography import x509

from campusca.apple.errors import MdmMessageInvalid, MdmSignatureInvalid, PayloadInvalid
from campusca.apple.types import Payload, PlistValue, payload_header
from campusca.pki import cms
from campusca.pki.errors import CmsDecodeError, CmsSignatureInvalid, CmsUnsupportedAlgorithm

TOPIC_PREFIX = "com.apple.mgmt."
# 1 inspect profiles + 2 install/remove profiles: what ProfileList, CertificateList and InstallProfile need.
ACCESS_RIGHTS_PROFILES = 3
COMMAND_CONTENT_TYPE = "application/xml; charset=utf-8"


def mdm_payload(
    *,
    identifier: str,
    server_url: str,
    check_in_url: str,
    topic: str,
    identity_payload_uuid: str,
    access_rights: int = ACCESS_RIGHTS_PROFILES,
    display_name: str = "Device management",
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.mdm` payload: signed check-ins by the SCEP identity `identity_payload_uuid`.

    SignMessage is always true (every message carries Mdm-Signature) and CheckOutWhenRemoved true, so
    removing the profile tells the server. Topic, ServerURL, CheckInURL must never change afterwards:
    iOS rejects an update of the payload that changes them.
    """
    for name, url in (("server_url", server_url), ("check_in_url", check_in_url)):
        if not isinstance(url, str) or not url.startswith("https://"):
            raise PayloadInvalid(f"{name} must be an https:// URL")
    if not isinstance(topic, str) or not topic.startswith(TOPIC_PREFIX):
        raise PayloadInvalid(f"topic must begin with {TOPIC_PREFIX!r}")
    if not isinstance(identity_payload_uuid, str) or not identity_payload_uuid:
        raise PayloadInvalid("identity_payload_uuid must be a non-empty string")
    # Apple: "Specify 1 if you specify 2"; 0 is forbidden; rights above 8191 do not exist.
    if isinstance(access_rights, bool) or not isinstance(access_rights, int) or not 0 < access_rights < 8192:
        raise PayloadInvalid("access_rights must be an integer between 1 and 8191")
    if access_rights & 2 and not access_rights & 1:
        raise PayloadInvalid("access_rights with 2 (install profiles) must include 1 (inspect profiles)")
    payload = payload_header(
        "com.apple.mdm", identifier=identifier, display_name=display_name, payload_uuid=payload_uuid
    )
    payload.update(
        {
            "IdentityCertificateUUID": identity_payload_uuid,
            "Topic": topic,
            "ServerURL": server_url,
            "CheckInURL": check_in_url,
            "SignMessage": True,
            "CheckOutWhenRemoved": True,
            "AccessRights": access_rights,
        }
    )
    return payload


class CheckinType(enum.StrEnum):
    """Check-in MessageType values this MDM answers (mdm/checkin)."""

    AUTHENTICATE = "Authenticate"
    TOKEN_UPDATE = "TokenUpdate"
    CHECK_OUT = "CheckOut"


class ReportStatus(enum.StrEnum):
    """The Status a device reports to the ServerURL (mdm/commands, common response keys)."""

    IDLE = "Idle"
    ACKNOWLEDGED = "Acknowledged"
    ERROR = "Error"
    COMMAND_FORMAT_ERROR = "CommandFormatError"
    NOT_NOW = "NotNow"


@dataclass(frozen=True, slots=True)
class CheckinMessage:
    """A device's check-in: Authenticate, TokenUpdate or CheckOut."""

    message_type: CheckinType
    udid: str
    topic: str
    token: bytes | None = None
    push_magic: str | None = None
    serial_number: str | None = None
    device_name: str | None = None


@dataclass(frozen=True, slots=True)
class ReportMessage:
    """A device's report to the ServerURL: its status, the command it answers, the answer's own keys."""

    udid: str
    status: ReportStatus
    command_uuid: str | None
    fields: Mapping[str, PlistValue] = field(default_factory=lambda: MappingProxyType({}))


def _load_dict(body: bytes, what: str) -> dict[str, PlistValue]:
    try:
        document = plistlib.loads(body)
    except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise MdmMessageInvalid(f"{what} body is not a property list") from exc
    if not isinstance(document, dict):
        raise MdmMessageInvalid(f"{what} plist must be a dictionary")
    return cast("dict[str, PlistValue]", document)


def _string(document: Mapping[str, PlistValue], key: str, what: str, *, required: bool = True) -> str | None:
    value = document.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise MdmMessageInvalid(f"{what} {key} must be a non-empty string")
    return value


def parse_checkin(body: bytes) -> CheckinMessage:
    """Decode a check-in plist; raises MdmMessageInvalid for an unknown MessageType or a missing key."""
    document = _load_dict(body, "check-in")
    kind = document.get("MessageType")
    try:
        message_type = CheckinType(kind)
    except ValueError:
        raise MdmMessageInvalid(f"check-in MessageType {kind!r} is not one this server answers") from None
    token = document.get("Token")
    if message_type is CheckinType.TOKEN_UPDATE and (not isinstance(token, bytes) or not token):
        raise MdmMessageInvalid("check-in Token must be non-empty data in a TokenUpdate")
    return CheckinMessage(
        message_type=message_type,
        udid=str(_string(document, "UDID", "check-in")),
        topic=str(_string(document, "Topic", "check-in")),
        token=token if isinstance(token, bytes) else None,
        push_magic=_string(
            document, "PushMagic", "check-in", required=message_type is CheckinType.TOKEN_UPDATE
        ),
        serial_number=_string(document, "SerialNumber", "check-in", required=False),
        device_name=_string(document, "DeviceName", "check-in", required=False),
    )


def parse_report(body: bytes) -> ReportMessage:
    """Decode a device's report to the ServerURL; a status other than Idle must name its CommandUUID."""
    document = _load_dict(body, "report")
    status_value = document.get("Status")
    try:
        status = ReportStatus(status_value)
    except ValueError:
        raise MdmMessageInvalid(f"report Status {status_value!r} is not an MDM status") from None
    command_uuid = _string(document, "CommandUUID", "report", required=status is not ReportStatus.IDLE)
    others = {k: v for k, v in document.items() if k not in ("Status", "CommandUUID", "UDID")}
    return ReportMessage(
        udid=str(_string(document, "UDID", "report")),
        status=status,
        command_uuid=command_uuid,
        fields=MappingProxyType(others),
    )


def command_plist(*, command_uuid: str, request_type: str, **keys: PlistValue) -> bytes:
    """Return the command plist the server answers with: {CommandUUID, Command: {RequestType, …keys}}."""
    if not command_uuid or not request_type:
        raise PayloadInvalid("command_uuid and request_type must be non-empty strings")
    command: dict[str, PlistValue] = {"RequestType": request_type, **keys}
    return plistlib.dumps({"CommandUUID": command_uuid, "Command": command}, fmt=plistlib.FMT_XML)


def install_profile_command(command_uuid: str, signed_profile: bytes) -> bytes:
    """InstallProfile (mdm/commands/profile.install): Payload is the signed .mobileconfig."""
    if not signed_profile:
        raise PayloadInvalid("signed_profile must not be empty")
    return command_plist(command_uuid=command_uuid, request_type="InstallProfile", Payload=signed_profile)


def certificate_list_command(command_uuid: str) -> bytes:
    """CertificateList (mdm/commands/certificate.list): every certificate with IsIdentity and Data."""
    return command_plist(command_uuid=command_uuid, request_type="CertificateList", ManagedOnly=False)


def verify_mdm_signature(header_value: str | None, body: bytes) -> x509.Certificate:
    """Return the certificate whose key signed `body`, proven by the `Mdm-Signature` header.

    The header is base64 of a detached CMS SignedData over the exact body bytes; the signer's certificate
    travels inside it. Raises MdmSignatureInvalid when the header is missing, undecodable, carries its own
    content, or does not verify over `body`.
    """
    if not header_value:
        raise MdmSignatureInvalid("Mdm-Signature header is missing")
    try:
        der = base64.b64decode("".join(header_value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MdmSignatureInvalid("Mdm-Signature header is not base64") from exc
    try:
        message = cms.parse_signed_data(der, detached_content=body)
    except CmsSignatureInvalid as exc:
        raise MdmSignatureInvalid("Mdm-Signature does not verify over the message body") from exc
    except (CmsDecodeError, CmsUnsupportedAlgorithm) as exc:
        raise MdmSignatureInvalid(
            "Mdm-Signature is not a detached CMS SignedData this codec accepts"
        ) from exc
    return message.signer_certificate


def certificate_list_entries(fields: Mapping[str, PlistValue]) -> list[x509.Certificate]:
    """Return the certificates a CertificateList answer names (entries that do not parse are skipped)."""
    entries = fields.get("CertificateList")
    if not isinstance(entries, list):
        raise MdmMessageInvalid("CertificateList answer must carry a CertificateList array")
    found: list[x509.Certificate] = []
    for entry in entries:
        data = entry.get("Data") if isinstance(entry, dict) else None
        if isinstance(data, bytes):
            try:
                found.append(x509.load_der_x509_certificate(data))
            except ValueError:
                continue
    return found
