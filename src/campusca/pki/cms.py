"""Shared CMS primitives (RFC 5652, RFC 5083/5084) for SCEP, S/MIME and Apple profiles.

SignedData is built and verified (RSA PKCS#1 v1.5 and ECDSA; SHA-1/256/384/512), degenerate
certs-only SignedData is built and read, and EnvelopedData/AuthEnvelopedData is built and
decrypted with RSA key transport (PKCS#1 v1.5 or OAEP) or ECDH key agreement (RFC 5753).
Parsers accept BER (indefinite lengths) as well as DER; builders emit DER. Chain validation is
the caller's business.
"""

from __future__ import annotations

from campusca.pki._cms_der import content_type_of
from campusca.pki._cms_enveloped import RecipientKey, build_enveloped_data, decrypt_enveloped_data
from campusca.pki._cms_kari import EcKeyAgreer
from campusca.pki._cms_signed import (
    build_certs_only,
    build_signed_data,
    encapsulated_content,
    parse_certs_only,
    parse_signed_data,
)
from campusca.pki._cms_types import (
    DEFAULT_ALLOWED,
    ContentCipher,
    DecryptedContent,
    KeyAgreement,
    KeyTransport,
    SignedMessage,
)
from campusca.pki._der import attribute, tlv

__all__ = [
    "DEFAULT_ALLOWED",
    "attribute",
    "tlv",
    "ContentCipher",
    "DecryptedContent",
    "EcKeyAgreer",
    "KeyAgreement",
    "KeyTransport",
    "RecipientKey",
    "SignedMessage",
    "build_certs_only",
    "build_enveloped_data",
    "build_signed_data",
    "content_type_of",
    "encapsulated_content",
    "decrypt_enveloped_data",
    "parse_certs_only",
    "parse_signed_data",
]
