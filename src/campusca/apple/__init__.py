"""Apple configuration profiles: payload builders, Profile Service, signing and encryption (Apple OTA guide).

Pure codec: bytes and dictionaries in, bytes and dictionaries out; CMS comes from `campusca.pki.cms`.
"""

from __future__ import annotations

from campusca.apple.device import DeviceAttributes, parse_device_attributes
from campusca.apple.errors import (
    AppleError,
    DeviceNotTrusted,
    DeviceResponseInvalid,
    DeviceSignatureInvalid,
    MdmMessageInvalid,
    MdmSignatureInvalid,
    PayloadInvalid,
)
from campusca.apple.final import final_profile
from campusca.apple.mdm import (
    ACCESS_RIGHTS_PROFILES,
    COMMAND_CONTENT_TYPE,
    TOPIC_PREFIX,
    CheckinMessage,
    CheckinType,
    ReportMessage,
    ReportStatus,
    certificate_list_command,
    certificate_list_entries,
    install_profile_command,
    mdm_payload,
    parse_checkin,
    parse_report,
    verify_mdm_signature,
)
from campusca.apple.payloads import (
    certificate_payloads,
    passcode_policy_payload,
    pkcs1_certificate_payload,
    root_certificate_payload,
    scep_payload,
    subject_from_name,
)
from campusca.apple.profile import (
    CONTENT_TYPE,
    DEFAULT_DEVICE_ATTRIBUTES,
    configuration_profile,
    profile_service_payload,
    serialize_profile,
    sign_profile,
)
from campusca.apple.smime_profile import MailServers, mail_payload, pkcs12_payload, smime_profile
from campusca.apple.types import Payload, PlistValue, new_payload_uuid
from campusca.apple.vpn import (
    DeadPeerDetectionRate,
    EncryptionAlgorithm,
    IntegrityAlgorithm,
    SecurityAssociationParameters,
    ikev2_vpn_payload,
)

__all__ = [
    "ACCESS_RIGHTS_PROFILES",
    "COMMAND_CONTENT_TYPE",
    "TOPIC_PREFIX",
    "CheckinMessage",
    "CheckinType",
    "MdmMessageInvalid",
    "MdmSignatureInvalid",
    "ReportMessage",
    "ReportStatus",
    "certificate_list_command",
    "certificate_list_entries",
    "install_profile_command",
    "mdm_payload",
    "parse_checkin",
    "parse_report",
    "verify_mdm_signature",
    "CONTENT_TYPE",
    "DEFAULT_DEVICE_ATTRIBUTES",
    "AppleError",
    "DeadPeerDetectionRate",
    "DeviceAttributes",
    "DeviceNotTrusted",
    "DeviceResponseInvalid",
    "DeviceSignatureInvalid",
    "EncryptionAlgorithm",
    "IntegrityAlgorithm",
    "MailServers",
    "Payload",
    "PayloadInvalid",
    "PlistValue",
    "SecurityAssociationParameters",
    "certificate_payloads",
    "configuration_profile",
    "final_profile",
    "ikev2_vpn_payload",
    "mail_payload",
    "new_payload_uuid",
    "parse_device_attributes",
    "passcode_policy_payload",
    "pkcs1_certificate_payload",
    "pkcs12_payload",
    "profile_service_payload",
    "root_certificate_payload",
    "scep_payload",
    "serialize_profile",
    "sign_profile",
    "smime_profile",
    "subject_from_name",
]
