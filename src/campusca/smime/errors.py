"""Errors of the S/MIME codec (RFC 8551).

SmimeError
 ├── MalformedMessage          the MIME structure or the CMS inside it cannot be parsed
 ├── SignatureInvalid          the CMS signature does not verify over the signed content
 ├── CertificateNotTrusted     the signer certificate does not chain to a given trust root
 │    ├── CertificateExpired       it (or a CA above it) is outside its validity at the given time
 │    ├── CertificateRevoked       a CRL or OCSP response says it (or a CA above it) is revoked
 │    ├── RevocationUnknown        no usable CRL or OCSP response covers it, and one was required
 │    └── CertificateUnsuitable    its keyUsage or extendedKeyUsage does not allow this use
 ├── SenderMismatch            the signer's e-mail address is not the message's From: address
 ├── UnsupportedAlgorithm      a digest, cipher or key-transport algorithm is unknown or not allowed
 └── DecryptionFailed          no recipient info matches the key, or the content does not decrypt
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class SmimeError(CampusCAError):
    """Base class of the S/MIME codec's errors."""


class MalformedMessage(SmimeError):
    """The message is not well-formed MIME, or not the S/MIME structure the operation expects."""


class SignatureInvalid(SmimeError):
    """The signature does not verify: the content was changed or the signature is damaged."""


class CertificateNotTrusted(SmimeError):
    """The signer certificate cannot be validated up to one of the given trust roots."""


class CertificateExpired(CertificateNotTrusted):
    """A certificate of the path is expired or not yet valid at the validation time."""


class CertificateRevoked(CertificateNotTrusted):
    """A certificate of the path is revoked according to the CRLs or OCSP responses given."""


class RevocationUnknown(CertificateNotTrusted):
    """Revocation information was required but none of the given CRLs or OCSP responses covers a certificate."""


class CertificateUnsuitable(CertificateNotTrusted):
    """A certificate's keyUsage or extendedKeyUsage does not allow S/MIME signing or encryption."""


class SenderMismatch(SmimeError):
    """The signer certificate's e-mail addresses do not include the message's From: address."""


class UnsupportedAlgorithm(SmimeError):
    """An algorithm of the message is unknown, or not allowed by the caller."""


class DecryptionFailed(SmimeError):
    """The enveloped content cannot be decrypted with the given recipient key."""
