"""encrypt_message / decrypt_message to EC (keyAgreement) recipients, RFC 5753 ECDH (issue 13 §4)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from campusca.smime import (
    CertificateUnsuitable,
    ContentCipher,
    UnsupportedAlgorithm,
    decrypt_message,
    encrypt_message,
)
from tests.unit.smime.ca import Issued, TestCa, mail


@pytest.fixture(scope="module", params=[ec.SECP256R1, ec.SECP384R1], ids=["p256", "p384"])
def erin(request: pytest.FixtureRequest, ca: TestCa) -> Issued:
    return ca.issue("erin@campus.example", usage="agree", key=ec.generate_private_key(request.param()))


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM], ids=lambda c: c.name
)
def test_erin_decrypts_mail_encrypted_to_her_ec_certificate(erin: Issued, cipher: ContentCipher) -> None:
    encrypted = encrypt_message(mail(), [erin.certificate], cipher=cipher)
    assert b"the minutes" not in encrypted
    assert decrypt_message(encrypted, recipient_certificate=erin.certificate, decrypter=erin.key) == mail()


def test_one_message_reaches_an_rsa_and_an_ec_recipient(erin: Issued, mary_encryption: Issued) -> None:
    encrypted = encrypt_message(mail(), [mary_encryption.certificate, erin.certificate])
    for person in (mary_encryption, erin):
        assert (
            decrypt_message(encrypted, recipient_certificate=person.certificate, decrypter=person.key)
            == mail()
        )


def test_an_ec_certificate_without_key_agreement_is_refused(ca: TestCa) -> None:
    signing_only = ca.issue("erin@campus.example", usage="sign", key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(CertificateUnsuitable, match="keyAgreement|key_agreement"):
        encrypt_message(mail(), [signing_only.certificate])


def test_other_curves_and_single_des_are_refused_for_ec_recipients(ca: TestCa, erin: Issued) -> None:
    koblitz = ca.issue("erin@campus.example", usage="agree", key=ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(UnsupportedAlgorithm, match="P-256"):
        encrypt_message(mail(), [koblitz.certificate])
    with pytest.raises(UnsupportedAlgorithm, match="single DES"):
        encrypt_message(mail(), [erin.certificate], cipher=ContentCipher.DES_CBC)
