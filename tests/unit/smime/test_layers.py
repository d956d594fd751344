"""open_message: bare .p7m files (DER and PEM) and nested CMS, signed inside enveloped and the reverse."""

from __future__ import annotations

import base64

import pytest

from campusca.pki.cms import build_enveloped_data, build_signed_data
from campusca.smime import (
    DecryptionFailed,
    MalformedMessage,
    SignatureInvalid,
    bare_cms,
    encrypt_message,
    open_message,
    sign_message,
    verify_message,
)
from tests.unit.smime.ca import NOW, Issued, TestCa, mail

PART = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nMeeting moved to room 4.\r\n"


def _open(data: bytes, *keys: Issued) -> tuple[bytes, tuple[str, ...]]:
    opened = open_message(data, recipients=[(k.certificate, k.key) for k in keys])
    return opened.content, opened.layers


def _pem(der: bytes, label: str = "CMS") -> bytes:
    lines = base64.encodebytes(der).decode().replace("\n", "\r\n")
    return f"-----BEGIN {label}-----\r\n{lines}-----END {label}-----\r\n".encode()


@pytest.mark.parametrize("form", ["der", "pem", "pem-pkcs7"])
def test_a_bare_p7m_opens_without_any_header(mary_encryption: Issued, form: str) -> None:
    der = build_enveloped_data(PART, [mary_encryption.certificate])
    data = {"der": der, "pem": _pem(der), "pem-pkcs7": _pem(der, "PKCS7")}[form]
    assert _open(data, mary_encryption) == (PART, ("enveloped-data",))


def test_a_bare_p7m_with_raw_content_returns_the_bytes(mary_encryption: Issued) -> None:
    der = build_enveloped_data(b"\x00\x01 not mime at all", [mary_encryption.certificate])
    assert _open(der, mary_encryption)[0] == b"\x00\x01 not mime at all"


def test_signed_inside_enveloped_keeps_a_verifiable_signed_layer(
    ca: TestCa, bob_signing: Issued, mary_encryption: Issued
) -> None:
    signed = sign_message(mail(), signer=bob_signing.key, signer_certificate=bob_signing.certificate)
    encrypted = encrypt_message(signed, [mary_encryption.certificate])
    content, layers = _open(encrypted, mary_encryption)
    assert layers == ("enveloped-data",)
    verified = verify_message(
        content,
        trust_roots=[ca.root.certificate],
        intermediates=[ca.issuing.certificate],
        crls=ca.crls(),
        at=NOW,
    )
    assert b"the minutes are attached" in verified.content


def test_bare_signed_inside_bare_enveloped_becomes_an_opaque_signed_entity(
    ca: TestCa, bob_signing: Issued, mary_encryption: Issued
) -> None:
    signed = build_signed_data(PART, signer=bob_signing.key, signer_certificate=bob_signing.certificate)
    enveloped = build_enveloped_data(signed, [mary_encryption.certificate])
    content, layers = _open(enveloped, mary_encryption)
    assert layers == ("enveloped-data",)
    assert b"smime-type=signed-data" in content
    verified = verify_message(
        b"From: Bob <bob@campus.example>\r\n" + content,
        trust_roots=[ca.root.certificate],
        intermediates=[ca.issuing.certificate],
        crls=ca.crls(),
        at=NOW,
    )
    assert verified.content == PART


@pytest.mark.parametrize("form", ["bare", "mime"])
def test_enveloped_inside_signed_is_opened_through_the_signature(
    bob_signing: Issued, mary_encryption: Issued, form: str
) -> None:
    encrypted = encrypt_message(mail(), [mary_encryption.certificate])
    if form == "bare":
        outer = build_signed_data(
            encrypted, signer=bob_signing.key, signer_certificate=bob_signing.certificate
        )
    else:
        opaque = build_signed_data(
            encrypted, signer=bob_signing.key, signer_certificate=bob_signing.certificate
        )
        outer = (
            b"From: Bob <bob@campus.example>\r\nSubject: Minutes\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(opaque)
        )
    content, layers = _open(outer, mary_encryption)
    assert layers == ("signed-data", "enveloped-data")
    assert b"Hello Mary,\r\nthe minutes are attached." in content
    assert b"Subject: Minutes" in content


def test_a_message_is_opened_with_whichever_key_fits(mary_encryption: Issued, ca: TestCa) -> None:
    other = ca.issue("mary@campus.example", usage="encrypt")
    encrypted = encrypt_message(mail(), [mary_encryption.certificate])
    assert _open(encrypted, other, mary_encryption)[1] == ("enveloped-data",)
    with pytest.raises(DecryptionFailed, match="not encrypted to any key"):
        _open(encrypted, other)


def test_a_message_without_encryption_is_refused(mary_encryption: Issued, bob_signing: Issued) -> None:
    with pytest.raises(MalformedMessage, match="not encrypted"):
        _open(mail(), mary_encryption)
    signed = build_signed_data(PART, signer=bob_signing.key, signer_certificate=bob_signing.certificate)
    with pytest.raises(MalformedMessage, match="not encrypted"):
        _open(signed, mary_encryption)


def test_a_damaged_signature_does_not_stop_decryption(
    ca: TestCa, bob_signing: Issued, mary_encryption: Issued
) -> None:
    signed = bytearray(
        build_signed_data(PART, signer=bob_signing.key, signer_certificate=bob_signing.certificate)
    )
    signed[-5] ^= 0x01  # inside the signature value
    inner = build_enveloped_data(bytes(signed), [mary_encryption.certificate])
    content, layers = _open(inner, mary_encryption)  # a legal release still gets the content
    assert layers == ("enveloped-data",)
    with pytest.raises(SignatureInvalid):
        verify_message(
            b"From: Bob <bob@campus.example>\r\n" + content,
            trust_roots=[ca.root.certificate],
            crls=ca.crls(),
            at=NOW,
        )
    outer = bytearray(
        build_signed_data(inner, signer=bob_signing.key, signer_certificate=bob_signing.certificate)
    )
    outer[-5] ^= 0x01
    assert _open(bytes(outer), mary_encryption)[1] == ("signed-data", "enveloped-data")


def test_bare_cms_ignores_mime_and_text(mary_encryption: Issued) -> None:
    assert bare_cms(mail()) is None
    assert bare_cms(b"0 is a digit, not a DER SEQUENCE\r\n") is None
    der = build_enveloped_data(PART, [mary_encryption.certificate])
    assert bare_cms(b"\r\n" + _pem(der)) == der


def test_broken_pem_and_endless_nesting_are_malformed(mary_encryption: Issued) -> None:
    with pytest.raises(MalformedMessage, match="base64"):
        bare_cms(b"-----BEGIN CMS-----\r\n!!!!\r\n-----END CMS-----\r\n")
    der = PART
    for _ in range(9):
        der = build_enveloped_data(der, [mary_encryption.certificate])
    with pytest.raises(MalformedMessage, match="more than 8 CMS layers"):
        _open(der, mary_encryption)
