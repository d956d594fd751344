"""parse_pki_message with requests built the way iOS, scepclient and certmonger build them."""

from __future__ import annotations

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from campusca.pki import cms
from campusca.scep import (
    FailInfo,
    IssuerAndSerial,
    IssuerAndSubject,
    MessageType,
    ScepDecodeError,
    ScepOID,
    ScepRequestError,
    parse_pki_message,
)
from tests.support.scep_client import (
    apple_transaction_id,
    build_cert_poll,
    build_get_cert,
    build_get_crl,
    build_pkcs_req,
    build_pki_message,
)
from tests.unit.scep.conftest import Party, build_csr_der, issue

C = cms.ContentCipher
K = cms.KeyTransport


def _parse(der: bytes, ra: Party, **kwargs: bool):
    return parse_pki_message(der, recipient_certificate=ra.certificate, decrypter=ra.key, **kwargs)


@pytest.mark.parametrize(
    ("cipher", "digest", "transport", "ber"),
    [
        pytest.param(C.AES_128_CBC, "sha256", K.RSA_PKCS1V15, False, id="ok-ios-aes128-sha256"),
        pytest.param(C.AES_128_CBC, "sha512", K.RSA_PKCS1V15, True, id="ok-ios-aes128-sha512-ber"),
        pytest.param(C.DES_EDE3_CBC, "sha256", K.RSA_PKCS1V15, True, id="ok-ios-3des-without-aes-cap"),
        pytest.param(C.AES_256_CBC, "sha256", K.RSA_PKCS1V15, False, id="ok-certmonger-aes256"),
        pytest.param(C.AES_128_CBC, "sha256", K.RSA_OAEP_SHA1, False, id="ok-windows-oaep-sha1"),
        pytest.param(C.AES_256_CBC, "sha384", K.RSA_OAEP_SHA256, False, id="ok-oaep-sha256"),
    ],
)
def test_parse_pkcs_req_reads_csr_challenge_and_algorithms(
    ra: Party, device: Party, csr: x509.CertificateSigningRequest, cipher, digest, transport, ber
) -> None:
    sent = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        cipher=cipher,
        digest=digest,
        key_transport=transport,
        ber_indefinite=ber,
    )
    if ber:
        assert sent.der[:2] == b"\x30\x80"  # the outer ContentInfo really is indefinite-length
    message = _parse(sent.der, ra)
    assert message.message_type is MessageType.PKCS_REQ
    assert message.transaction_id == apple_transaction_id(device.key.public_key())
    assert message.sender_nonce == sent.sender_nonce
    assert message.signer_certificate == device.certificate
    assert message.digest_algorithm == digest
    assert message.content_cipher is cipher
    assert message.key_transport is transport
    assert message.csr == csr
    assert message.challenge_password == "s3cret-123"
    assert message.issuer_and_serial is None and message.issuer_and_subject is None
    assert message.raw == sent.der
    assert message.signing_time is not None and message.signing_time.tzinfo is not None


def _scepclient_request(ra: Party, device: Party, csr: x509.CertificateSigningRequest) -> bytes:
    """micromdm scepclient 2.1.0: single DES, SHA-1, rsaEncryption without parameters."""
    return build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        cipher=C.DES_CBC,
        digest="sha1",
        transaction_id="n2Vv2mJ8kX+Yb/0Nq3sHq3F3nCo=",
        rsa_parameters_absent=True,
    ).der


def test_parse_scepclient_single_des_is_bad_alg_by_default(ra: Party, device: Party, csr) -> None:
    with pytest.raises(ScepRequestError) as caught:
        _parse(_scepclient_request(ra, device, csr), ra)
    assert caught.value.fail_info is FailInfo.BAD_ALG
    assert caught.value.request.transaction_id == "n2Vv2mJ8kX+Yb/0Nq3sHq3F3nCo="
    assert caught.value.request.digest_algorithm == "sha1"


def test_parse_scepclient_single_des_is_accepted_when_allowed(ra: Party, device: Party, csr) -> None:
    der = _scepclient_request(ra, device, csr)
    algorithm = asn1_cms.ContentInfo.load(
        asn1_cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].native
    )["content"]["recipient_infos"][0].chosen["key_encryption_algorithm"]
    assert algorithm["parameters"].native is None and len(algorithm.dump()) == 13  # parameters absent
    message = _parse(der, ra, allow_single_des=True)
    assert message.content_cipher is C.DES_CBC
    assert message.digest_algorithm == "sha1"
    assert message.csr == csr


