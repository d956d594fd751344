"""Loading unencrypted PKCS#8 private keys (RFC 5958 OneAsymmetricKey / RFC 5208 PrivateKeyInfo)."""

from __future__ import annotations

from asn1crypto import keys as asn1_keys
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from campusca.escrow._codec import require_bytes
from campusca.escrow.errors import DecodeError


def load_pkcs8_private_key(der: bytes, what: str) -> PrivateKeyTypes:
    """Load an unencrypted PKCS#8 DER private key, rejecting PKCS#1, PEM and encrypted PKCS#8."""
    require_bytes(der, what)
    try:
        # cryptography also accepts traditional (PKCS#1/SEC1) DER; asn1crypto pins PKCS#8 first.
        info = asn1_keys.PrivateKeyInfo.load(der, strict=True)
        info["private_key_algorithm"]["algorithm"].native  # noqa: B018 - forces the lazy parse
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise DecodeError(f"{what} must be an unencrypted PKCS#8 DER private key") from None
