"""Errors of the pure X.509/CMS codec.

PkiError
 ├── CsrInvalid              the CSR cannot be parsed or its signature does not verify
 ├── ProfileError            a certificate profile is unknown or inconsistent
 ├── OcspMalformedRequest    an OCSP request cannot be parsed (answered as malformedRequest)
 ├── CmsDecodeError          a CMS structure cannot be parsed
 ├── CmsSignatureInvalid     a CMS signature does not verify
 ├── CmsUnsupportedAlgorithm a CMS algorithm is not supported or not allowed
 ├── CmsDecryptionFailed     a CMS envelope cannot be decrypted with the given key
 ├── Pkcs12PasswordError     a PKCS#12 file's MAC does not verify with the given password
 └── Pkcs12DecodeError       a PKCS#12 file cannot be parsed or its bags cannot be decrypted
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class PkiError(CampusCAError):
    """Base class of the pki codec's errors."""


class CsrInvalid(PkiError):
    """The certificate signing request is malformed or its signature does not verify."""


class ProfileError(PkiError):
    """A certificate profile is unknown or cannot produce the requested certificate."""


class OcspMalformedRequest(PkiError):
    """An OCSP request cannot be parsed (RFC 6960 malformedRequest)."""


class CmsDecodeError(PkiError):
    """A CMS structure cannot be parsed."""


class CmsSignatureInvalid(PkiError):
    """A CMS signature does not verify."""


class CmsUnsupportedAlgorithm(PkiError):
    """A CMS algorithm is unknown or not allowed here."""


class CmsDecryptionFailed(PkiError):
    """A CMS envelope cannot be decrypted with the given key."""


class Pkcs12PasswordError(PkiError):
    """A PKCS#12 file's MAC does not verify with the given password."""


class Pkcs12DecodeError(PkiError):
    """A PKCS#12 file cannot be parsed, or its bags cannot be decrypted."""