def test_parse_renewal_req_signed_by_issued_certificate(ra: Party, device: Party, issued) -> None:
    renewal_csr = x509.load_der_x509_csr(build_csr_der(device.key))
    sent = build_pkcs_req(
        renewal_csr,
        signer_key=device.key,
        signer_certificate=issued,
        recipient=ra.certificate,
        message_type=MessageType.RENEWAL_REQ,
    )
    message = _parse(sent.der, ra)
    assert message.message_type is MessageType.RENEWAL_REQ
    assert message.signer_certificate == issued
    assert message.challenge_password is None


@pytest.mark.parametrize(
    "challenge",
    [
        pytest.param(core.PrintableString("s3cret-123"), id="ok-printable"),
        pytest.param(core.UTF8String("pässwört-✓"), id="ok-utf8"),
        pytest.param(core.IA5String("s3cret@123"), id="ok-ia5"),
        pytest.param(core.BMPString("pässwört"), id="ok-bmp"),
    ],
)
def test_parse_pkcs_req_reads_challenge_of_every_string_type(ra: Party, device: Party, challenge) -> None:
    csr = x509.load_der_x509_csr(build_csr_der(device.key, challenge=challenge))
    sent = build_pkcs_req(
        csr, signer_key=device.key, signer_certificate=device.certificate, recipient=ra.certificate
    )
    assert _parse(sent.der, ra).challenge_password == challenge.native


def test_parse_cert_poll_reads_issuer_and_subject(ra: Party, ca: Party, device: Party) -> None:
    subject = x509.Name.from_rfc4514_string("CN=device-001,O=Campus,C=CH")
    sent = build_cert_poll(
        ca.certificate.subject,
        subject,
        transaction_id="ABC123",
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
    )
    message = _parse(sent.der, ra)
    assert message.message_type is MessageType.CERT_POLL
    assert message.transaction_id == "ABC123"
    assert message.issuer_and_subject == IssuerAndSubject(ca.certificate.subject, subject)
    assert message.csr is None


@pytest.mark.parametrize(
    ("builder", "message_type"),
    [
        pytest.param(build_get_cert, MessageType.GET_CERT, id="ok-getcert"),
        pytest.param(build_get_crl, MessageType.GET_CRL, id="ok-getcrl"),
    ],
)
def test_parse_get_cert_and_get_crl_read_issuer_and_serial(
    ra: Party, ca: Party, device: Party, issued, builder, message_type
) -> None:
    sent = builder(
        ca.certificate.subject,
        issued.serial_number,
        signer_key=device.key,
        signer_certificate=issued,
        recipient=ra.certificate,
    )
    message = _parse(sent.der, ra)
    assert message.message_type is message_type
    assert message.issuer_and_serial == IssuerAndSerial(ca.certificate.subject, issued.serial_number)


def test_parse_csr_version_two_is_bad_request(ra: Party, device: Party) -> None:
    """micromdm's testdata/PKCSReq.der carries a version-2 CSR; cryptography raises InvalidVersion."""
    sent = build_pki_message(
        build_csr_der(device.key, version=2),
        message_type=MessageType.PKCS_REQ,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="T1",
    )
    with pytest.raises(ScepRequestError) as caught:
        _parse(sent.der, ra)
    assert caught.value.fail_info is FailInfo.BAD_REQUEST
    assert "version" in caught.value.text
    assert caught.value.request.transaction_id == "T1"


def test_parse_csr_with_broken_signature_is_bad_message_check(ra: Party, device: Party) -> None:
    der = bytearray(build_csr_der(device.key))
    der[-5] ^= 0xFF
    sent = build_pki_message(
        bytes(der),
        message_type=MessageType.PKCS_REQ,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="T2",
    )
    with pytest.raises(ScepRequestError) as caught:
        _parse(sent.der, ra)
    assert caught.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


@pytest.mark.parametrize(
    ("message_type", "data"),
    [
        pytest.param(MessageType.PKCS_REQ, b"\x30\x03\x02\x01\x00", id="fail-pkcsreq-not-a-csr"),
        pytest.param(MessageType.CERT_POLL, b"\x04\x00", id="fail-certpoll-not-issuer-and-subject"),
        pytest.param(MessageType.GET_CERT, b"\x30\x00", id="fail-getcert-empty-sequence"),
    ],
)
def test_parse_undecodable_message_data_is_bad_request(ra: Party, device: Party, message_type, data) -> None:
    sent = build_pki_message(
        data,
        message_type=message_type,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="T3",
    )
    with pytest.raises(ScepRequestError) as caught:
        _parse(sent.der, ra)
    assert caught.value.fail_info is FailInfo.BAD_REQUEST
    assert caught.value.request.message_type is message_type


def _signed(
    device: Party, content: bytes | None, attributes: list[asn1_cms.CMSAttribute], signer_certificate=None
) -> bytes:
    return cms.build_signed_data(
        content,
        signer=device.key,
        signer_certificate=signer_certificate or device.certificate,
        extra_signed_attributes=attributes,
    )


def _attr(oid: str, value: core.Asn1Value) -> asn1_cms.CMSAttribute:
    return asn1_cms.CMSAttribute({"type": oid, "values": [value]})


def _unknown_universal_tag() -> core.Asn1Value:
    """A value with universal tag 14, which no ASN.1 type uses (asn1crypto cannot load it)."""
    value = core.OctetString(b"ZZ")
    value.tag = 14
    return value


def _scep_attributes(message_type: core.Asn1Value | None = None, **overrides: core.Asn1Value | None):
    values = {
        ScepOID.MESSAGE_TYPE: message_type or core.PrintableString("19"),
        ScepOID.TRANSACTION_ID: overrides.get("transaction_id", core.PrintableString("T9")),
        ScepOID.SENDER_NONCE: overrides.get("nonce", core.OctetString(b"\x01" * 16)),
    }
    return [_attr(oid, value) for oid, value in values.items() if value is not None]


@pytest.mark.parametrize(
    ("message_type", "expected"),
    [
        pytest.param(core.PrintableString("18"), None, id="fail-updatereq-unassigned"),
        pytest.param(core.PrintableString("3"), MessageType.CERT_REP, id="fail-certrep-is-no-request"),
        pytest.param(core.PrintableString("nineteen"), None, id="fail-not-decimal"),
    ],
)
def test_parse_non_request_message_type_is_bad_request(
    ra: Party, device: Party, message_type, expected
) -> None:
    envelope = cms.build_enveloped_data(b"x", [ra.certificate])
    with pytest.raises(ScepRequestError) as caught:
        _parse(_signed(device, envelope, _scep_attributes(message_type)), ra)
    assert caught.value.fail_info is FailInfo.BAD_REQUEST
    assert caught.value.request.message_type is expected
    assert caught.value.request.sender_nonce == b"\x01" * 16


def test_parse_message_type_as_utf8string_is_tolerated(ra: Party, device: Party, csr) -> None:
    envelope = cms.build_enveloped_data(csr.public_bytes(serialization.Encoding.DER), [ra.certificate])
    message = _parse(_signed(device, envelope, _scep_attributes(core.UTF8String("19"))), ra)
    assert message.message_type is MessageType.PKCS_REQ


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({"transaction_id": None}, id="fail-no-transaction-id"),
        pytest.param({"nonce": None}, id="fail-no-sender-nonce"),
        pytest.param({"transaction_id": core.PrintableString("")}, id="fail-empty-transaction-id"),
        pytest.param({"nonce": core.PrintableString("abc")}, id="fail-nonce-not-octets"),
        pytest.param({"transaction_id": core.Integer(7)}, id="fail-transaction-id-integer"),
        pytest.param({"transaction_id": core.Any.load(b"\x0c\x01\xff")}, id="fail-transaction-id-not-utf8"),
        pytest.param({"transaction_id": _unknown_universal_tag()}, id="fail-unknown-universal-tag"),
    ],
)
def test_parse_missing_or_mistyped_header_attribute_is_decode_error(
    ra: Party, device: Party, attributes
) -> None:
    envelope = cms.build_enveloped_data(b"x", [ra.certificate])
    with pytest.raises(ScepDecodeError):
        _parse(_signed(device, envelope, _scep_attributes(**attributes)), ra)


def test_parse_missing_message_type_is_decode_error(ra: Party, device: Party) -> None:
    envelope = cms.build_enveloped_data(b"x", [ra.certificate])
    attributes = [a for a in _scep_attributes() if a["type"].dotted != ScepOID.MESSAGE_TYPE]
    with pytest.raises(ScepDecodeError):
        _parse(_signed(device, envelope, attributes), ra)


def test_parse_without_envelope_is_bad_message_check(ra: Party, device: Party) -> None:
    with pytest.raises(ScepRequestError) as caught:
        _parse(_signed(device, None, _scep_attributes()), ra)
    assert caught.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_parse_ec_signer_is_bad_alg_because_reply_cannot_be_encrypted(ra: Party, csr) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = Party(key, issue("ec-signer", key, None))  # type: ignore[arg-type]
    envelope = cms.build_enveloped_data(csr.public_bytes(serialization.Encoding.DER), [ra.certificate])
    with pytest.raises(ScepRequestError) as caught:
        _parse(_signed(signer, envelope, _scep_attributes()), ra)
    assert caught.value.fail_info is FailInfo.BAD_ALG


def test_parse_sha1_csr_signature_is_accepted(ra: Party, device: Party) -> None:
    """iOS signs the CSR with the CMS digest; SHA-1 when a server lists only SHA-1."""
    csr = x509.load_der_x509_csr(build_csr_der(device.key, digest=hashes.SHA1()))
    sent = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        digest="sha1",
    )
    assert _parse(sent.der, ra).csr == csr


def test_parse_multi_valued_sender_nonce_is_decode_error(ra: Party, device: Party) -> None:
    envelope = cms.build_enveloped_data(b"x", [ra.certificate])
    attributes = [a for a in _scep_attributes() if a["type"].dotted != ScepOID.SENDER_NONCE]
    attributes.append(
        asn1_cms.CMSAttribute(
            {
                "type": ScepOID.SENDER_NONCE,
                "values": [core.OctetString(b"a" * 16), core.OctetString(b"b" * 16)],
            }
        )
    )
    with pytest.raises(ScepDecodeError, match="senderNonce"):
        _parse(_signed(device, envelope, attributes), ra)


def test_parse_sha1_csr_with_broken_signature_is_bad_message_check(ra: Party, device: Party) -> None:
    der = bytearray(build_csr_der(device.key, digest=hashes.SHA1()))
    der[-5] ^= 0xFF
    sent = build_pki_message(
        bytes(der),
        message_type=MessageType.PKCS_REQ,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="T4",
        digest="sha1",
    )
    with pytest.raises(ScepRequestError) as caught:
        _parse(sent.der, ra)
    assert caught.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_parse_ec_csr_signed_with_sha1_is_accepted(ra: Party, device: Party) -> None:
    """The CSR key may be EC even though the SCEP signer must be RSA."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.load_der_x509_csr(build_csr_der(key, digest=hashes.SHA1()))  # type: ignore[arg-type]
    sent = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="EC1",
    )
    assert _parse(sent.der, ra).csr == csr


def test_pki_message_header_matches_the_request_error_header(ra: Party, device: Party, csr) -> None:
    sent = build_pkcs_req(
        csr, signer_key=device.key, signer_certificate=device.certificate, recipient=ra.certificate
    )
    message = _parse(sent.der, ra)
    header = message.header
    assert (header.message_type, header.transaction_id, header.sender_nonce, header.raw) == (
        MessageType.PKCS_REQ,
        message.transaction_id,
        sent.sender_nonce,
        sent.der,
    )


def _csr_with(public_key_der: bytes, signature_algorithm: str) -> bytes:
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": 0,
            "subject": asn1_x509.Name.build({"common_name": "odd"}),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(public_key_der),
            "attributes": [],
        }
    )
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": signature_algorithm},
            "signature": b"\x01" * 64,
        }
    )
    return bytes(request.dump())


@pytest.mark.parametrize(
    ("key", "algorithm", "fail_info"),
    [
        pytest.param("rsa", "1.2.3.4", FailInfo.BAD_ALG, id="fail-unknown-signature-algorithm"),
        pytest.param("ed25519", "sha1_rsa", FailInfo.BAD_MESSAGE_CHECK, id="fail-sha1-rsa-on-ed25519-key"),
    ],
)
def test_parse_csr_with_unusable_signature_is_refused(
    ra: Party, device: Party, key, algorithm, fail_info
) -> None:
    public = (device.key if key == "rsa" else ed25519.Ed25519PrivateKey.generate()).public_key()
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    sent = build_pki_message(
        _csr_with(spki, algorithm),
        message_type=MessageType.PKCS_REQ,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        transaction_id="T5",
    )
    with pytest.raises(ScepRequestError) as caught:
        _parse(sent.der, ra)
    assert caught.value.fail_info is fail_info
