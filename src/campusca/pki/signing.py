"""Capabilities a codec needs from a private key, without holding the key itself.

`cryptography`'s RSA and EC private key objects satisfy these protocols, and so do the
objects the PKCS#11 backend hands out; codecs type their parameters with them so they never
see where a key lives.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes


class Signer(Protocol):
    """Something that signs with a private key (an RSA or EC key, or an HSM handle)."""

    def public_key(self) -> CertificateIssuerPublicKeyTypes: ...

    def sign(self, data: bytes, *args: object) -> bytes: ...


class RsaDecrypter(Protocol):
    """Something that decrypts RSA key transport (PKCS#1 v1.5 or OAEP)."""

    def public_key(self) -> rsa.RSAPublicKey: ...

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes: ...


def sign_digest_args(
    public_key: CertificateIssuerPublicKeyTypes, algorithm: hashes.HashAlgorithm
) -> tuple[object, ...]:
    """Return the extra `sign()` arguments for a key type: PKCS#1 v1.5 for RSA, ECDSA for EC."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return (padding.PKCS1v15(), algorithm)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return (ec.ECDSA(algorithm),)
    raise TypeError("public key must be RSA or EC")
