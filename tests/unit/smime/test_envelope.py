"""encrypt_message / decrypt_message / decrypt_cms: Bob encrypts to Mary, Mary decrypts."""

from __future__ import annotations

import base64
import email
import email.policy

import pytest

from campusca.pki.cms import build_enveloped_data
from campusca.smime import (
    CertificateUnsuitable,
    ContentCipher,
    DecryptionFailed,
    KeyTransport,
    MalformedMessage,
    UnsupportedAlgorithm,
    decrypt_cms,
    decrypt_message,
    encrypt_message,
    sign_message,
    verify_message,
)
from tests.unit.smime.ca import NOW, Issued, TestCa, mail, rsa_key


def _decrypt(message: bytes, recipient: Issued) -> bytes:
    return decrypt_message(message, recipient_certificate=recipient.certificate, decrypter=recipient.key)


@pytest.mark.parametrize(
    ("cipher", "transport", "smime_type"),
    [
        pytest.param(
            ContentCipher.AES_256_CBC, KeyTransport.RSA_PKCS1V15, "enveloped-data", id="ok-aes256-cbc"
        ),
        pytest.param(
            ContentCipher.AES_128_CBC, KeyTransport.RSA_OAEP_SHA1, "enveloped-data", id="ok-aes128-oaep"
        ),
        pytest.param(
            ContentCipher.AES_256_GCM, KeyTransport.RSA_OAEP_SHA256, "authEnveloped-data", id="ok-gcm"
        ),
    ],
)
def test_mary_decrypts_what_bob_encrypted_to_her(
    mary_encryption: Issued, cipher: ContentCipher, transport: KeyTransport, smime_type: str
) -> None:
    encrypted = encrypt_message(mail(), [mary_encryption.certificate], cipher=cipher, key_transport=transport)
    outer = email.message_from_bytes(encrypted, policy=email.policy.default)
    assert outer.get_content_type() == "application/pkcs7-mime"
    assert outer.get_param("smime-type") == smime_type
    assert outer.get_param("name") == "smime.p7m"
    assert outer["Subject"] == "Minutes"
    assert b"the minutes" not in encrypted
    decrypted = _decrypt(encrypted, mary_encryption)
    assert decrypted == mail()  # outer fields, MIME-Version, then the content fields and body


def test_encrypt_message_moves_only_content_headers_inside(mary_encryption: Issued) -> None:
    encrypted = encrypt_message(mail(), [mary_encryption.certificate])
    body = email.message_from_bytes(encrypted, policy=email.policy.default).get_payload(decode=True)
    inner = decrypt_cms(
        body, recipient_certificate=mary_encryption.certificate, decrypter=mary_encryption.key
    )
    assert inner.startswith(
        b'Content-Type: text/plain; charset="us-ascii"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
    )
    assert b"Subject" not in inner


def test_sender_who_is_also_a_recipient_can_read_sent_mail(ca: TestCa, mary_encryption: Issued) -> None:
    bob_encryption = ca.issue("bob@campus.example", usage="encrypt")
    encrypted = encrypt_message(mail(), [mary_encryption.certificate, bob_encryption.certificate])
    assert _decrypt(encrypted, bob_encryption) == _decrypt(encrypted, mary_encryption)


def test_signed_then_encrypted_mail_decrypts_and_verifies(
    ca: TestCa, bob_signing: Issued, mary_encryption: Issued
) -> None:
    signed = sign_message(
        mail(),
        signer=bob_signing.key,
        signer_certificate=bob_signing.certificate,
        chain=[ca.issuing.certificate],
    )
    decrypted = _decrypt(encrypt_message(signed, [mary_encryption.certificate]), mary_encryption)
    verified = verify_message(decrypted, trust_roots=[ca.root.certificate], crls=ca.crls(), at=NOW)
    assert verified.from_matches
    assert verified.content.endswith(b"the minutes are attached.\r\n")


def test_decrypt_message_accepts_a_binary_body(mary_encryption: Issued) -> None:
    der = build_enveloped_data(b"Content-Type: text/plain\r\n\r\nbinary\r\n", [mary_encryption.certificate])
    message = (
        b"From: bob@campus.example\r\nContent-Type: application/x-pkcs7-mime; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + der
    )
    assert _decrypt(message, mary_encryption).endswith(b"Content-Type: text/plain\r\n\r\nbinary\r\n")


def test_decrypt_with_the_wrong_key_fails(ca: TestCa, mary_encryption: Issued) -> None:
    other = ca.issue("mary@campus.example", usage="encrypt")
    encrypted = encrypt_message(mail(), [mary_encryption.certificate])
    with pytest.raises(DecryptionFailed):
        _decrypt(encrypted, other)
    with pytest.raises(DecryptionFailed):
        decrypt_message(encrypted, recipient_certificate=mary_encryption.certificate, decrypter=rsa_key())


def test_decrypt_refuses_single_des_unless_allowed(mary_encryption: Issued) -> None:
    der = build_enveloped_data(b"old", [mary_encryption.certificate], cipher=ContentCipher.DES_CBC)
    with pytest.raises(UnsupportedAlgorithm):
        decrypt_cms(der, recipient_certificate=mary_encryption.certificate, decrypter=mary_encryption.key)
    allowed = frozenset({ContentCipher.DES_CBC})
    plain = decrypt_cms(
        der,
        recipient_certificate=mary_encryption.certificate,
        decrypter=mary_encryption.key,
        allowed_ciphers=allowed,
    )
    assert plain == b"old"


def test_encrypt_refuses_a_signing_only_certificate(bob_signing: Issued) -> None:
    with pytest.raises(CertificateUnsuitable, match="key_encipherment"):
        encrypt_message(mail(), [bob_signing.certificate])


def test_encrypt_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="recipients"):
        encrypt_message(mail(), [])


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(mail(), id="fail-plain-text"),
        pytest.param(
            b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nMIIB", id="fail-signed-data"
        ),
        pytest.param(
            b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",
            id="fail-base64",
        ),
        pytest.param(
            b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(b"not der"),
            id="fail-not-cms",
        ),
        pytest.param(
            b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: uuencode\r\n\r\nx",
            id="fail-cte",
        ),
    ],
)
def test_decrypt_message_reports_malformed_messages(mary_encryption: Issued, message: bytes) -> None:
    with pytest.raises(MalformedMessage):
        _decrypt(message, mary_encryption)


def test_decrypt_cms_reports_garbage_as_malformed(mary_encryption: Issued) -> None:
    with pytest.raises(MalformedMessage):
        decrypt_cms(
            b"\x30\x03\x02\x01",
            recipient_certificate=mary_encryption.certificate,
            decrypter=mary_encryption.key,
        )
