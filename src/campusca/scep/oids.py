"""Object identifiers of SCEP (RFC 8894 §3.2.1, IANA "SCEP" registry) and the CMS/PKCS#9 ones it uses."""

from __future__ import annotations

from typing import Final


class ScepOID:
    """Dotted OIDs of the SCEP signed attributes and the few PKCS#9/CMS OIDs the codec reads."""

    # id-VeriSign 2.16.840.1.113733, id-pki 1, id-attributes 9 (RFC 8894 §3.2.1)
    MESSAGE_TYPE: Final = "2.16.840.1.113733.1.9.2"
    PKI_STATUS: Final = "2.16.840.1.113733.1.9.3"
    FAIL_INFO: Final = "2.16.840.1.113733.1.9.4"
    SENDER_NONCE: Final = "2.16.840.1.113733.1.9.5"
    RECIPIENT_NONCE: Final = "2.16.840.1.113733.1.9.6"
    TRANSACTION_ID: Final = "2.16.840.1.113733.1.9.7"
    # id-scep-failInfoText (RFC 8894 §3.2.1.4.1, id-pkix 24.1)
    FAIL_INFO_TEXT: Final = "1.3.6.1.5.5.7.24.1"
    # PKCS#9 challengePassword, carried in the PKCS#10 attributes (RFC 2985 §5.4.1)
    CHALLENGE_PASSWORD: Final = "1.2.840.113549.1.9.7"
    # CMS content types (RFC 5652 §4, §5.1)
    DATA: Final = "1.2.840.113549.1.7.1"
    SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
