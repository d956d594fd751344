"""KeyAgreeRecipientInfo (RFC 5753 ECDH): interop with `openssl cms -encrypt/-decrypt` on P-256 and P-384."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives.asymmetric import ec

from campusca.pki import cms
from campusca.pki._cms_kari import key_agreement
from campusca.pki.cms import ContentCipher, KeyAgreement
from campusca.pki.errors import CmsDecryptionFailed, CmsUnsupportedAlgorithm
from tests.unit.pki.test_cms_support import Party, make_party, openssl, rsa_party

__all__ = ["rsa_party"]  # fixtures used by name

SECRET = b"the quarterly numbers\n" * 5


@pytest.fixture(scope="module", params=[ec.SECP256R1, ec.SECP384R1], ids=["p256", "p384"])
def ec_recipient(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Party:
    curve = request.param()
    return make_party(tmp_path_factory.mktemp(curve.name), "erin", ec.generate_private_key(curve))


def _decrypt(der: bytes, party: Party) -> cms.DecryptedContent:
    return cms.decrypt_enveloped_data(der, recipient_certificate=party.certificate, decrypter=party.key)


@pytest.mark.parametrize(
    "cipher",
    [ContentCipher.AES_128_CBC, ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM],
    ids=lambda c: c.name,
)
def test_openssl_decrypts_what_we_encrypt_to_an_ec_recipient(
    ec_recipient: Party, cipher: ContentCipher, tmp_path: Path
) -> None:
    der = cms.build_enveloped_data(SECRET, [ec_recipient.certificate], cipher=cipher)
    (tmp_path / "in.der").write_bytes(der)
    plain = openssl("cms", "-decrypt", "-inform", "DER", "-in", tmp_path / "in.der",
                    "-recip", ec_recipient.cert_path, "-inkey", ec_recipient.key_path)  # fmt: skip
    assert plain == SECRET
    kari = asn1_cms.ContentInfo.load(der)["content"]["recipient_infos"][0]
    assert kari.name == "kari" and kari.chosen["version"].native == "v3"
    assert kari.chosen["key_encryption_algorithm"]["algorithm"].dotted == KeyAgreement.ECDH_SHA256_KDF.value


@pytest.mark.parametrize("flag", ["-aes128", "-aes256", "-aes-256-gcm"])
def test_we_decrypt_what_openssl_encrypts_to_an_ec_recipient(ec_recipient: Party, flag: str) -> None:
    der = openssl("cms", "-encrypt", flag, "-binary", "-outform", "DER", ec_recipient.cert_path, stdin=SECRET)
    decrypted = _decrypt(der, ec_recipient)
    assert decrypted.content == SECRET
    # OpenSSL 3.0 writes the SHA-1 X9.63 KDF scheme unless told otherwise.
    assert decrypted.key_agreement is KeyAgreement.ECDH_SHA1_KDF and decrypted.key_transport is None


def test_we_decrypt_openssl_with_the_sha256_kdf_and_a_key_identifier(ec_recipient: Party) -> None:
    der = openssl("cms", "-encrypt", "-aes256", "-binary", "-outform", "DER", "-keyid",
                  "-recip", ec_recipient.cert_path, "-keyopt", "ecdh_kdf_md:sha256", stdin=SECRET)  # fmt: skip
    decrypted = _decrypt(der, ec_recipient)
    assert decrypted.content == SECRET and decrypted.key_agreement is KeyAgreement.ECDH_SHA256_KDF


def test_one_message_reaches_an_rsa_and_an_ec_recipient(ec_recipient: Party, rsa_party: Party) -> None:
    der = cms.build_enveloped_data(SECRET, [rsa_party.certificate, ec_recipient.certificate])
    assert asn1_cms.ContentInfo.load(der)["content"]["version"].native == "v2"  # RFC 5652 §6.1
    assert _decrypt(der, ec_recipient).content == SECRET
    assert _decrypt(der, rsa_party).content == SECRET


def test_the_wrong_ec_key_is_a_decryption_failure(ec_recipient: Party, tmp_path: Path) -> None:
    curve = ec_recipient.key.public_key().curve
    assert isinstance(curve, ec.EllipticCurve)
    stranger = make_party(tmp_path, "mallory", ec.generate_private_key(type(curve)()))
    der = cms.build_enveloped_data(SECRET, [ec_recipient.certificate])
    with pytest.raises(CmsDecryptionFailed, match="no key-agreement entry"):
        _decrypt(der, stranger)
    forged = Party(stranger.key, ec_recipient.certificate, stranger.key_path, ec_recipient.cert_path)
    with pytest.raises(CmsDecryptionFailed, match="does not unwrap"):
        _decrypt(der, forged)


def test_key_agreement_schemes_include_the_cofactor_twins() -> None:
    assert key_agreement("1.3.132.1.14.1") is KeyAgreement.ECDH_SHA256_KDF
    assert key_agreement("1.3.133.16.840.63.0.2") is KeyAgreement.ECDH_SHA1_KDF
    with pytest.raises(CmsUnsupportedAlgorithm, match="1.2.3.4"):
        key_agreement("1.2.3.4")
