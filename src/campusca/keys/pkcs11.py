"""PKCS#11 key backend (HSMs; SoftHSM2 in tests): keys are generated on the token and never leave it.

The objects `signer()` returns subclass `cryptography`'s RSA/EC private-key classes and forward `sign`
(and, for RSA, `decrypt`) to the token, so `cryptography`'s X.509 builders and our CMS codec use them
like software keys: cryptography calls the key object's own `sign` method when it signs.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, NoReturn

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import KeyType as P11KeyType
from pkcs11.util.ec import encode_named_curve_parameters

from campusca.keys.backend import KeyType
from campusca.keys.errors import KeyBackendError, KeyExists, KeyNotFound

_RSA_SIGN = {
    "sha1": Mechanism.SHA1_RSA_PKCS,
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
# DER DigestInfo headers (RFC 8017 §9.2 note 1) that precede a digest signed with CKM_RSA_PKCS.
_DIGEST_INFO = {  # by digest size: SHA-256, SHA-384, SHA-512
    32: bytes.fromhex("3031300d060960864801650304020105000420"),
    48: bytes.fromhex("3041300d060960864801650304020205000430"),
    64: bytes.fromhex("3051300d060960864801650304020305000440"),
}
_CURVES = {KeyType.EC_P256: ("secp256r1", ec.SECP256R1()), KeyType.EC_P384: ("secp384r1", ec.SECP384R1())}
_OAEP_HASH = {"sha1": (Mechanism.SHA_1, pkcs11.MGF.SHA1), "sha256": (Mechanism.SHA256, pkcs11.MGF.SHA256)}


class _Token:
    """One logged-in session shared by the process; PKCS#11 sessions are not thread-safe, hence the lock."""

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        try:
            token = pkcs11.lib(module).get_token(token_label=token_label)
            self.session = token.open(user_pin=pin, rw=True)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as error:
            raise KeyBackendError(
                f"cannot open PKCS#11 token {token_label!r}: {type(error).__name__}"
            ) from None
        self.lock = threading.Lock()

    def find(self, label: str, object_class: ObjectClass) -> Any:
        with self.lock:
            found = list(self.session.get_objects({Attribute.LABEL: label, Attribute.CLASS: object_class}))
        if not found:
            raise KeyNotFound(f"no key named {label!r} on the token")
        return found[0]

    def destroy_all(self, label: str) -> int:
        """Destroy every object (private key, public key, certificate) with this label; returns how many."""
        with self.lock:
            found = list(self.session.get_objects({Attribute.LABEL: label}))
            for item in found:
                item.destroy()
        return len(found)


def _refuse(*_: object) -> NoReturn:
    raise KeyBackendError("private keys in the HSM cannot be exported")


class HsmRsaPrivateKey(rsa.RSAPrivateKey):
    """An RSA private key that lives on the token."""

    def __init__(self, token: _Token, handle: Any, public: rsa.RSAPublicKey) -> None:
        self._token, self._handle, self._public = token, handle, public

    def sign(self, data: bytes, pad: padding.AsymmetricPadding, algorithm: Any) -> bytes:  # type: ignore[override]
        if not isinstance(pad, padding.PKCS1v15):
            raise KeyBackendError("the PKCS#11 backend signs with RSA PKCS#1 v1.5 only")
        if isinstance(algorithm, utils.Prehashed):
            # A digest computed here (a streamed CRL): CKM_RSA_PKCS pads the DigestInfo we build.
            prefix = _DIGEST_INFO.get(algorithm.digest_size)  # Prehashed tells only the size
            if prefix is None or len(data) != algorithm.digest_size:
                raise KeyBackendError("the PKCS#11 backend signs SHA-256/384/512 digests only")
            with self._token.lock:
                return bytes(self._handle.sign(prefix + data, mechanism=Mechanism.RSA_PKCS))
        mechanism = _RSA_SIGN.get(algorithm.name)
        if mechanism is None:
            raise KeyBackendError(f"the PKCS#11 backend cannot sign with {algorithm.name}")
        with self._token.lock:
            return bytes(self._handle.sign(data, mechanism=mechanism))

    def decrypt(self, ciphertext: bytes, pad: padding.AsymmetricPadding) -> bytes:
        try:
            with self._token.lock:
                if isinstance(pad, padding.PKCS1v15):
                    return bytes(self._handle.decrypt(ciphertext, mechanism=Mechanism.RSA_PKCS))
                if isinstance(pad, padding.OAEP):
                    hash_mech, mgf = _OAEP_HASH[pad.algorithm.name]
                    return bytes(
                        self._handle.decrypt(
                            ciphertext,
                            mechanism=Mechanism.RSA_PKCS_OAEP,
                            mechanism_param=(hash_mech, mgf, None),
                        )
                    )
        except (pkcs11.PKCS11Error, KeyError):
            # Same contract as cryptography: a failed decryption is a ValueError, nothing more.
            raise ValueError("decryption failed") from None
        raise ValueError("unsupported padding")

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    private_numbers = _refuse
    private_bytes = _refuse  # type: ignore[assignment]

    def __copy__(self) -> HsmRsaPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> HsmRsaPrivateKey:
        return self


