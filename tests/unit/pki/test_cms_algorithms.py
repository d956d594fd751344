"""Algorithm choices the CMS codec refuses or must tolerate (RFC 3370, RFC 3560, RFC 4056, RFC 5084)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from campusca.pki import cms
from campusca.pki._cms_enveloped import GcmParameters
from campusca.pki.cms import ContentCipher
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsUnsupportedAlgorithm
from tests.unit.pki.test_cms_support import NOW, Party, ec_party, make_party, openssl, rsa_party

__all__ = ["ec_party", "rsa_party"]  # fixtures used by name


def _decrypt(der: bytes, party: Party) -> cms.DecryptedContent:
    return cms.decrypt_enveloped_data(der, recipient_certificate=party.certificate, decrypter=party.key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key_options",
    [
        ["rsa_padding_mode:oaep", "rsa_oaep_md:sha384"],
        ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_mgf1_md:sha1"],
        ["rsa_padding_mode:oaep", "rsa_oaep_label:0102"],
    ],
    ids=["fail-oaep-sha384", "fail-oaep-mgf1-mismatch", "fail-oaep-label"],
)
def test_decrypt_enveloped_data_refuses_unsupported_oaep_variants(
    rsa_party: Party, key_options: list[str]
) -> None:
    options = [arg for option in key_options for arg in ("-keyopt", option)]
    der = openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-aes128",
        "-outform",
        "DER",
        "-recip",
        rsa_party.cert_path,
        *options,
        stdin=b"x",
    )
    with pytest.raises(CmsUnsupportedAlgorithm):
        _decrypt(der, rsa_party)


def test_parse_signed_data_refuses_rsa_pss_signature(rsa_party: Party) -> None:
    signer = ("-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path, "-keyopt", "rsa_padding_mode:pss")
    der = openssl("cms", "-sign", "-nodetach", "-binary", *signer, "-outform", "DER", stdin=b"pss")
    with pytest.raises(CmsUnsupportedAlgorithm, match="signatureAlgorithm"):
        cms.parse_signed_data(der)


def test_decrypt_enveloped_data_refuses_unknown_content_cipher(rsa_party: Party) -> None:
    der = openssl(
        "cms", "-encrypt", "-binary", "-camellia128", "-outform", "DER", rsa_party.cert_path, stdin=b"x"
    )
    with pytest.raises(CmsUnsupportedAlgorithm, match="contentEncryptionAlgorithm"):
        _decrypt(der, rsa_party)


def test_decrypt_enveloped_data_refuses_gcm_inside_plain_enveloped_data(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"x", [rsa_party.certificate])
    info = asn1_cms.ContentInfo.load(der)
    info["content"]["encrypted_content_info"]["content_encryption_algorithm"] = {
        "algorithm": ContentCipher.AES_256_GCM.value,
        "parameters": GcmParameters({"aes_nonce": b"\x00" * 12, "aes_icvlen": 16}),
    }
    with pytest.raises(CmsUnsupportedAlgorithm, match="envelope type"):
        _decrypt(info.dump(force=True), rsa_party)


def test_decrypt_enveloped_data_refuses_unknown_key_transport(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"x", [rsa_party.certificate])
    info = asn1_cms.ContentInfo.load(der)
    info["content"]["recipient_infos"][0].chosen["key_encryption_algorithm"] = {"algorithm": "aes128_wrap"}
    with pytest.raises(CmsUnsupportedAlgorithm, match="keyEncryptionAlgorithm"):
        _decrypt(info.dump(force=True), rsa_party)


@pytest.mark.parametrize(
    ("iv", "trim"), [(b"\x00" * 8, 0), (None, 5)], ids=["fail-short-iv", "fail-partial-block"]
)
def test_decrypt_enveloped_data_rejects_damaged_cbc_fields(
    rsa_party: Party, iv: bytes | None, trim: int
) -> None:
    der = cms.build_enveloped_data(b"x" * 40, [rsa_party.certificate], cipher=ContentCipher.AES_128_CBC)
    info = asn1_cms.ContentInfo.load(der)
    encrypted = info["content"]["encrypted_content_info"]
    if iv is not None:
        encrypted["content_encryption_algorithm"] = {
            "algorithm": "aes128_cbc",
            "parameters": core.OctetString(iv),
        }
    if trim:
        encrypted["encrypted_content"] = encrypted["encrypted_content"].native[:-trim]
    with pytest.raises((CmsDecodeError, CmsDecryptionFailed)):
        _decrypt(info.dump(force=True), rsa_party)


def test_decrypt_enveloped_data_rejects_gcm_tag_length_mismatch(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"x", [rsa_party.certificate], cipher=ContentCipher.AES_128_GCM)
    info = asn1_cms.ContentInfo.load(der)
    info["content"]["mac"] = info["content"]["mac"].native[:12]
    with pytest.raises(CmsDecodeError, match="ICVlen"):
        _decrypt(info.dump(force=True), rsa_party)


def test_decrypt_enveloped_data_turns_rsa_failure_into_decryption_failed(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(
        b"x", [rsa_party.certificate], key_transport=cms.KeyTransport.RSA_OAEP_SHA1
    )
    info = asn1_cms.ContentInfo.load(der)
    info["content"]["recipient_infos"][0].chosen["encrypted_key"] = b"\x01" * 256
    with pytest.raises(CmsDecryptionFailed, match="encryptedKey"):
        _decrypt(info.dump(force=True), rsa_party)


def test_build_enveloped_data_rejects_no_recipients_and_other_curves(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="recipients"):
        cms.build_enveloped_data(b"x", [])
    koblitz = make_party(tmp_path, "k1", ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(TypeError, match="P-256, P-384 or P-521"):
        cms.build_enveloped_data(b"x", [koblitz.certificate])


def test_build_signed_data_rejects_bad_arguments(rsa_party: Party) -> None:
    own = asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]})
    common = {"signer": rsa_party.key, "signer_certificate": rsa_party.certificate}
    with pytest.raises(ValueError, match="extra_signed_attributes"):
        cms.build_signed_data(b"x", extra_signed_attributes=[own], **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signing_time"):
        cms.build_signed_data(b"x", signing_time=NOW.replace(tzinfo=None), **common)  # type: ignore[arg-type]
    with pytest.raises(CmsUnsupportedAlgorithm, match="md5"):
        cms.build_signed_data(b"x", digest_algorithm="md5", **common)  # type: ignore[arg-type]
    ed_key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(TypeError, match="RSA or EC"):
        cms.build_signed_data(b"x", signer=ed_key, signer_certificate=rsa_party.certificate)  # type: ignore[arg-type]


def test_parse_signed_data_rejects_repeated_signed_attribute(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    attributes = list(signer_info["signed_attrs"])
    signer_info["signed_attrs"] = asn1_cms.CMSAttributes([*attributes, attributes[0]])
    with pytest.raises(CmsDecodeError, match="repeat"):
        cms.parse_signed_data(info.dump(force=True))


def test_parse_signed_data_requires_message_digest_attribute(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    kept = [a for a in signer_info["signed_attrs"] if a["type"].native != "message_digest"]
    signer_info["signed_attrs"] = asn1_cms.CMSAttributes(kept)
    with pytest.raises(CmsDecodeError, match="messageDigest"):
        cms.parse_signed_data(info.dump(force=True))


def test_decrypt_enveloped_data_rejects_invalid_cbc_padding(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"x", [rsa_party.certificate], cipher=ContentCipher.AES_128_CBC)
    info = asn1_cms.ContentInfo.load(der)
    key, iv = b"k" * 16, b"\x00" * 16
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = info["content"]["encrypted_content_info"]
    encrypted["content_encryption_algorithm"] = {
        "algorithm": "aes128_cbc",
        "parameters": core.OctetString(iv),
    }
    encrypted["encrypted_content"] = (
        encryptor.update(b"\x00" * 16) + encryptor.finalize()
    )  # last byte 0: bad pad
    public_key = rsa_party.certificate.public_key()
    info["content"]["recipient_infos"][0].chosen["encrypted_key"] = public_key.encrypt(
        key, padding.PKCS1v15()
    )  # type: ignore[union-attr]
    with pytest.raises(CmsDecryptionFailed, match="padding"):
        _decrypt(info.dump(force=True), rsa_party)


def test_parse_signed_data_finds_signer_by_computed_key_identifier(tmp_path: Path) -> None:
    party = make_party(tmp_path, "noski", rsa.generate_private_key(65537, 2048), with_ski=False)
    der = cms.build_signed_data(b"x", signer=party.key, signer_certificate=party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    key_bits = info["content"]["certificates"][0].chosen.public_key["public_key"]
    ski = hashlib.sha1(key_bits.contents[1:]).digest()  # RFC 5280 §4.2.1.2 method 1
    info["content"]["signer_infos"][0]["sid"] = asn1_cms.SignerIdentifier(
        name="subject_key_identifier", value=ski
    )
    assert cms.parse_signed_data(info.dump(force=True)).signer_certificate == party.certificate


def test_parse_signed_data_accepts_unsorted_attributes_signed_as_der(rsa_party: Party) -> None:
    der = cms.build_signed_data(
        b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate, signing_time=NOW
    )
    signed_attrs = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    sorted_contents = signed_attrs.contents
    unsorted_contents = b"".join(attribute.dump() for attribute in reversed(list(signed_attrs)))
    assert unsorted_contents != sorted_contents and len(unsorted_contents) == len(sorted_contents)
    # The signature still covers the sorted DER SET; only the transmitted order changes.
    message = cms.parse_signed_data(der.replace(sorted_contents, unsorted_contents))
    assert message.signing_time == NOW
