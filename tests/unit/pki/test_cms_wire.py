"""CMS wire details: BER lengths, identifiers, optional parameters, AAD (RFC 5652, RFC 5083/5084)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from campusca.pki import cms
from campusca.pki._cms_enveloped import GcmParameters
from campusca.pki.cms import ContentCipher, KeyTransport
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsSignatureInvalid
from tests.unit.pki.test_cms_support import (
    NOW,
    Party,
    ec_party,
    openssl,
    other_rsa_party,
    rsa_party,
    to_indefinite_ber,
)

__all__ = ["ec_party", "other_rsa_party", "rsa_party"]  # fixtures used by name

SIGNED_DATA_CERTIFICATES = (0x30, 0xA0, 0x30, 0xA0)


@pytest.mark.parametrize(
    "keep_definite",
    [lambda p: len(p) > 5, lambda p: p == SIGNED_DATA_CERTIFICATES],
    ids=["ok-down-to-signer-info", "ok-all-but-certificates"],  # certificates must stay DER
)
def test_parse_signed_data_accepts_indefinite_lengths(
    rsa_party: Party, keep_definite: Callable[[tuple[int, ...]], bool]
) -> None:
    der = cms.build_signed_data(
        b"streamed", signer=rsa_party.key, signer_certificate=rsa_party.certificate, signing_time=NOW
    )
    ber = to_indefinite_ber(der, keep_definite=keep_definite)
    assert ber != der and ber[1] == 0x80
    message = cms.parse_signed_data(ber)
    assert (message.content, message.signing_time) == (b"streamed", NOW)
    assert message.signer_certificate == rsa_party.certificate


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_128_CBC, ContentCipher.AES_256_GCM], ids=lambda c: c.name
)
def test_decrypt_enveloped_data_accepts_indefinite_lengths_everywhere(
    rsa_party: Party, cipher: ContentCipher
) -> None:
    der = cms.build_enveloped_data(b"nested", [rsa_party.certificate], cipher=cipher)
    ber = to_indefinite_ber(der)
    assert ber.count(b"\x80") > 10
    result = cms.decrypt_enveloped_data(
        ber, recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
    )
    assert result.content == b"nested"


def test_build_signed_data_keeps_exact_issuer_bytes(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    sid = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]["sid"].chosen
    issuer_der = asn1_cms.ContentInfo.load(der)["content"]["certificates"][0].chosen.issuer.dump()
    assert sid["issuer"].dump() == issuer_der
    assert sid["serial_number"].native == rsa_party.certificate.serial_number


def test_build_signed_data_with_other_content_type_is_version_3(rsa_party: Party, tmp_path: Path) -> None:
    content_type = "1.2.840.113549.1.9.16.1.4"  # id-ct-TSTInfo, any non-data type will do
    der = cms.build_signed_data(
        b"\x30\x00", signer=rsa_party.key, signer_certificate=rsa_party.certificate, content_type=content_type
    )
    assert asn1_cms.ContentInfo.load(der)["content"]["version"].native == "v3"
    message = cms.parse_signed_data(der)
    assert (message.content, message.content_type) == (b"\x30\x00", content_type)
    (tmp_path / "sd.der").write_bytes(der)
    assert (
        openssl("cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in", tmp_path / "sd.der")
        == b"\x30\x00"
    )


def test_parse_signed_data_rejects_detached_content_next_to_econtent(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    with pytest.raises(CmsDecodeError, match="detached_content"):
        cms.parse_signed_data(der, detached_content=b"x")


def test_parse_signed_data_without_signer_certificate_is_invalid(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    del info["content"]["certificates"]
    with pytest.raises(CmsSignatureInvalid, match="sid"):
        cms.parse_signed_data(info.dump(force=True))


def test_parse_signed_data_rejects_content_type_attribute_mismatch(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    info["content"]["encap_content_info"]["content_type"] = "1.2.3.4"
    with pytest.raises(CmsSignatureInvalid, match="contentType"):
        cms.parse_signed_data(info.dump(force=True))


def test_decrypt_enveloped_data_finds_recipient_by_subject_key_identifier(rsa_party: Party) -> None:
    der = openssl(
        "cms", "-encrypt", "-binary", "-aes128", "-keyid", "-outform", "DER", rsa_party.cert_path, stdin=b"k"
    )
    rid = asn1_cms.ContentInfo.load(der)["content"]["recipient_infos"][0].chosen["rid"]
    assert rid.name == "subject_key_identifier"
    result = cms.decrypt_enveloped_data(
        der, recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
    )
    assert result.content == b"k"


def test_decrypt_enveloped_data_accepts_rsa_encryption_without_parameters(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"no params", [rsa_party.certificate], cipher=ContentCipher.AES_128_CBC)
    with_null = bytes.fromhex("300d06092a864886f70d0101010500")
    assert der.count(with_null) == 1
    without = bytes.fromhex("300b06092a864886f70d010101")
    # Shrinking by two bytes changes every enclosing length; rebuild them from the parsed structure.
    info = asn1_cms.ContentInfo.load(der)
    ktri = info["content"]["recipient_infos"][0].chosen
    body = ktri.dump()
    patched_ktri = asn1_cms.KeyTransRecipientInfo.load(
        _sequence(body[2 + (body[1] & 0x7F if body[1] & 0x80 else 0) :].replace(with_null, without))
    )
    enveloped = info["content"]
    rebuilt = asn1_cms.EnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [asn1_cms.RecipientInfo(name="ktri", value=patched_ktri)],
            "encrypted_content_info": enveloped["encrypted_content_info"],
        }
    )
    patched = asn1_cms.ContentInfo({"content_type": "enveloped_data", "content": rebuilt}).dump()
    assert without in patched and with_null not in patched
    result = cms.decrypt_enveloped_data(
        patched, recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
    )
    assert result.content == b"no params"


def _sequence(contents: bytes) -> bytes:
    length = len(contents)
    if length < 0x80:
        return b"\x30" + bytes([length]) + contents
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return b"\x30" + bytes([0x80 | len(body)]) + body + contents


def _auth_enveloped_with_attributes(party: Party, content: bytes, aad_attrs: asn1_cms.CMSAttributes) -> bytes:
    key, nonce = AESGCM.generate_key(bit_length=128), os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, content, aad_attrs.dump())
    ktri = asn1_cms.KeyTransRecipientInfo(
        {
            "version": "v2",
            "rid": asn1_cms.RecipientIdentifier(
                name="subject_key_identifier",
                value=core.OctetString(
                    party.certificate.extensions.get_extension_for_oid(asn1_cms_ski_oid()).value.digest  # type: ignore[attr-defined]
                ),
            ),
            "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
            "encrypted_key": party.certificate.public_key().encrypt(key, padding.PKCS1v15()),  # type: ignore[union-attr]
        }
    )
    enveloped = asn1_cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [asn1_cms.RecipientInfo(name="ktri", value=ktri)],
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {
                    "algorithm": "aes128_gcm",
                    "parameters": GcmParameters({"aes_nonce": nonce, "aes_icvlen": 16}),
                },
                "encrypted_content": sealed[:-16],
            },
            "auth_attrs": aad_attrs,
            "mac": sealed[-16:],
        }
    )
    return asn1_cms.ContentInfo({"content_type": "authenticated_enveloped_data", "content": enveloped}).dump()


def asn1_cms_ski_oid() -> object:
    from cryptography.x509.oid import ExtensionOID

    return ExtensionOID.SUBJECT_KEY_IDENTIFIER


def test_decrypt_enveloped_data_authenticates_auth_attributes_as_aad(rsa_party: Party) -> None:
    attrs = asn1_cms.CMSAttributes(
        [
            asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            asn1_cms.CMSAttribute(
                {"type": "signing_time", "values": [asn1_cms.Time(name="utc_time", value=NOW)]}
            ),
        ]
    )
    der = _auth_enveloped_with_attributes(rsa_party, b"aad-bound", attrs)
    result = cms.decrypt_enveloped_data(
        der, recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
    )
    assert (result.content, result.cipher) == (b"aad-bound", ContentCipher.AES_128_GCM)

    info = asn1_cms.ContentInfo.load(der)
    info["content"]["auth_attrs"] = asn1_cms.CMSAttributes(
        [asn1_cms.CMSAttribute({"type": "content_type", "values": ["signed_data"]})]
    )
    with pytest.raises(CmsDecryptionFailed, match="mac"):
        cms.decrypt_enveloped_data(
            info.dump(force=True), recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
        )


def test_decrypt_enveloped_data_reports_oaep_sha256(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"o", [rsa_party.certificate], key_transport=KeyTransport.RSA_OAEP_SHA256)
    result = cms.decrypt_enveloped_data(
        der, recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
    )
    assert result.key_transport is KeyTransport.RSA_OAEP_SHA256


def test_decrypt_enveloped_data_rejects_absent_encrypted_content(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(b"x", [rsa_party.certificate])
    info = asn1_cms.ContentInfo.load(der)
    del info["content"]["encrypted_content_info"]["encrypted_content"]
    with pytest.raises(CmsDecodeError, match="encryptedContent"):
        cms.decrypt_enveloped_data(
            info.dump(force=True), recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key
        )


def test_parsers_refuse_text_input(rsa_party: Party) -> None:
    with pytest.raises(TypeError):
        cms.parse_signed_data("not bytes")  # type: ignore[arg-type]
