"""The phone's side of Apple OTA enrollment for tests: signed attribute plists, a fake Apple device CA, opening profiles.

An iPhone POSTs its attributes as CMS SignedData in BER with indefinite lengths and its content in a
chunked, constructed OCTET STRING (Apple's SecCMS streams its encoder); `sign_device_attributes` rebuilds
that shape from the DER `campusca.pki.cms` writes so the server's parser sees what a phone sends.
"""

from __future__ import annotations

import plistlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from campusca.pki import cms

_CHUNK = 256  # Apple's streaming encoder splits eContent into primitive OCTET STRING segments


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """A fake Apple device identity: root, an already expired intermediate (as Apple's is), the device."""

    root_certificate: x509.Certificate
    ca_certificate: x509.Certificate
    device_key: rsa.RSAPrivateKey
    device_certificate: x509.Certificate
    udid: str


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def issue_test_certificate(
    *,
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer_key: rsa.RSAPrivateKey | None = None,
    issuer: x509.Certificate | None = None,
    ca: bool | None = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
) -> x509.Certificate:
    """Return a certificate for `key` named CN=`subject`, self-signed unless `issuer`/`issuer_key` are given.

    `ca=None` leaves out basicConstraints altogether (a malformed would-be issuer).
    """
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    usage = dict.fromkeys(
        ("content_commitment", "data_encipherment", "key_agreement", "encipher_only", "decipher_only"), False
    )
    if ca:
        usage |= {
            "digital_signature": True,
            "key_encipherment": False,
            "key_cert_sign": True,
            "crl_sign": True,
        }
    else:
        usage |= {
            "digital_signature": True,
            "key_encipherment": True,
            "key_cert_sign": False,
            "crl_sign": False,
        }
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    return builder.sign(issuer_key or key, hash_algorithm or hashes.SHA256())


def make_device_identity(udid: str = "00008110-000A1B2C3D4E5F60") -> DeviceIdentity:
    """Return a fake "Apple iPhone Device CA" hierarchy and a device certificate named by its UDID.

    Like Apple's real one, the intermediate has expired (device certificates outlive it), so a verifier
    that checks validity dates would reject every genuine phone.
    """
    root_key, ca_key, device_key = new_rsa_key(), new_rsa_key(), new_rsa_key()
    now = datetime.now(UTC)
    root = issue_test_certificate(subject="Test Apple iPhone Certification Authority", key=root_key, ca=True)
    ca = issue_test_certificate(
        subject="Test Apple iPhone Device CA",
        key=ca_key,
        issuer=root,
        issuer_key=root_key,
        ca=True,
        not_before=now - timedelta(days=3650),
        not_after=now - timedelta(days=30),
    )
    device = issue_test_certificate(subject=udid, key=device_key, issuer=ca, issuer_key=ca_key)
    return DeviceIdentity(root, ca, device_key, device, udid)


def sign_device_attributes(
    attrs: Mapping[str, object],
    *,
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    digest_algorithm: str = "sha256",
) -> bytes:
    """Return what an iPhone POSTs to the Profile Service URL: its attribute plist, CMS-signed, in BER."""
    content = plistlib.dumps(dict(attrs), fmt=plistlib.FMT_XML)
    der = cms.build_signed_data(
        content,
        signer=key,
        signer_certificate=certificate,
        certificates=list(chain),
        digest_algorithm=digest_algorithm,
    )
    return to_indefinite_ber(der)


def open_final_profile(
    signed_profile_der: bytes, *, device_key: rsa.RSAPrivateKey, device_certificate: x509.Certificate
) -> dict[str, Any]:
    """Verify a signed profile, decrypt EncryptedPayloadContent with the device key, return the profile plist.

    The result has `PayloadContent` (the decrypted payload array) instead of the envelope, which is what
    iOS installs.
    """
    message = cms.parse_signed_data(signed_profile_der)
    if message.content is None:
        raise ValueError("signed profile carries no content")
    profile: dict[str, Any] = plistlib.loads(message.content)
    envelope = profile.pop("EncryptedPayloadContent", None)
    if envelope is not None:
        decrypted = cms.decrypt_enveloped_data(
            envelope, recipient_certificate=device_certificate, decrypter=device_key
        )
        profile["PayloadContent"] = plistlib.loads(decrypted.content)
        profile.pop("IsEncrypted", None)
    return profile


# --- DER -> BER with indefinite lengths, in the shape Apple's SecCMS encoder writes ------------------------


def to_indefinite_ber(der: bytes) -> bytes:
    """Re-encode a DER ContentInfo(SignedData) with indefinite lengths and a chunked eContent.

    Certificates and SignerInfos stay DER inside their (indefinite) containers, as on a phone: they are
    copied, not re-encoded.
    """
    oid, explicit = _children(der)
    (signed_data,) = _children(explicit)
    parts = _children(signed_data)
    rebuilt = []
    for index, part in enumerate(parts):
        tag = part[0]
        if tag == 0x30:  # encapContentInfo
            content_type, *econtent = _children(part)
            inner = content_type
            if econtent:
                (octets,) = _children(econtent[0])
                inner += _indefinite(0xA0, _chunked_octet_string(_value(octets)))
            rebuilt.append(_indefinite(0x30, inner))
        elif tag == 0xA0 or (tag == 0x31 and index == len(parts) - 1):  # certificates, signerInfos
            rebuilt.append(_indefinite(tag, b"".join(_children(part))))
        else:
            rebuilt.append(part)
    return _indefinite(0x30, oid + _indefinite(0xA0, _indefinite(0x30, b"".join(rebuilt))))


def _indefinite(tag: int, content: bytes) -> bytes:
    return bytes([tag | 0x20, 0x80]) + content + b"\x00\x00"


def _chunked_octet_string(data: bytes) -> bytes:
    chunks = b"".join(_tlv(0x04, data[i : i + _CHUNK]) for i in range(0, len(data), _CHUNK))
    return _indefinite(0x24, chunks)


def _tlv(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded + value


def _header(data: bytes, offset: int) -> tuple[int, int]:
    """Return (header length, value length) of the DER TLV at `offset` (single-byte tags only)."""
    first = data[offset + 1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(data[offset + 2 : offset + 2 + count], "big")


def _value(tlv: bytes) -> bytes:
    header, length = _header(tlv, 0)
    return tlv[header : header + length]


def _children(tlv: bytes) -> list[bytes]:
    """Return the complete child TLVs of a constructed DER TLV."""
    value = _value(tlv)
    children, offset = [], 0
    while offset < len(value):
        header, length = _header(value, offset)
        children.append(value[offset : offset + header + length])
        offset += header + length
    return children
