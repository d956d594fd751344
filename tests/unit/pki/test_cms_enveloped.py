"""EnvelopedData/AuthEnvelopedData: interop with `openssl cms -encrypt/-decrypt` (RFC 5652 §6, RFC 5083)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms

from campusca.pki import cms
from campusca.pki.cms import ContentCipher, KeyTransport
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsUnsupportedAlgorithm
from tests.unit.pki.test_cms_support import Party, openssl, other_rsa_party, rsa_party

__all__ = ["other_rsa_party", "rsa_party"]  # fixtures used by name

SECRET = b"the quarterly numbers\n" * 5


def _decrypt(der: bytes, party: Party, **kwargs: object) -> cms.DecryptedContent:
    return cms.decrypt_enveloped_data(
        der,
        recipient_certificate=party.certificate,
        decrypter=party.key,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("cipher", "transport"),
    [
        (ContentCipher.AES_128_CBC, KeyTransport.RSA_PKCS1V15),
        (ContentCipher.AES_256_CBC, KeyTransport.RSA_PKCS1V15),
        (ContentCipher.DES_EDE3_CBC, KeyTransport.RSA_PKCS1V15),
        (ContentCipher.AES_256_CBC, KeyTransport.RSA_OAEP_SHA1),
        (ContentCipher.AES_128_CBC, KeyTransport.RSA_OAEP_SHA256),
    ],
    ids=lambda v: v.name,
)
def test_openssl_decrypts_our_enveloped_data(
    rsa_party: Party, tmp_path: Path, cipher: ContentCipher, transport: KeyTransport
) -> None:
    der = cms.build_enveloped_data(SECRET, [rsa_party.certificate], cipher=cipher, key_transport=transport)
    (tmp_path / "env.der").write_bytes(der)
    recipient = ("-recip", rsa_party.cert_path, "-inkey", rsa_party.key_path)
    assert (
        openssl("cms", "-decrypt", "-binary", "-inform", "DER", "-in", tmp_path / "env.der", *recipient)
        == SECRET
    )


@pytest.mark.parametrize(
    ("flags", "cipher", "transport"),
    [
        (["-aes128"], ContentCipher.AES_128_CBC, KeyTransport.RSA_PKCS1V15),
        (["-aes256"], ContentCipher.AES_256_CBC, KeyTransport.RSA_PKCS1V15),
        (["-des3"], ContentCipher.DES_EDE3_CBC, KeyTransport.RSA_PKCS1V15),
        (
            ["-aes256", "-keyopt", "rsa_padding_mode:oaep"],
            ContentCipher.AES_256_CBC,
            KeyTransport.RSA_OAEP_SHA1,
        ),
        (
            ["-aes256", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"],
            ContentCipher.AES_256_CBC,
            KeyTransport.RSA_OAEP_SHA256,
        ),
        (["-aes-256-gcm"], ContentCipher.AES_256_GCM, KeyTransport.RSA_PKCS1V15),
        (["-aes-128-gcm"], ContentCipher.AES_128_GCM, KeyTransport.RSA_PKCS1V15),
    ],
    ids=["ok-aes128", "ok-aes256", "ok-des3", "ok-oaep", "ok-oaep-sha256", "ok-aes256-gcm", "ok-aes128-gcm"],
)
def test_decrypt_enveloped_data_opens_openssl_envelope(
    rsa_party: Party, flags: list[str], cipher: ContentCipher, transport: KeyTransport
) -> None:
    # -keyopt applies to the -recip before it
    cipher_flags = [f for f in flags if f.startswith("-aes") or f == "-des3"]
    key_options = flags[len(cipher_flags) :]
    recipient = ("-recip", rsa_party.cert_path, *key_options)
    der = openssl("cms", "-encrypt", "-binary", *cipher_flags, "-outform", "DER", *recipient, stdin=SECRET)
    result = _decrypt(der, rsa_party)
    assert result == cms.DecryptedContent(content=SECRET, cipher=cipher, key_transport=transport)


@pytest.mark.parametrize("flags", [["-aes256"], ["-aes-256-gcm"]], ids=["ok-cbc", "ok-gcm"])
def test_decrypt_enveloped_data_opens_indefinite_length_ber(rsa_party: Party, flags: list[str]) -> None:
    der = openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-stream",
        *flags,
        "-outform",
        "DER",
        rsa_party.cert_path,
        stdin=SECRET * 200,
    )
    assert der[1] == 0x80  # indefinite length: really BER
    assert _decrypt(der, rsa_party).content == SECRET * 200


def test_decrypt_enveloped_data_opens_our_own_envelopes_for_every_cipher(rsa_party: Party) -> None:
    for cipher in ContentCipher:
        for transport in KeyTransport:
            der = cms.build_enveloped_data(
                SECRET, [rsa_party.certificate], cipher=cipher, key_transport=transport
            )
            result = _decrypt(der, rsa_party, allowed_ciphers=frozenset(ContentCipher))
            assert result == cms.DecryptedContent(content=SECRET, cipher=cipher, key_transport=transport)


def test_decrypt_enveloped_data_refuses_single_des_unless_allowed(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(SECRET, [rsa_party.certificate], cipher=ContentCipher.DES_CBC)
    with pytest.raises(CmsUnsupportedAlgorithm):
        _decrypt(der, rsa_party)
    allowed = cms.DEFAULT_ALLOWED | {ContentCipher.DES_CBC}
    assert _decrypt(der, rsa_party, allowed_ciphers=allowed).content == SECRET


def test_decrypt_enveloped_data_opens_openssl_single_des_when_allowed(rsa_party: Party) -> None:
    legacy = ("-provider", "legacy", "-provider", "default")  # OpenSSL 3 keeps single DES in "legacy"
    der = openssl(
        "cms", "-encrypt", "-binary", "-des", *legacy, "-outform", "DER", rsa_party.cert_path, stdin=SECRET
    )
    allowed = frozenset({ContentCipher.DES_CBC})
    assert _decrypt(der, rsa_party, allowed_ciphers=allowed).cipher is ContentCipher.DES_CBC


def test_decrypt_enveloped_data_picks_our_recipient_among_several(
    rsa_party: Party, other_rsa_party: Party
) -> None:
    der = cms.build_enveloped_data(SECRET, [other_rsa_party.certificate, rsa_party.certificate])
    assert _decrypt(der, rsa_party).content == SECRET
    assert _decrypt(der, other_rsa_party).content == SECRET


def test_decrypt_enveloped_data_for_another_recipient_fails(rsa_party: Party, other_rsa_party: Party) -> None:
    der = cms.build_enveloped_data(SECRET, [other_rsa_party.certificate])
    with pytest.raises(CmsDecryptionFailed):
        _decrypt(der, rsa_party)


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM], ids=lambda c: c.name
)
def test_decrypt_enveloped_data_with_wrong_key_fails(
    rsa_party: Party, other_rsa_party: Party, cipher: ContentCipher
) -> None:
    der = cms.build_enveloped_data(SECRET, [rsa_party.certificate], cipher=cipher)
    with pytest.raises(CmsDecryptionFailed):
        cms.decrypt_enveloped_data(
            der, recipient_certificate=rsa_party.certificate, decrypter=other_rsa_party.key
        )


def test_decrypt_enveloped_data_rejects_altered_gcm_ciphertext(rsa_party: Party) -> None:
    der = cms.build_enveloped_data(SECRET, [rsa_party.certificate], cipher=ContentCipher.AES_128_GCM)
    info = asn1_cms.ContentInfo.load(der)
    encrypted = info["content"]["auth_encrypted_content_info"]
    ciphertext = bytearray(encrypted["encrypted_content"].native)
    ciphertext[0] ^= 1
    encrypted["encrypted_content"] = bytes(ciphertext)
    with pytest.raises(CmsDecryptionFailed):
        _decrypt(info.dump(force=True), rsa_party)


def test_decrypt_enveloped_data_rejects_signed_data(rsa_party: Party) -> None:
    signed = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    with pytest.raises(CmsDecodeError):
        _decrypt(signed, rsa_party)
