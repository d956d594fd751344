"""An escrow domain's RSA key pair: archive records are wrapped to its public key (DESIGN §5)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.escrow._keys import load_pkcs8_private_key
from campusca.escrow.errors import InvalidParameter
from campusca.pki.signing import RsaDecrypter

DEFAULT_DOMAIN_KEY_SIZE = 3072
MIN_DOMAIN_KEY_SIZE = 2048


@dataclass(frozen=True, slots=True)
class EscrowDomainKey:
    """An escrow domain's RSA key pair, held as unencrypted PKCS#8 DER.

    In simple mode the key backend stores `private_key_der`; in quorum mode it exists only while a
    quorum of recovery agents has combined their shares (see `campusca.escrow.quorum`).
    """

    private_key_der: bytes = field(repr=False)
    _key: rsa.RSAPrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = load_pkcs8_private_key(self.private_key_der, "escrow domain private key")
        if not isinstance(key, rsa.RSAPrivateKey):
            raise InvalidParameter("escrow domain private key must be an RSA key")
        require_domain_key_size(key.key_size)
        object.__setattr__(self, "_key", key)

    @classmethod
    def generate(cls, *, key_size: int = DEFAULT_DOMAIN_KEY_SIZE) -> EscrowDomainKey:
        """Generate a fresh domain key pair (RSA-3072 unless told otherwise)."""
        require_domain_key_size(key_size)
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(der)

    def public_key(self) -> rsa.RSAPublicKey:
        """Return the public key that archive records are wrapped to."""
        return self._key.public_key()

    @property
    def public_key_pem(self) -> bytes:
        """The public key as a PEM SubjectPublicKeyInfo."""
        return self.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_key_sha256(self) -> bytes:
        """SHA-256 of the DER SubjectPublicKeyInfo: a stable identifier of the domain key."""
        spki = self.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(spki).digest()

    def decrypter(self) -> RsaDecrypter:
        """Return an RsaDecrypter for `recover_private_key`."""
        return self._key


def require_domain_key_size(key_size: int) -> None:
    """Reject domain keys below MIN_DOMAIN_KEY_SIZE bits."""
    if isinstance(key_size, bool) or not isinstance(key_size, int):
        raise TypeError("key size must be an int")
    if key_size < MIN_DOMAIN_KEY_SIZE:
        raise InvalidParameter(f"escrow domain key size must be at least {MIN_DOMAIN_KEY_SIZE} bits")
