"""Value types of the CMS codec (RFC 5652, RFC 5083): ciphers, key transports and results."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509


class ContentCipher(enum.Enum):
    """Content-encryption algorithms; the value is the algorithm's OID (dotted)."""

    AES_128_CBC = "2.16.840.1.101.3.4.1.2"
    AES_192_CBC = "2.16.840.1.101.3.4.1.22"
    AES_256_CBC = "2.16.840.1.101.3.4.1.42"
    DES_EDE3_CBC = "1.2.840.113549.3.7"
    DES_CBC = "1.3.14.3.2.7"
    AES_128_GCM = "2.16.840.1.101.3.4.1.6"
    AES_256_GCM = "2.16.840.1.101.3.4.1.46"

    @property
    def key_size(self) -> int:
        """Length of the content-encryption key in bytes."""
        return _KEY_SIZES[self]

    @property
    def is_aead(self) -> bool:
        """True for the AES-GCM ciphers, which travel in AuthEnvelopedData (RFC 5083)."""
        return self in (ContentCipher.AES_128_GCM, ContentCipher.AES_256_GCM)


_KEY_SIZES = {
    ContentCipher.AES_128_CBC: 16,
    ContentCipher.AES_192_CBC: 24,
    ContentCipher.AES_256_CBC: 32,
    ContentCipher.DES_EDE3_CBC: 24,
    ContentCipher.DES_CBC: 8,
    ContentCipher.AES_128_GCM: 16,
    ContentCipher.AES_256_GCM: 32,
}

# RFC 8894 §3.5.2 forbids single DES; a caller who must talk to an old SCEP client opts in.
DEFAULT_ALLOWED: frozenset[ContentCipher] = frozenset(
    c for c in ContentCipher if c is not ContentCipher.DES_CBC
)


class KeyTransport(enum.Enum):
    """RSA key-transport schemes of a KeyTransRecipientInfo (RFC 3370 §4.2, RFC 3560)."""

    RSA_PKCS1V15 = "rsa-pkcs1v15"
    RSA_OAEP_SHA1 = "rsa-oaep-sha1"
    RSA_OAEP_SHA256 = "rsa-oaep-sha256"


class KeyAgreement(enum.Enum):
    """ECDH key-agreement schemes of a KeyAgreeRecipientInfo (RFC 5753 §7.1.4); the value is the OID."""

    ECDH_SHA1_KDF = "1.3.133.16.840.63.0.2"  # dhSinglePass-stdDH-sha1kdf-scheme (OpenSSL 3.0's default)
    ECDH_SHA224_KDF = "1.3.132.1.11.0"
    ECDH_SHA256_KDF = "1.3.132.1.11.1"  # dhSinglePass-stdDH-sha256kdf-scheme (what we write)
    ECDH_SHA384_KDF = "1.3.132.1.11.2"
    ECDH_SHA512_KDF = "1.3.132.1.11.3"


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """A SignedData whose signature has been verified with the embedded signer certificate.

    The certificate chain is *not* validated: callers decide whom to trust. `content` is None
    when the SignedData carried no eContent and no detached content was supplied; the message
    digest was then checked against the empty string (SCEP failure CertReps, RFC 8894 §3.3.2).
    """

    content: bytes | None
    content_type: str
    signer_certificate: x509.Certificate
    certificates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    signed_attributes: Mapping[str, tuple[bytes, ...]]  # each value's DER, by attribute type
    digest_algorithm: str
    signing_time: datetime | None


@dataclass(frozen=True, slots=True)
class DecryptedContent:
    """The plaintext of an EnvelopedData/AuthEnvelopedData and the algorithms that protected it.

    `key_transport` is set for an RSA recipient (KeyTransRecipientInfo), `key_agreement` for an EC one
    (KeyAgreeRecipientInfo).
    """

    content: bytes
    cipher: ContentCipher
    key_transport: KeyTransport | None
    key_agreement: KeyAgreement | None = None
