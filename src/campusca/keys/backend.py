"""The key backend seam: where CA, RA and OCSP private keys live is hidden behind `KeyBackend`."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes


class KeyType(StrEnum):
    """Key algorithms campusca generates, as named on the command line."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("rsa")


def generate_private_key(key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
    """Generate a fresh key pair of the given type in process memory."""
    if key_type.is_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.value.split("-")[1]))
    curve: ec.EllipticCurve = ec.SECP256R1() if key_type is KeyType.EC_P256 else ec.SECP384R1()
    return ec.generate_private_key(curve)


class KeyBackend(Protocol):
    """Creates and hands out private keys by label; callers never learn where they live.

    The objects returned by `signer` satisfy `campusca.pki.signing.Signer` (and `RsaDecrypter`
    for RSA keys), which is all a codec needs.
    """

    name: str

    def generate(self, label: str, key_type: KeyType) -> CertificateIssuerPrivateKeyTypes: ...

    def signer(self, label: str) -> CertificateIssuerPrivateKeyTypes: ...

    def exists(self, label: str) -> bool: ...

    def destroy(self, label: str) -> bool:
        """Destroy the key for good (no copy left in the backend); False when there was none."""
        ...
