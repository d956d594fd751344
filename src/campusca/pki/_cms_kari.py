"""CMS KeyAgreeRecipientInfo with ECDH (RFC 5652 §6.2.2, RFC 5753): ephemeral-static, X9.63 KDF, AES key wrap.

The sender makes an ephemeral key on the recipient's curve, derives a key-encryption key from the shared
secret with the ANSI X9.63 KDF over ECC-CMS-SharedInfo (RFC 5753 §7.2), and wraps the content key with
AES key wrap (RFC 3394). We write dhSinglePass-stdDH-sha256kdf-scheme; we read the SHA-1/224/256/384/512
KDF schemes (OpenSSL 3.0 writes the SHA-1 one by default) and their cofactor twins, which compute the
same on P-256/P-384 (cofactor 1).
"""

from __future__ import annotations

from typing import Protocol

from asn1crypto import cms, core, keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from campusca.pki._cms_der import issuer_and_serial, octets, subject_key_identifier, to_asn1_certificate
from campusca.pki._cms_types import KeyAgreement
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsUnsupportedAlgorithm

_HASHES: dict[KeyAgreement, type[hashes.HashAlgorithm]] = {
    KeyAgreement.ECDH_SHA1_KDF: hashes.SHA1,  # noqa: S303 - a KDF hash, what OpenSSL 3.0 sends
    KeyAgreement.ECDH_SHA224_KDF: hashes.SHA224,
    KeyAgreement.ECDH_SHA256_KDF: hashes.SHA256,
    KeyAgreement.ECDH_SHA384_KDF: hashes.SHA384,
    KeyAgreement.ECDH_SHA512_KDF: hashes.SHA512,
}
# dhSinglePass-cofactorDH-*: with cofactor 1 (every curve we accept) cofactor ECDH is plain ECDH.
_COFACTOR_SCHEMES = {
    "1.3.133.16.840.63.0.3": KeyAgreement.ECDH_SHA1_KDF,
    "1.3.132.1.14.0": KeyAgreement.ECDH_SHA224_KDF,
    "1.3.132.1.14.1": KeyAgreement.ECDH_SHA256_KDF,
    "1.3.132.1.14.2": KeyAgreement.ECDH_SHA384_KDF,
    "1.3.132.1.14.3": KeyAgreement.ECDH_SHA512_KDF,
}
_WRAPS = {16: "aes128_wrap", 24: "aes192_wrap", 32: "aes256_wrap"}
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


class EcKeyAgreer(Protocol):
    """Something that does ECDH with a private key (an EC key object or an HSM handle)."""

    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes: ...


class EccCmsSharedInfo(core.Sequence):  # type: ignore[misc]
    """ECC-CMS-SharedInfo of RFC 5753 §7.2, the X9.63 KDF's SharedInfo."""

    _fields = [
        ("key_info", cms.KeyEncryptionAlgorithm),
        ("entity_u_info", core.OctetString, {"explicit": 0, "optional": True}),
        ("supp_pub_info", core.OctetString, {"explicit": 2}),
    ]


def key_agree_recipient_info(
    key: bytes, certificate: x509.Certificate, agreement: KeyAgreement
) -> cms.RecipientInfo:
    """A KeyAgreeRecipientInfo that gives the content-encryption `key` to an EC `certificate`."""
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, _CURVES):
        raise TypeError("key-agreement recipients must carry EC keys on P-256, P-384 or P-521")
    if len(key) not in _WRAPS:
        raise ValueError("ECDH recipients need an AES or 3DES content cipher (the key is AES-wrapped)")
    wrap = cms.KeyEncryptionAlgorithm({"algorithm": _WRAPS[len(key)]})
    ephemeral = ec.generate_private_key(public_key.curve)
    kek = _kek(ephemeral.exchange(ec.ECDH(), public_key), agreement, wrap, None)
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    # RFC 5753 §7.1.2: implementations SHOULD send absent parameters for the originator's id-ecPublicKey.
    originator = keys.PublicKeyInfo({"algorithm": {"algorithm": "ec"}, "public_key": point})
    kari = cms.KeyAgreeRecipientInfo(
        {
            "version": "v3",
            "originator": cms.OriginatorIdentifierOrKey(name="originator_key", value=originator),
            "key_encryption_algorithm": {"algorithm": agreement.value, "parameters": wrap},
            "recipient_encrypted_keys": [
                {
                    "rid": cms.KeyAgreementRecipientIdentifier(
                        name="issuer_and_serial_number", value=issuer_and_serial(certificate)
                    ),
                    "encrypted_key": keywrap.aes_key_wrap(kek, key),
                }
            ],
        }
    )
    return cms.RecipientInfo(name="kari", value=kari)


