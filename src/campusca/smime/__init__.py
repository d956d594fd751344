"""S/MIME codec (RFC 8551): sign, verify, encrypt and decrypt RFC 5322 messages; bytes in, bytes out."""

from __future__ import annotations

from campusca.pki.cms import ContentCipher, KeyTransport
from campusca.smime.envelope import decrypt_cms, decrypt_message, encrypt_message
from campusca.smime.errors import (
    CertificateExpired,
    CertificateNotTrusted,
    CertificateRevoked,
    CertificateUnsuitable,
    DecryptionFailed,
    MalformedMessage,
    RevocationUnknown,
    SenderMismatch,
    SignatureInvalid,
    SmimeError,
    UnsupportedAlgorithm,
)
from campusca.smime.layers import OpenedMessage, bare_cms, open_message
from campusca.smime.sign import sign_message
from campusca.smime.verify import VerifiedMessage, verify_message

__all__ = [
    "CertificateExpired",
    "CertificateNotTrusted",
    "CertificateRevoked",
    "CertificateUnsuitable",
    "ContentCipher",
    "DecryptionFailed",
    "KeyTransport",
    "MalformedMessage",
    "OpenedMessage",
    "RevocationUnknown",
    "SenderMismatch",
    "SignatureInvalid",
    "SmimeError",
    "UnsupportedAlgorithm",
    "VerifiedMessage",
    "bare_cms",
    "decrypt_cms",
    "decrypt_message",
    "encrypt_message",
    "open_message",
    "sign_message",
    "verify_message",
]
