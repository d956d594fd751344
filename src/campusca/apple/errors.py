"""Errors of the Apple configuration-profile codec (Apple Configuration Profile Reference, OTA guide).

AppleError
 ├── PayloadInvalid          a builder input breaks Apple's payload schema (range, shape, reference)
 ├── DeviceResponseInvalid   a device's Profile Service POST cannot be accepted
 │    ├── DeviceSignatureInvalid   the CMS signature over the attribute plist does not verify
 │    └── DeviceNotTrusted         the signer does not chain to one of the trusted device roots
 └── MdmMessageInvalid       an MDM check-in or report cannot be decoded
      └── MdmSignatureInvalid      its Mdm-Signature header is missing or does not verify

CMS failures while building (an unsupported recipient key, say) surface as `campusca.pki.errors.PkiError`.
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class AppleError(CampusCAError):
    """Base class of the Apple profile codec's errors."""


class PayloadInvalid(AppleError):
    """A payload or profile cannot be built because an input breaks Apple's schema."""


class DeviceResponseInvalid(AppleError):
    """A device's signed attribute response is malformed or unacceptable."""


class DeviceSignatureInvalid(DeviceResponseInvalid):
    """The CMS signature over a device's attribute plist does not verify (tampered content)."""


class DeviceNotTrusted(DeviceResponseInvalid):
    """The device's signing certificate does not chain to any trusted device root."""


class MdmMessageInvalid(AppleError):
    """A device's MDM check-in or report cannot be decoded."""


class MdmSignatureInvalid(MdmMessageInvalid):
    """A message's Mdm-Signature header is missing, malformed or does not verify over the body."""
