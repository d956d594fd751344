"""Hostile input: tampered, misaddressed, truncated and random messages raise only the codec's errors."""

from __future__ import annotations

import contextlib

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusca.pki import cms
from campusca.scep import (
    FailInfo,
    ScepDecodeError,
    ScepError,
    ScepOID,
    ScepRequestError,
    decode_message_param,
    parse_pki_message,
)
from tests.support.scep_client import build_pkcs_req
from tests.unit.scep.conftest import Party

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def request_der(ra: Party, device: Party, csr) -> bytes:
    return build_pkcs_req(
        csr, signer_key=device.key, signer_certificate=device.certificate, recipient=ra.certificate
    ).der


@pytest.fixture(scope="module")
def ber_request_der(ra: Party, device: Party, csr) -> bytes:
    return build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=device.certificate,
        recipient=ra.certificate,
        ber_indefinite=True,
    ).der


def _parse(der: bytes, ra: Party):
    return parse_pki_message(der, recipient_certificate=ra.certificate, decrypter=ra.key)


def test_tampered_signature_is_decode_error(ra: Party, request_der: bytes) -> None:
    tampered = bytearray(request_der)
    tampered[-10] ^= 0x01  # the signature is the last field of the last SignerInfo
    with pytest.raises(ScepDecodeError, match="signature"):
        _parse(bytes(tampered), ra)


def test_envelope_for_another_certificate_is_bad_message_check(
    ra: Party, stranger: Party, device: Party, csr
) -> None:
    sent = build_pkcs_req(
        csr, signer_key=device.key, signer_certificate=device.certificate, recipient=stranger.certificate
    )
    with pytest.raises(ScepRequestError) as caught:
        _parse(sent.der, ra)
    assert caught.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert caught.value.request.transaction_id == sent.transaction_id


def test_wrong_decrypter_for_recipient_is_bad_message_check(ra: Party, stranger: Party, request_der) -> None:
    """The envelope names the RA but the key given is another one (a misconfigured RA key)."""
    with pytest.raises(ScepRequestError) as caught:
        parse_pki_message(request_der, recipient_certificate=ra.certificate, decrypter=stranger.key)
    assert caught.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


@pytest.mark.parametrize("cut", [1, 2, 10, 100, 500, 1000, -200, -1])
def test_truncated_message_is_decode_error(
    ra: Party, request_der: bytes, ber_request_der: bytes, cut: int
) -> None:
    for der in (request_der, ber_request_der):
        with pytest.raises(ScepDecodeError):
            _parse(der[:cut], ra)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_decode_error(ra: Party, data: bytes) -> None:
    with pytest.raises(ScepDecodeError):
        _parse(data, ra)


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255), which=st.booleans())
def test_single_byte_corruption_raises_only_scep_errors(
    ra: Party, request_der: bytes, ber_request_der: bytes, position: int, value: int, which: bool
) -> None:
    der = bytearray(ber_request_der if which else request_der)
    der[position % len(der)] = value
    # ScepDecodeError or ScepRequestError are fine; any other exception fails the test.
    with contextlib.suppress(ScepError):
        _parse(bytes(der), ra)


@FUZZ
@given(text=st.text(max_size=300))
def test_decode_message_param_random_text_raises_only_decode_error(text: str) -> None:
    with contextlib.suppress(ScepDecodeError):
        decode_message_param(text)


def _signed_request(device: Party, envelope: bytes, message_type: str = "19") -> bytes:
    attributes = [
        asn1_cms.CMSAttribute({"type": ScepOID.MESSAGE_TYPE, "values": [core.PrintableString(message_type)]}),
        asn1_cms.CMSAttribute({"type": ScepOID.TRANSACTION_ID, "values": [core.PrintableString("FUZZ")]}),
        asn1_cms.CMSAttribute({"type": ScepOID.SENDER_NONCE, "values": [core.OctetString(b"n" * 16)]}),
    ]
    return cms.build_signed_data(
        envelope, signer=device.key, signer_certificate=device.certificate, extra_signed_attributes=attributes
    )


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_corrupt_envelope_under_valid_signature_raises_only_request_error(
    ra: Party, device: Party, csr, position: int, value: int
) -> None:
    envelope = bytearray(cms.build_enveloped_data(csr.public_bytes(Encoding.DER), [ra.certificate]))
    envelope[position % len(envelope)] = value
    try:
        message = _parse(_signed_request(device, bytes(envelope)), ra)
    except ScepRequestError as exc:
        assert exc.request.transaction_id == "FUZZ"
    else:
        assert message.csr is not None


@FUZZ
@given(
    message_type=st.sampled_from(["17", "19", "20", "21", "22"]),
    data=st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"\x30\x80\x00\x00", b"\x30\x00"])),
)
def test_arbitrary_message_data_raises_only_request_error(
    ra: Party, device: Party, message_type: str, data: bytes
) -> None:
    envelope = cms.build_enveloped_data(data, [ra.certificate], cipher=cms.ContentCipher.AES_128_CBC)
    try:
        _parse(_signed_request(device, envelope, message_type), ra)
    except ScepRequestError as exc:
        assert exc.fail_info in (FailInfo.BAD_REQUEST, FailInfo.BAD_MESSAGE_CHECK, FailInfo.BAD_ALG)