def find_key_agree(
    recipient_infos: cms.RecipientInfos, certificate: x509.Certificate
) -> tuple[cms.KeyAgreeRecipientInfo, bytes]:
    """The KeyAgreeRecipientInfo and encryptedKey addressed to `certificate`."""
    for recipient_info in recipient_infos:
        if recipient_info.name != "kari":
            continue
        for encrypted in recipient_info.chosen["recipient_encrypted_keys"]:
            if _names(encrypted["rid"], certificate):
                return recipient_info.chosen, octets(encrypted["encrypted_key"])
    raise CmsDecryptionFailed("recipientInfos hold no key-agreement entry for recipient_certificate")


def unwrap_agreed_key(
    kari: cms.KeyAgreeRecipientInfo, encrypted_key: bytes, agreer: EcKeyAgreer
) -> tuple[bytes, KeyAgreement]:
    """Derive the key-encryption key with the recipient's key and unwrap the content-encryption key."""
    algorithm = kari["key_encryption_algorithm"]
    agreement = key_agreement(algorithm["algorithm"].dotted)
    wrap = cms.KeyEncryptionAlgorithm.load(algorithm["parameters"].dump())
    if wrap["algorithm"].native not in _WRAPS.values():
        raise CmsUnsupportedAlgorithm(f"key wrap algorithm {wrap['algorithm'].dotted} is not supported")
    originator = kari["originator"]
    if originator.name != "originator_key":
        raise CmsUnsupportedAlgorithm("KeyAgreeRecipientInfo originator must be an ephemeral originatorKey")
    curve = agreer.public_key().curve
    point = bytes(originator.chosen["public_key"])
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError:
        raise CmsDecodeError("originatorKey is not a point on the recipient's curve") from None
    ukm = None if isinstance(kari["ukm"], core.Void) else octets(kari["ukm"])
    kek = _kek(agreer.exchange(ec.ECDH(), ephemeral), agreement, wrap, ukm)
    try:
        return keywrap.aes_key_unwrap(kek, encrypted_key), agreement
    except keywrap.InvalidUnwrap:
        raise CmsDecryptionFailed("encryptedKey does not unwrap with the agreed key (wrong key?)") from None


def key_agreement(oid: str) -> KeyAgreement:
    """The key-agreement scheme of a keyEncryptionAlgorithm OID, or CmsUnsupportedAlgorithm."""
    if oid in _COFACTOR_SCHEMES:
        return _COFACTOR_SCHEMES[oid]
    try:
        return KeyAgreement(oid)
    except ValueError:
        raise CmsUnsupportedAlgorithm(f"keyEncryptionAlgorithm {oid} is not supported") from None


def _kek(
    shared: bytes, agreement: KeyAgreement, wrap: cms.KeyEncryptionAlgorithm, ukm: bytes | None
) -> bytes:
    size = next(s for s, name in _WRAPS.items() if name == wrap["algorithm"].native)
    info: dict[str, object] = {"key_info": wrap, "supp_pub_info": (size * 8).to_bytes(4, "big")}
    if ukm is not None:
        info["entity_u_info"] = ukm
    shared_info = EccCmsSharedInfo(info).dump()
    return X963KDF(algorithm=_HASHES[agreement](), length=size, sharedinfo=shared_info).derive(shared)


def _names(rid: cms.KeyAgreementRecipientIdentifier, certificate: x509.Certificate) -> bool:
    if rid.name == "r_key_id":
        return bool(rid.chosen["subject_key_identifier"].native == subject_key_identifier(certificate))
    ias = rid.chosen
    if ias["serial_number"].native != certificate.serial_number:
        return False
    issuer = to_asn1_certificate(certificate)["tbs_certificate"]["issuer"]
    return bool(ias["issuer"].dump() == issuer.dump() or ias["issuer"] == issuer)
