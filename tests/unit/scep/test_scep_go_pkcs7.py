"""Regression: Go's pkcs7 (micromdm scepclient 2.1.0) writes encryptedContent as a definite-length
constructed [0] holding one OCTET STRING, which asn1crypto alone parses only in indefinite form."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from campusca.pki import cms
from campusca.scep import MessageType, parse_pki_message
from tests.support.scep_client import build_pki_message
from tests.unit.scep.conftest import Party


def _tlvs(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        start, length = pos, data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
        pos += length
        out.append(data[start:pos])
    return out


def _content(tlv: bytes) -> bytes:
    return tlv[2 + (tlv[1] & 0x7F) :] if tlv[1] & 0x80 else tlv[2:]


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


def go_style_envelope(envelope: bytes) -> bytes:
    """Re-encode encryptedContent [0] IMPLICIT OCTET STRING as `A0 len 04 len …` (definite, constructed)."""
    oid, explicit = _tlvs(_content(envelope))
    fields = _tlvs(_content(_tlvs(_content(explicit))[0]))
    content_type, algorithm, ciphertext = _tlvs(_content(fields[-1]))
    assert ciphertext[0] == 0x80, "asn1crypto writes the primitive form"
    go_ciphertext = _tlv(0xA0, _tlv(0x04, _content(ciphertext)))
    fields[-1] = _tlv(0x30, content_type + algorithm + go_ciphertext)
    return _tlv(0x30, oid + _tlv(0xA0, _tlv(0x30, b"".join(fields))))


def test_go_style_encrypted_content_decrypts(ra: Party, device: Party) -> None:
    envelope = cms.build_enveloped_data(b"secret payload", [ra.certificate], cipher=cms.ContentCipher.DES_CBC)
    go_envelope = go_style_envelope(envelope)
    assert go_envelope != envelope
    decrypted = cms.decrypt_enveloped_data(
        go_envelope,
        recipient_certificate=ra.certificate,
        decrypter=ra.key,
        allowed_ciphers=frozenset(cms.ContentCipher),
    )
    assert decrypted.content == b"secret payload"


def test_go_style_pkcs_req_parses(
    ra: Party, device: Party, csr: x509.CertificateSigningRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = cms.build_enveloped_data
    monkeypatch.setattr(cms, "build_enveloped_data", lambda *a, **k: go_style_envelope(original(*a, **k)))
    message = build_pki_message(
        csr.public_bytes(serialization.Encoding.DER),
        message_type=MessageType.PKCS_REQ,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="go-style",
        cipher=cms.ContentCipher.DES_CBC,
        digest="sha1",
    )
    monkeypatch.undo()
    parsed = parse_pki_message(
        message.der, recipient_certificate=ra.certificate, decrypter=ra.key, allow_single_des=True
    )
    assert parsed.csr == csr and parsed.challenge_password == "s3cret-123"