class HsmEcPrivateKey(ec.EllipticCurvePrivateKey):
    """An EC private key that lives on the token (ECDSA over a digest computed here)."""

    def __init__(self, token: _Token, handle: Any, public: ec.EllipticCurvePublicKey) -> None:
        self._token, self._handle, self._public = token, handle, public

    def sign(self, data: bytes, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:  # type: ignore[override]
        algorithm = signature_algorithm.algorithm  # type: ignore[attr-defined]
        digest = (
            data if isinstance(algorithm, utils.Prehashed) else hashlib.new(algorithm.name, data).digest()
        )
        with self._token.lock:
            raw = bytes(self._handle.sign(digest, mechanism=Mechanism.ECDSA))
        half = len(raw) // 2
        return utils.encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def exchange(self, *_: object) -> bytes:  # type: ignore[override]
        raise KeyBackendError("ECDH with HSM keys is not supported")

    private_numbers = _refuse
    private_bytes = _refuse  # type: ignore[assignment]

    def __copy__(self) -> HsmEcPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> HsmEcPrivateKey:
        return self


class Pkcs11KeyBackend:
    """Generates non-extractable key pairs on a PKCS#11 token and signs/decrypts there."""

    name = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str) -> None:
        self._token = _Token(module, token_label, pin)
        self._cache: dict[str, CertificateIssuerPrivateKeyTypes] = {}

    def exists(self, label: str) -> bool:
        try:
            self._token.find(label, ObjectClass.PRIVATE_KEY)
        except KeyNotFound:
            return False
        return True

    def destroy(self, label: str) -> bool:
        """C_DestroyObject on the key pair: the token keeps no copy (it was never extractable)."""
        self._cache.pop(label, None)
        try:
            return self._token.destroy_all(label) > 0
        except pkcs11.PKCS11Error as error:
            raise KeyBackendError(
                f"cannot destroy key {label!r} on the token: {type(error).__name__}"
            ) from None

    def generate(self, label: str, key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
        if self.exists(label):
            raise KeyExists(f"a key named {label!r} already exists on the token")
        private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.TOKEN: True}
        with self._token.lock:
            if key_type.is_rsa:
                self._token.session.generate_keypair(
                    P11KeyType.RSA,
                    int(key_type.value.split("-")[1]),
                    label=label,
                    store=True,
                    private_template=private,
                )
            else:
                params = self._token.session.create_domain_parameters(
                    P11KeyType.EC,
                    {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVES[key_type][0])},
                    local=True,
                )
                params.generate_keypair(label=label, store=True, private_template=private)
        return self.signer(label)

    def signer(self, label: str) -> CertificateIssuerPrivateKeyTypes:
        cached = self._cache.get(label)
        if cached is not None:
            return cached
        handle = self._token.find(label, ObjectClass.PRIVATE_KEY)
        public = self._token.find(label, ObjectClass.PUBLIC_KEY)
        key: CertificateIssuerPrivateKeyTypes
        if handle.key_type == P11KeyType.RSA:
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                int.from_bytes(public[Attribute.MODULUS], "big"),
            )
            key = HsmRsaPrivateKey(self._token, handle, numbers.public_key())
        else:
            key = HsmEcPrivateKey(self._token, handle, _ec_public_key(public))
        self._cache[label] = key
        return key


def _ec_public_key(public: Any) -> ec.EllipticCurvePublicKey:
    from asn1crypto import core, keys

    point = core.OctetString.load(public[Attribute.EC_POINT]).native
    curve = keys.ECDomainParameters.load(public[Attribute.EC_PARAMS]).chosen.native
    by_name: dict[str, ec.EllipticCurve] = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}
    if curve not in by_name:
        raise KeyBackendError(f"EC curve {curve} on the token is not supported")
    return ec.EllipticCurvePublicKey.from_encoded_point(by_name[curve], point)


__all__ = ["HsmEcPrivateKey", "HsmRsaPrivateKey", "Pkcs11KeyBackend"]
