"""CertRep replies read back with the client side: content, nonces, transactionID, algorithms, tags."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from campusca.pki import cms
from campusca.scep import (
    FailInfo,
    MessageType,
    PkiMessage,
    PkiStatus,
    ScepOID,
    ScepRequestError,
    build_cert_rep_failure,
    build_cert_rep_pending,
    build_cert_rep_success,
    parse_pki_message,
)
from tests.support.peers import require_peer
from tests.support.scep_client import (
    ClientMessage,
    build_get_crl,
    build_pkcs_req,
    build_pki_message,
    read_cert_rep,
)
from tests.unit.scep.conftest import Party

C = cms.ContentCipher
K = cms.KeyTransport


def _request(
    ra: Party, device: Party, csr, *, cipher=C.AES_128_CBC, digest="sha256", transport=K.RSA_PKCS1V15
) -> tuple[ClientMessage, PkiMessage]:
    sent = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        cipher=cipher,
        digest=digest,
        key_transport=transport,
        transaction_id="95C27FFF28855060110299498AF8D3188A71ABDD",
    )
    parsed = parse_pki_message(
        sent.der, recipient_certificate=ra.certificate, decrypter=ra.key, allow_single_des=True
    )
    return sent, parsed


def _read(der: bytes, device: Party, ra: Party):
    return read_cert_rep(
        der, signer_key=device.key, signer_certificate=device.certificate, expected_signer=ra.certificate
    )


@pytest.fixture(scope="module")
def ios_request(ra: Party, device: Party, csr) -> tuple[ClientMessage, PkiMessage]:
    return _request(ra, device, csr)


def test_success_reply_carries_issued_certificate_first_then_chain(
    ra: Party, ca: Party, device: Party, issued, ios_request
) -> None:
    sent, request = ios_request
    reply = build_cert_rep_success(
        request, issued=[issued, ca.certificate], signer_certificate=ra.certificate, signer=ra.key
    )
    read = _read(reply, device, ra)
    assert read.status is PkiStatus.SUCCESS
    assert read.fail_info is None
    assert read.certificates == (issued, ca.certificate)
    assert read.transaction_id == sent.transaction_id
    assert read.recipient_nonce == sent.sender_nonce
    assert len(read.sender_nonce) == 16 and read.sender_nonce != sent.sender_nonce


def test_success_replies_get_fresh_sender_nonces(ra: Party, device: Party, issued, ios_request) -> None:
    _, request = ios_request
    nonces = {
        _read(
            build_cert_rep_success(
                request, issued=[issued], signer_certificate=ra.certificate, signer=ra.key
            ),
            device,
            ra,
        ).sender_nonce
        for _ in range(3)
    }
    assert len(nonces) == 3


@pytest.mark.parametrize(
    ("cipher", "digest", "transport"),
    [
        pytest.param(C.AES_128_CBC, "sha512", K.RSA_PKCS1V15, id="ok-ios-sha512"),
        pytest.param(C.DES_EDE3_CBC, "sha256", K.RSA_PKCS1V15, id="ok-3des"),
        pytest.param(C.AES_256_CBC, "sha256", K.RSA_PKCS1V15, id="ok-certmonger-aes256"),
        pytest.param(C.DES_CBC, "sha1", K.RSA_PKCS1V15, id="ok-scepclient-des-when-allowed"),
        pytest.param(C.AES_128_CBC, "sha256", K.RSA_OAEP_SHA256, id="ok-oaep"),
    ],
)
def test_success_reply_mirrors_request_digest_cipher_and_key_transport(
    ra: Party, device: Party, csr, issued, cipher, digest, transport
) -> None:
    _, request = _request(ra, device, csr, cipher=cipher, digest=digest, transport=transport)
    reply = build_cert_rep_success(request, issued=[issued], signer_certificate=ra.certificate, signer=ra.key)
    read = _read(reply, device, ra)
    assert (read.digest_algorithm, read.content_cipher, read.key_transport) == (digest, cipher, transport)


def _attribute_bytes(oid: str, tag: int, value: bytes) -> bytes:
    """DER of `SEQUENCE { oid, SET { <tag> value } }` for short values."""
    encoded_oid = {
        ScepOID.MESSAGE_TYPE: bytes.fromhex("060a6086480186f84501090" + "2"),
        ScepOID.PKI_STATUS: bytes.fromhex("060a6086480186f84501090" + "3"),
        ScepOID.FAIL_INFO: bytes.fromhex("060a6086480186f84501090" + "4"),
        ScepOID.TRANSACTION_ID: bytes.fromhex("060a6086480186f84501090" + "7"),
        ScepOID.FAIL_INFO_TEXT: bytes.fromhex("06082b06010505071801"),
    }[oid]
    inner = bytes([tag, len(value)]) + value
    values = bytes([0x31, len(inner)]) + inner
    return bytes([0x30, len(encoded_oid) + len(values)]) + encoded_oid + values


def test_success_reply_encodes_scep_attributes_as_printable_strings(ra: Party, issued, ios_request) -> None:
    sent, request = ios_request
    reply = build_cert_rep_success(request, issued=[issued], signer_certificate=ra.certificate, signer=ra.key)
    assert _attribute_bytes(ScepOID.MESSAGE_TYPE, 0x13, b"3") in reply
    assert _attribute_bytes(ScepOID.PKI_STATUS, 0x13, b"0") in reply
    assert _attribute_bytes(ScepOID.TRANSACTION_ID, 0x13, sent.transaction_id.encode()) in reply


def test_failure_reply_has_fail_info_and_utf8_text_and_no_content(
    ra: Party, device: Party, ios_request
) -> None:
    sent, request = ios_request
    reply = build_cert_rep_failure(
        request,
        FailInfo.BAD_REQUEST,
        "challenge password is wrong or used",
        signer_certificate=ra.certificate,
        signer=ra.key,
    )
    read = _read(reply, device, ra)
    assert read.status is PkiStatus.FAILURE
    assert read.fail_info is FailInfo.BAD_REQUEST
    assert read.fail_info_text == "challenge password is wrong or used"
    assert read.certificates == ()
    assert read.recipient_nonce == sent.sender_nonce
    assert _attribute_bytes(ScepOID.PKI_STATUS, 0x13, b"2") in reply
    assert _attribute_bytes(ScepOID.FAIL_INFO, 0x13, b"2") in reply
    assert _attribute_bytes(ScepOID.FAIL_INFO_TEXT, 0x0C, b"challenge password is wrong or used") in reply


def test_failure_reply_without_text_omits_fail_info_text(ra: Party, device: Party, ios_request) -> None:
    _, request = ios_request
    reply = build_cert_rep_failure(
        request, FailInfo.BAD_CERT_ID, signer_certificate=ra.certificate, signer=ra.key
    )
    read = _read(reply, device, ra)
    assert (read.fail_info, read.fail_info_text) == (FailInfo.BAD_CERT_ID, None)


def test_failure_reply_built_from_request_error_header(ra: Party, device: Party, csr) -> None:
    """Single DES refused: the web layer answers from the error's header with the request's digest."""
    sent = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        cipher=C.DES_CBC,
        digest="sha1",
    )
    with pytest.raises(ScepRequestError) as caught:
        parse_pki_message(sent.der, recipient_certificate=ra.certificate, decrypter=ra.key)
    error = caught.value
    reply = build_cert_rep_failure(
        error.request, error.fail_info, error.text, signer_certificate=ra.certificate, signer=ra.key
    )
    read = _read(reply, device, ra)
    assert read.fail_info is FailInfo.BAD_ALG
    assert read.transaction_id == sent.transaction_id
    assert read.recipient_nonce == sent.sender_nonce
    assert read.digest_algorithm == "sha1"


def test_pending_reply_has_status_three_and_no_fail_info(ra: Party, device: Party, ios_request) -> None:
    sent, request = ios_request
    reply = build_cert_rep_pending(request, signer_certificate=ra.certificate, signer=ra.key)
    read = _read(reply, device, ra)
    assert (read.status, read.fail_info, read.certificates) == (PkiStatus.PENDING, None, ())
    assert read.transaction_id == sent.transaction_id
    assert _attribute_bytes(ScepOID.PKI_STATUS, 0x13, b"3") in reply


def test_get_crl_reply_carries_the_crl(ra: Party, ca: Party, device: Party, issued) -> None:
    now = datetime.now(UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .sign(ca.key, hashes.SHA256())
    )
    sent = build_get_crl(
        ca.certificate.subject,
        issued.serial_number,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
    )
    request = parse_pki_message(sent.der, recipient_certificate=ra.certificate, decrypter=ra.key)
    reply = build_cert_rep_success(
        request, issued=(), crls=[crl], signer_certificate=ra.certificate, signer=ra.key
    )
    read = _read(reply, device, ra)
    assert read.crls == (crl,)
    assert read.certificates == ()


def test_success_reply_with_nothing_to_send_is_value_error(ra: Party, ios_request) -> None:
    _, request = ios_request
    with pytest.raises(ValueError, match="issued"):
        build_cert_rep_success(request, issued=(), signer_certificate=ra.certificate, signer=ra.key)


def test_reply_signing_time_is_included_when_given(ra: Party, device: Party, issued, ios_request) -> None:
    _, request = ios_request
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    reply = build_cert_rep_pending(
        request, signer_certificate=ra.certificate, signer=ra.key, signing_time=when
    )
    assert cms.parse_signed_data(reply).signing_time == when


@pytest.mark.interop
def test_openssl_cms_verify_accepts_success_reply(
    tmp_path: Path, ra: Party, ca: Party, device: Party, issued, ios_request
) -> None:
    """OpenSSL (as certmonger uses it) verifies the CertRep with S/MIME purpose checks."""
    require_peer("openssl")
    _, request = ios_request
    reply = build_cert_rep_success(
        request, issued=[issued, ca.certificate], signer_certificate=ra.certificate, signer=ra.key
    )
    (tmp_path / "reply.der").write_bytes(reply)
    (tmp_path / "ca.pem").write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "reply.der",
            "-CAfile",
            "ca.pem",
            "-binary",
            "-out",
            "envelope.der",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "envelope.der").read_bytes() == cms.parse_signed_data(reply).content
    (tmp_path / "device.pem").write_bytes(device.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "device.key").write_bytes(
        device.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    decrypted = subprocess.run(
        [
            "openssl",
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            "envelope.der",
            "-recip",
            "device.pem",
            "-inkey",
            "device.key",
            "-binary",
            "-out",
            "certs.der",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert decrypted.returncode == 0, decrypted.stderr
    assert cms.parse_certs_only((tmp_path / "certs.der").read_bytes())[0] == (issued, ca.certificate)


@pytest.mark.interop
def test_openssl_reads_the_ios_style_ber_request(tmp_path: Path, ra: Party, device: Party, csr) -> None:
    """The test client's indefinite-length BER is real BER that OpenSSL verifies too."""
    require_peer("openssl")
    sent = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        ber_indefinite=True,
    )
    (tmp_path / "req.ber").write_bytes(sent.der)
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-noverify",
            "-inform",
            "DER",
            "-in",
            "req.ber",
            "-binary",
            "-out",
            "envelope.ber",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "envelope.ber").read_bytes()[:2] == b"\x30\x80"


def test_client_helper_sends_message_type_as_decimal_printable_string(ra: Party, device: Party) -> None:
    """Guard the client helper itself: messageType "19" is the decimal text, not an enum repr."""
    sent = build_pki_message(
        b"\x30\x00",
        message_type=MessageType.PKCS_REQ,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="X",
    )
    assert _attribute_bytes(ScepOID.MESSAGE_TYPE, 0x13, b"19") in sent.der
