"""Configuration profiles: Profile Service, top-level profile, encryption and signing (Apple OTA guide, TopLevel).

An encrypted profile carries its payload array, serialized alone as a plist, CMS-enveloped to the device's
certificate in `EncryptedPayloadContent`; the whole profile is then CMS-signed (research §2.5, §2.6).
"""

from __future__ import annotations

import plistlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.apple.errors import PayloadInvalid
from campusca.apple.types import Payload, PlistValue, check_identifier, payload_header
from campusca.pki import cms
from campusca.pki.signing import Signer

CONTENT_TYPE = "application/x-apple-aspen-config"

DEFAULT_DEVICE_ATTRIBUTES = (
    "UDID",
    "IMEI",
    "ICCID",
    "VERSION",
    "PRODUCT",
    "SERIAL",
    "MAC_ADDRESS_EN0",
    "DEVICE_NAME",
    "MEID",
)
# Attributes a device may be asked for (OTA guide; commandment, micromdm).
_KNOWN_DEVICE_ATTRIBUTES = frozenset(
    {*DEFAULT_DEVICE_ATTRIBUTES, "MODEL", "COMPROMISED", "DeviceID", "IMSI"},
)
# Apple's CMS decoder handles AES-CBC and 3DES; AES-128-CBC is what OTA servers commonly send (research §2.5).
PROFILE_CIPHER = cms.ContentCipher.AES_128_CBC


def profile_service_payload(
    *,
    url: str,
    challenge: str,
    identifier: str,
    display_name: str,
    organization: str,
    description: str | None = None,
    attributes: Sequence[str] = DEFAULT_DEVICE_ATTRIBUTES,
    payload_uuid: str | None = None,
) -> Payload:
    """Return the phase-1 profile: top-level PayloadType "Profile Service" whose PayloadContent is a dict.

    The device POSTs the requested attributes, plus `challenge` echoed as CHALLENGE, CMS-signed to `url`.
    """
    if not url.startswith("https://"):
        raise PayloadInvalid("url must be an https:// URL (the device posts its identifiers there)")
    if not challenge:
        raise PayloadInvalid("challenge must not be empty")
    if not attributes or isinstance(attributes, str):
        raise PayloadInvalid("attributes must be a non-empty list of device attribute names")
    unknown = sorted(set(attributes) - _KNOWN_DEVICE_ATTRIBUTES)
    if unknown:
        raise PayloadInvalid(f"attributes entry {unknown[0]!r} is not a device attribute iOS reports")
    profile = payload_header(
        "Profile Service",
        identifier=identifier,
        display_name=display_name,
        description=description,
        organization=organization,
        payload_uuid=payload_uuid,
    )
    profile["PayloadContent"] = {
        "URL": url,
        "DeviceAttributes": list(dict.fromkeys(attributes)),
        "Challenge": challenge,
    }
    return profile


def configuration_profile(
    *,
    payloads: Sequence[Payload],
    identifier: str,
    display_name: str,
    organization: str,
    description: str,
    expiration_date: datetime | None = None,
    removal_date: datetime | None = None,
    encrypted_to: x509.Certificate | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a top-level `Configuration` profile holding `payloads`, encrypted when `encrypted_to` is given.

    Checks what iOS would refuse: duplicate PayloadIdentifier/PayloadUUID inside the profile and a
    PayloadCertificateUUID that names no payload of the same profile. `expiration_date` becomes
    PayloadExpirationDate (iOS offers an update after it), `removal_date` RemovalDate; both must be aware.
    """
    if not payloads:
        raise PayloadInvalid("payloads must not be empty")
    _check_payload_set(payloads)
    profile = payload_header(
        "Configuration",
        identifier=identifier,
        display_name=display_name,
        description=description,
        organization=organization,
        payload_uuid=payload_uuid,
    )
    for key, value in (("PayloadExpirationDate", expiration_date), ("RemovalDate", removal_date)):
        if value is not None:
            profile[key] = _utc(value, key)
    content: list[PlistValue] = [dict(p) for p in payloads]
    if encrypted_to is None:
        profile["PayloadContent"] = content
        return profile
    if not isinstance(encrypted_to.public_key(), rsa.RSAPublicKey):
        raise PayloadInvalid("encrypted_to must carry an RSA key (iOS enrols RSA identities by SCEP)")
    # TopLevel: with IsEncrypted the PayloadContent array is replaced by its CMS envelope (research §2.5).
    profile["IsEncrypted"] = True
    profile["EncryptedPayloadContent"] = cms.build_enveloped_data(
        _dump_plist(content),
        [encrypted_to],
        cipher=PROFILE_CIPHER,
        key_transport=cms.KeyTransport.RSA_PKCS1V15,
    )
    return profile


def serialize_profile(profile: Payload) -> bytes:
    """Return the profile as an XML plist (what a `.mobileconfig` holds before signing)."""
    return _dump_plist(profile)


def sign_profile(
    profile: Payload,
    *,
    signer: Signer,
    signer_certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Return the profile as DER CMS SignedData over its XML plist, served as `application/x-apple-aspen-config`.

    `chain` holds the intermediates (and optionally the root) so iOS can show the profile as verified.
    """
    return cms.build_signed_data(
        serialize_profile(profile),
        signer=signer,
        signer_certificate=signer_certificate,
        certificates=list(chain),
    )


def _check_payload_set(payloads: Sequence[Payload]) -> None:
    identifiers: set[PlistValue] = set()
    uuids: set[PlistValue] = set()
    for payload in payloads:
        if not isinstance(payload, dict):
            raise PayloadInvalid("payloads entries must be payload dictionaries")
        identifier, uuid = payload.get("PayloadIdentifier"), payload.get("PayloadUUID")
        if not isinstance(identifier, str) or not isinstance(uuid, str):
            raise PayloadInvalid("each payload must have a PayloadIdentifier and a PayloadUUID string")
        check_identifier(identifier, field="PayloadIdentifier")
        if identifier in identifiers:
            raise PayloadInvalid(f"PayloadIdentifier {identifier!r} appears twice in the profile")
        if uuid in uuids:
            raise PayloadInvalid(f"PayloadUUID {uuid!r} appears twice in the profile")
        identifiers.add(identifier)
        uuids.add(uuid)
    for payload in payloads:
        for reference in _certificate_references(payload):
            if reference not in uuids:
                raise PayloadInvalid("PayloadCertificateUUID must name a payload of the same profile")


def _certificate_references(value: PlistValue) -> Iterator[PlistValue]:
    """Yield every PayloadCertificateUUID value nested anywhere in a payload."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "PayloadCertificateUUID":
                yield item
            else:
                yield from _certificate_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _certificate_references(item)


def _utc(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise PayloadInvalid(f"{field} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def _plist_ready(value: PlistValue) -> PlistValue:
    """Return `value` with aware datetimes turned into the naive UTC ones plistlib (3.11) writes as Z."""
    if isinstance(value, datetime):
        return _utc(value, "date").replace(tzinfo=None)
    if isinstance(value, dict):
        return {key: _plist_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plist_ready(item) for item in value]
    return value


def _dump_plist(value: PlistValue) -> bytes:
    try:
        return plistlib.dumps(_plist_ready(value), fmt=plistlib.FMT_XML, sort_keys=True)
    except (TypeError, OverflowError) as exc:
        raise PayloadInvalid("profile holds a value a property list cannot represent") from exc
