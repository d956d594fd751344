"""IssuerAndSubject / IssuerAndSerialNumber codecs and the CSR challengePassword reader."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from campusca.scep import (
    IssuerAndSerial,
    IssuerAndSubject,
    ScepDecodeError,
    decode_issuer_and_serial,
    decode_issuer_and_subject,
    encode_issuer_and_serial,
    encode_issuer_and_subject,
    read_challenge_password,
)
from tests.unit.scep.conftest import build_csr_der

MIXED = x509.Name(
    [
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH")]),
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ünì Campus", _type=_ASN1Type.BMPString),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IT", _type=_ASN1Type.PrintableString),
            ]
        ),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "it@campus.example")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "Campus CA")]),
    ]
)


def test_issuer_and_subject_round_trips_with_exact_name_bytes() -> None:
    subject = x509.Name.from_rfc4514_string("CN=device-001")
    data = encode_issuer_and_subject(IssuerAndSubject(MIXED, subject))
    decoded = decode_issuer_and_subject(data)
    assert decoded == IssuerAndSubject(MIXED, subject)
    assert decoded.issuer.public_bytes() == MIXED.public_bytes()


def test_issuer_and_serial_round_trips_a_159_bit_serial() -> None:
    value = IssuerAndSerial(MIXED, (1 << 158) + 12345)
    decoded = decode_issuer_and_serial(encode_issuer_and_serial(value))
    assert decoded == value
    assert decoded.issuer.public_bytes() == MIXED.public_bytes()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="fail-empty"),
        pytest.param(b"\x30\x00", id="fail-empty-sequence"),
        pytest.param(b"\x30\x03\x02\x01\x05", id="fail-no-issuer"),
        pytest.param(encode_issuer_and_serial(IssuerAndSerial(MIXED, 7)) + b"\x00", id="fail-trailing-data"),
    ],
)
def test_decode_issuer_and_serial_rejects_malformed_input(data: bytes) -> None:
    with pytest.raises(ScepDecodeError):
        decode_issuer_and_serial(data)


def test_decode_issuer_and_serial_rejects_negative_serial() -> None:
    good = encode_issuer_and_serial(IssuerAndSerial(x509.Name([]), 5))
    assert good.endswith(b"\x02\x01\x05")
    with pytest.raises(ScepDecodeError, match="serial"):
        decode_issuer_and_serial(good[:-1] + b"\xfb")


def test_decode_issuer_and_subject_rejects_serial_in_place_of_subject() -> None:
    with pytest.raises(ScepDecodeError, match="IssuerAndSubject"):
        decode_issuer_and_subject(encode_issuer_and_serial(IssuerAndSerial(MIXED, 7)))


def test_decode_name_with_non_string_value_is_decode_error() -> None:
    # Name { RDN { CN = INTEGER 1 } }, serial 1
    bad_name = bytes.fromhex("300c310a300806035504030201" + "01")
    with pytest.raises(ScepDecodeError):
        decode_issuer_and_serial(bytes([0x30, len(bad_name) + 3]) + bad_name + b"\x02\x01\x01")


def test_decode_name_with_integer_value_under_unknown_type_is_decode_error() -> None:
    # Name { RDN { 1.2.3.4 = INTEGER 1 } }, serial 1
    bad_name = bytes.fromhex("300c310a300806032a0304020101")
    with pytest.raises(ScepDecodeError, match="not a string"):
        decode_issuer_and_serial(bytes([0x30, len(bad_name) + 3]) + bad_name + b"\x02\x01\x01")


def test_read_challenge_password_absent_is_none(device_key) -> None:
    assert read_challenge_password(build_csr_der(device_key)) is None


def test_read_challenge_password_from_garbage_is_decode_error() -> None:
    with pytest.raises(ScepDecodeError, match="challengePassword"):
        read_challenge_password(b"\x30\x03\x02\x01\x00")


def test_decode_name_with_empty_relative_distinguished_name_is_decode_error() -> None:
    empty_rdn_name = bytes.fromhex("30023100")
    data = bytes([0x30, len(empty_rdn_name) + 3]) + empty_rdn_name + b"\x02\x01\x01"
    with pytest.raises(ScepDecodeError):
        decode_issuer_and_serial(data)


def test_read_challenge_password_with_two_values_is_decode_error(device_key) -> None:
    from asn1crypto import csr as asn1_csr
    from asn1crypto import x509 as asn1_x509

    request = asn1_csr.CertificationRequest.load(build_csr_der(device_key))
    values = [asn1_x509.DirectoryString(name="printable_string", value=v) for v in "ab"]
    request["certification_request_info"]["attributes"] = [{"type": "challenge_password", "values": values}]
    with pytest.raises(ScepDecodeError, match="exactly one value"):
        read_challenge_password(request.dump(force=True))
