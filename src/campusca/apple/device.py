"""Profile Service device responses: the CMS-signed attribute plist an iPhone POSTs (Apple OTA guide, phase 2/3).

The body is CMS SignedData (BER, often indefinite lengths) whose content is an XML plist of upper-case
keys (UDID, SERIAL, …, CHALLENGE). The signature is always verified; the signer's chain is checked only
against roots the caller names, because phase 2 trusts Apple's device CA and phase 3 our own issuance.
"""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from campusca.apple.errors import DeviceNotTrusted, DeviceResponseInvalid, DeviceSignatureInvalid
from campusca.pki import cms
from campusca.pki.errors import CmsDecodeError, CmsSignatureInvalid, CmsUnsupportedAlgorithm

_ID_DATA = "1.2.840.113549.1.7.1"
_MAX_CHAIN_DEPTH = 8
# plist key -> DeviceAttributes field
_FIELDS = {
    "UDID": "udid",
    "IMEI": "imei",
    "MEID": "meid",
    "ICCID": "iccid",
    "SERIAL": "serial",
    "PRODUCT": "product",
    "VERSION": "version",
    "MAC_ADDRESS_EN0": "mac_address_en0",
    "DEVICE_NAME": "device_name",
    "CHALLENGE": "challenge",
}


@dataclass(frozen=True, slots=True)
class DeviceAttributes:
    """What a device reported, with the certificate that signed the report.

    `version` is the OS build (e.g. `21E236`), not the marketing version. `signed_by_trusted_root` is True
    only when trusted roots were given and the signer chains to one of them.
    """

    udid: str | None
    imei: str | None
    meid: str | None
    serial: str | None
    product: str | None
    version: str | None
    mac_address_en0: str | None
    device_name: str | None
    challenge: str | None
    signer_certificate: x509.Certificate
    signed_by_trusted_root: bool
    iccid: str | None = None


def parse_device_attributes(
    body: bytes, *, trusted_device_roots: Sequence[x509.Certificate] = ()
) -> DeviceAttributes:
    """Verify and decode a device's Profile Service POST body.

    Raises:
        DeviceResponseInvalid: the body is not CMS SignedData over an attribute plist.
        DeviceSignatureInvalid: the signature does not verify (content altered after signing).
        DeviceNotTrusted: `trusted_device_roots` is given and the signer does not chain to any of them.
    """
    try:
        message = cms.parse_signed_data(body)
    except CmsSignatureInvalid as exc:
        raise DeviceSignatureInvalid("device attributes signature does not verify") from exc
    except (CmsDecodeError, CmsUnsupportedAlgorithm) as exc:
        raise DeviceResponseInvalid(
            "device response body is not a CMS SignedData this codec accepts"
        ) from exc
    if message.content is None or message.content_type != _ID_DATA:
        raise DeviceResponseInvalid("device response must carry its attribute plist as id-data content")
    attributes = _load_attribute_plist(message.content)
    trusted = False
    if trusted_device_roots:
        if not _chains_to_root(message.signer_certificate, message.certificates, trusted_device_roots):
            raise DeviceNotTrusted("device signing certificate does not chain to a trusted device root")
        trusted = True
    values = {field: attributes.get(key) for key, field in _FIELDS.items()}
    return DeviceAttributes(
        **values, signer_certificate=message.signer_certificate, signed_by_trusted_root=trusted
    )


def _load_attribute_plist(content: bytes) -> dict[str, str]:
    try:
        document = plistlib.loads(content)
    except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise DeviceResponseInvalid("device response content is not a property list") from exc
    if not isinstance(document, dict):
        raise DeviceResponseInvalid("device response plist must be a dictionary")
    attributes: dict[str, str] = {}
    for key in _FIELDS:
        value = document.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DeviceResponseInvalid(f"device attribute {key} must be a string")
        attributes[key] = value
    return attributes


def _chains_to_root(
    leaf: x509.Certificate,
    bundle: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
) -> bool:
    """Return True when `leaf` chains through CA certificates of `bundle` to one of `roots`.

    Validity dates are not checked: Apple's device CA intermediate has expired while the devices it
    certified still sign with it (zentral disables time checks for the same reason), and this codec has
    no clock. Names, CA flags and signatures are checked at every step.
    """
    current = leaf
    used: set[bytes] = set()
    for _ in range(_MAX_CHAIN_DEPTH):
        if any(current == root or _issued_by(current, root) for root in roots):
            return True
        used.add(current.fingerprint(hashes.SHA256()))
        candidates = [
            cert
            for cert in bundle
            if cert.fingerprint(hashes.SHA256()) not in used and _issued_by(current, cert)
        ]
        if not candidates:
            return False
        current = candidates[0]
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject or not _is_ca(issuer):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca
