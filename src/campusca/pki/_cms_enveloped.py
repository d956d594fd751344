"""CMS EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083/5084): RSA key transport, ECDH key agreement."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import cast

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes

from campusca.pki import _der as der
from campusca.pki import _strict_der as strict
from campusca.pki._cms_der import (
    decoding,
    identifies,
    load_content_info,
    octets,
    set_encodings,
)
from campusca.pki._cms_kari import EcKeyAgreer, find_key_agree, key_agree_recipient_info, unwrap_agreed_key
from campusca.pki._cms_types import (
    DEFAULT_ALLOWED,
    ContentCipher,
    DecryptedContent,
    KeyAgreement,
    KeyTransport,
)
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsUnsupportedAlgorithm
from campusca.pki.signing import RsaDecrypter

RecipientKey = RsaDecrypter | EcKeyAgreer

_RSA_ENCRYPTION, _RSAES_OAEP = "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.7"
DATA, ENVELOPED_DATA = "1.2.840.113549.1.7.1", "1.2.840.113549.1.7.3"
_ENVELOPED_DATA_OID = der.oid(ENVELOPED_DATA)
_GCM_NONCE_SIZE, _GCM_TAG_SIZE = 12, 16


class GcmParameters(core.Sequence):  # type: ignore[misc]
    """GCMParameters of RFC 5084 §3.2 (asn1crypto does not declare them)."""

    _fields = [
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


def build_enveloped_data(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: ContentCipher = ContentCipher.AES_256_CBC,
    key_transport: KeyTransport = KeyTransport.RSA_PKCS1V15,
    key_agreement: KeyAgreement = KeyAgreement.ECDH_SHA256_KDF,
) -> bytes:
    """Encrypt `content` for `recipients`; return DER ContentInfo(EnvelopedData or AuthEnvelopedData).

    RSA recipients get a KeyTransRecipientInfo (`key_transport`), EC recipients a KeyAgreeRecipientInfo
    (`key_agreement`, ephemeral-static ECDH, RFC 5753). The AES-GCM ciphers produce AuthEnvelopedData
    (RFC 5083), the others EnvelopedData.
    """
    if not recipients:
        raise ValueError("recipients must name at least one certificate")
    key = os.urandom(cipher.key_size)
    recipient_infos = [
        key_agree_recipient_info(key, certificate, key_agreement).dump()
        if isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
        else _recipient_info(key, certificate, key_transport)
        for certificate in recipients
    ]
    if cipher.is_aead:
        return _build_auth_enveloped(content, key, cipher, recipient_infos)
    iv = os.urandom(_block_bytes(cipher))
    padder = sym_padding.PKCS7(_block_bytes(cipher) * 8).padder()
    encryptor = Cipher(_algorithm(cipher, key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(content) + padder.finalize()) + encryptor.finalize()
    # RFC 5652 §6.1: version 2 as soon as a RecipientInfo is not version 0 (a kari is version 3).
    only_ktri = all(info[0] == 0x30 for info in recipient_infos)  # a kari is [1] IMPLICIT
    enveloped = der.sequence(
        der.integer(0 if only_ktri else 2),
        der.set_of(*recipient_infos),
        der.sequence(
            der.oid(DATA),
            der.algorithm(cipher.value, der.octet_string(iv)),
            der.tlv(0x80, ciphertext),  # [0] IMPLICIT encryptedContent
        ),
    )
    return der.sequence(der.oid(ENVELOPED_DATA), der.explicit(0, enveloped))


def _build_auth_enveloped(
    content: bytes, key: bytes, cipher: ContentCipher, recipient_infos: list[bytes]
) -> bytes:
    nonce = os.urandom(_GCM_NONCE_SIZE)
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    ciphertext = encryptor.update(content) + encryptor.finalize()
    parameters = GcmParameters({"aes_nonce": nonce, "aes_icvlen": _GCM_TAG_SIZE})
    enveloped = cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [cms.RecipientInfo.load(info) for info in recipient_infos],
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": cipher.value, "parameters": parameters},
                "encrypted_content": ciphertext,
            },
            "mac": encryptor.tag,
        }
    )
    encoded: bytes = cms.ContentInfo(
        {"content_type": "authenticated_enveloped_data", "content": enveloped}
    ).dump()
    return encoded


def _recipient_info(key: bytes, certificate: x509.Certificate, key_transport: KeyTransport) -> bytes:
    """A KeyTransRecipientInfo (RFC 5652 §6.2.1), DER-encoded."""
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("recipient certificates must carry RSA keys")
    if key_transport is KeyTransport.RSA_PKCS1V15:
        algorithm = der.algorithm(_RSA_ENCRYPTION, der.NULL)
    else:
        name = "sha1" if key_transport is KeyTransport.RSA_OAEP_SHA1 else "sha256"
        parameters = algos.RSAESOAEPParams(
            {
                "hash_algorithm": {"algorithm": name},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": name}},
            }
        )
        algorithm = cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": parameters}).dump()
    return der.sequence(
        der.integer(0),
        der.issuer_and_serial(certificate),
        algorithm,
        der.octet_string(public_key.encrypt(key, _padding(key_transport))),
    )


def _padding(key_transport: KeyTransport) -> padding.AsymmetricPadding:
    if key_transport is KeyTransport.RSA_PKCS1V15:
        return padding.PKCS1v15()
    # OAEP's default hash is SHA-1 (RFC 8017 A.2.1), still what OpenSSL writes; it is sound in OAEP.
    algorithm: hashes.HashAlgorithm = hashes.SHA256()
    if key_transport is KeyTransport.RSA_OAEP_SHA1:
        algorithm = hashes.SHA1()  # noqa: S303
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


def _algorithm(cipher: ContentCipher, key: bytes) -> CipherAlgorithm:
    if cipher is ContentCipher.DES_CBC:
        return TripleDES(key * 3)  # EDE with three equal keys is single DES
    if cipher is ContentCipher.DES_EDE3_CBC:
        return TripleDES(key)
    return algorithms.AES(key)


def _block_bytes(cipher: ContentCipher) -> int:
    return 8 if cipher in (ContentCipher.DES_CBC, ContentCipher.DES_EDE3_CBC) else 16


def decrypt_enveloped_data(
    data: bytes,
    *,
    recipient_certificate: x509.Certificate,
    decrypter: RecipientKey,
    allowed_ciphers: frozenset[ContentCipher] = DEFAULT_ALLOWED,
) -> DecryptedContent:
    """Decrypt an EnvelopedData or AuthEnvelopedData (BER or DER) addressed to `recipient_certificate`.

    An RSA certificate is looked up among the KeyTransRecipientInfos (`decrypter` decrypts), an EC one
    among the KeyAgreeRecipientInfos (`decrypter` does ECDH). Raises CmsDecodeError,
    CmsUnsupportedAlgorithm or CmsDecryptionFailed.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("data must be bytes")
    agreeing = isinstance(recipient_certificate.public_key(), ec.EllipticCurvePublicKey)
    envelope = None if agreeing else _strict_envelope(bytes(data), recipient_certificate, allowed_ciphers)
    if envelope is not None:
        cipher, encrypted_key, iv, ciphertext = envelope
        transport = KeyTransport.RSA_PKCS1V15
        key = _unwrap_key(cast(RsaDecrypter, decrypter), encrypted_key, transport, cipher)
        return DecryptedContent(
            content=_decrypt_cbc(cipher, key, iv, ciphertext), cipher=cipher, key_transport=transport
        )
    info = load_content_info(data, expected=("enveloped_data", "authenticated_enveloped_data"))
    authenticated = info["content_type"].native == "authenticated_enveloped_data"
    with decoding("EnvelopedData"):
        enveloped = info["content"]
        encrypted = enveloped["auth_encrypted_content_info" if authenticated else "encrypted_content_info"]
        algorithm = encrypted["content_encryption_algorithm"]
        cipher = _cipher(algorithm["algorithm"].dotted, allowed_ciphers)
        if cipher.is_aead != authenticated:
            raise CmsUnsupportedAlgorithm("contentEncryptionAlgorithm does not fit the envelope type")
        if isinstance(encrypted["encrypted_content"], core.Void):
            raise CmsDecodeError("encryptedContent is absent (detached envelopes are not supported)")
        ciphertext = octets(encrypted["encrypted_content"])
        if agreeing:
            kari, encrypted_key = find_key_agree(enveloped["recipient_infos"], recipient_certificate)
        else:
            ktri = _find_recipient(enveloped["recipient_infos"], recipient_certificate)
            key_transport = _key_transport(ktri["key_encryption_algorithm"])
            encrypted_key = octets(ktri["encrypted_key"])
        parameters = algorithm["parameters"]
        if authenticated:
            gcm = GcmParameters.load(parameters.dump())
            nonce, tag_size = octets(gcm["aes_nonce"]), gcm["aes_icvlen"].native
            tag = octets(enveloped["mac"])
            aads = (
                list(set_encodings(enveloped["auth_attrs"]))
                if not isinstance(enveloped["auth_attrs"], core.Void)
                else [b""]
            )
        else:
            iv = octets(parameters)
    if agreeing:
        with decoding("KeyAgreeRecipientInfo"):
            key, agreement = unwrap_agreed_key(kari, encrypted_key, cast(EcKeyAgreer, decrypter))
        if len(key) != cipher.key_size:
            raise CmsDecryptionFailed("encryptedKey does not unwrap to a key of the content cipher's size")
        transport: KeyTransport | None = None
    else:
        key = _unwrap_key(cast(RsaDecrypter, decrypter), encrypted_key, key_transport, cipher)
        transport, agreement = key_transport, None
    if authenticated:
        if len(tag) != tag_size or not 12 <= tag_size <= 16 or not 8 <= len(nonce) <= 128:
            raise CmsDecodeError("GCMParameters aes-ICVlen or aes-nonce does not fit the mac")
        plaintext = _decrypt_gcm(key, nonce, tag, ciphertext, aads)
    else:
        plaintext = _decrypt_cbc(cipher, key, iv, ciphertext)
    return DecryptedContent(
        content=plaintext, cipher=cipher, key_transport=transport, key_agreement=agreement
    )


def _strict_envelope(
    data: bytes, certificate: x509.Certificate, allowed: frozenset[ContentCipher]
) -> tuple[ContentCipher, bytes, bytes, bytes] | None:
    """(cipher, encryptedKey, IV, ciphertext) of the usual envelope, read without asn1crypto, or None.

    The usual envelope (every SCEP client's): plain DER, a KeyTransRecipientInfo naming `certificate`
    by its own issuer and serial bytes (scepclient and certmonger add one for each certificate of
    GetCACert), RSA PKCS#1 v1.5, an allowed CBC cipher. Anything else, or anything that does not
    check out, is None: the general parser decides.
    """
    try:
        _, recipient_infos, encrypted = strict.shaped(
            strict.inside(data, strict.content_info(data, _ENVELOPED_DATA_OID)), 0x02, 0x31, 0x30
        )
        _, key_algorithm, encrypted_key = _strict_recipient(data, recipient_infos, certificate)
        key_fields = strict.inside(data, key_algorithm)
        if strict.oid_of(data, key_fields[0]) != _RSA_ENCRYPTION or [
            strict.whole(data, field) for field in key_fields[1:]
        ] not in ([], [der.NULL]):
            return None
        content_fields = strict.inside(data, encrypted)
        if len(content_fields) != 3:  # encryptedContent absent: the general parser words the refusal
            return None
        _, algorithm = strict.shaped(content_fields[:2], 0x06, 0x30)
        ciphertext = content_fields[2]
        algorithm_oid, iv = strict.shaped(strict.inside(data, algorithm), 0x06, 0x04)
        cipher = ContentCipher(strict.oid_of(data, algorithm_oid))
        if cipher not in allowed or cipher.is_aead:
            return None
        if ciphertext.tag == 0x80:  # [0] IMPLICIT OCTET STRING
            content = strict.contents(data, ciphertext)
        else:  # [0] constructed around OCTET STRINGs, as Go's pkcs7 writes it
            chunks = strict.inside(data, ciphertext)
            if ciphertext.tag != 0xA0 or not chunks or any(chunk.tag != 0x04 for chunk in chunks):
                return None
            content = b"".join(strict.contents(data, chunk) for chunk in chunks)
        return cipher, strict.contents(data, encrypted_key), strict.contents(data, iv), content
    except Exception:  # noqa: BLE001 - never a verdict here: the general parser decides, errors included
        return None


def _strict_recipient(
    data: bytes, recipient_infos: strict.Tlv, certificate: x509.Certificate
) -> list[strict.Tlv]:
    """rid, keyEncryptionAlgorithm and encryptedKey of the first KeyTransRecipientInfo for `certificate`.

    The general parser takes the first one that `identifies` the certificate; one naming it by
    subjectKeyIdentifier, or by another encoding of its issuer with its serial, goes the general way.
    """
    ours = der.issuer_and_serial(certificate)
    for recipient in strict.inside(data, recipient_infos):
        if recipient.tag in (0xA1, 0xA2, 0xA3, 0xA4):  # kari, kekri, pwri, ori: not ours to read
            continue
        if recipient.tag != 0x30:
            raise strict.NotStrictDer
        _, rid, key_algorithm, encrypted_key = strict.shaped(
            strict.inside(data, recipient), 0x02, 0x30, 0x30, 0x04
        )
        if strict.whole(data, rid) == ours:
            return [rid, key_algorithm, encrypted_key]
        serial = strict.contents(data, strict.shaped(strict.inside(data, rid), 0x30, 0x02)[1])
        if int.from_bytes(serial, "big", signed=True) == certificate.serial_number:
            raise strict.NotStrictDer  # our serial under another issuer encoding: the X.520 comparison decides
    raise strict.NotStrictDer


def _cipher(oid: str, allowed: frozenset[ContentCipher]) -> ContentCipher:
    try:
        cipher = ContentCipher(oid)
    except ValueError:
        raise CmsUnsupportedAlgorithm(f"contentEncryptionAlgorithm {oid} is not supported") from None
    if cipher not in allowed:
        raise CmsUnsupportedAlgorithm(f"contentEncryptionAlgorithm {cipher.name} is not allowed here")
    return cipher


def _find_recipient(
    recipient_infos: cms.RecipientInfos, certificate: x509.Certificate
) -> cms.KeyTransRecipientInfo:
    for recipient_info in recipient_infos:
        if recipient_info.name == "ktri" and identifies(recipient_info.chosen["rid"], certificate):
            return recipient_info.chosen
    raise CmsDecryptionFailed("recipientInfos hold no key-transport entry for recipient_certificate")


def _key_transport(algorithm: cms.KeyEncryptionAlgorithm) -> KeyTransport:
    oid = algorithm["algorithm"].dotted
    if oid == _RSA_ENCRYPTION:  # parameters NULL or absent: both occur in the wild
        return KeyTransport.RSA_PKCS1V15
    if oid != _RSAES_OAEP:
        raise CmsUnsupportedAlgorithm(f"keyEncryptionAlgorithm {oid} is not supported")
    raw = algorithm["parameters"]
    params = (
        algos.RSAESOAEPParams.load(raw.dump())
        if not isinstance(raw, core.Void | core.Null)
        else algos.RSAESOAEPParams({})
    )
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    if mgf["algorithm"].native != "mgf1" or mgf["parameters"]["algorithm"].native != hash_name:
        raise CmsUnsupportedAlgorithm("RSAES-OAEP maskGenAlgorithm must be MGF1 with the OAEP hash")
    if params["p_source_algorithm"]["parameters"].native not in (b"", None):
        raise CmsUnsupportedAlgorithm("RSAES-OAEP pSourceAlgorithm must carry an empty label")
    if hash_name == "sha1":
        return KeyTransport.RSA_OAEP_SHA1
    if hash_name == "sha256":
        return KeyTransport.RSA_OAEP_SHA256
    raise CmsUnsupportedAlgorithm(f"RSAES-OAEP hashAlgorithm {hash_name} is not supported")


def _unwrap_key(
    decrypter: RsaDecrypter, encrypted_key: bytes, transport: KeyTransport, cipher: ContentCipher
) -> bytes:
    try:
        key = decrypter.decrypt(encrypted_key, _padding(transport))
    except ValueError:
        raise CmsDecryptionFailed("encryptedKey cannot be decrypted with the given key") from None
    # OpenSSL's implicit rejection (PKCS#1 v1.5) returns a random key instead of failing; its
    # length or the content padding then gives it away.
    if len(key) != cipher.key_size:
        raise CmsDecryptionFailed("encryptedKey does not decrypt to a key of the content cipher's size")
    return key


def _decrypt_cbc(cipher: ContentCipher, key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    block = _block_bytes(cipher)
    if len(iv) != block:
        raise CmsDecodeError("contentEncryptionAlgorithm IV has the wrong length")
    if not ciphertext or len(ciphertext) % block:
        raise CmsDecryptionFailed("encryptedContent is not a whole number of cipher blocks")
    decryptor = Cipher(_algorithm(cipher, key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(block * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise CmsDecryptionFailed("encryptedContent padding is invalid (wrong key?)") from None


def _decrypt_gcm(key: bytes, nonce: bytes, tag: bytes, ciphertext: bytes, aads: list[bytes]) -> bytes:
    for aad in aads:
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=len(tag))).decryptor()
        decryptor.authenticate_additional_data(aad)
        plaintext = decryptor.update(ciphertext)
        try:
            return plaintext + decryptor.finalize()
        except InvalidTag:
            continue
    raise CmsDecryptionFailed("AuthEnvelopedData mac does not verify (wrong key or altered content)")
