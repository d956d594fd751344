"""GetCACaps, GetCACert and GetNextCACert bodies, and the GET `message` parameter."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from campusca.pki import cms
from campusca.scep import (
    ContentType,
    ScepDecodeError,
    build_get_ca_caps,
    build_get_ca_cert,
    build_get_next_ca_cert,
    decode_message_param,
)
from tests.unit.scep.conftest import Party, issue


def test_get_ca_caps_default_lists_what_ios_needs_without_sha1() -> None:
    assert build_get_ca_caps(sha1=False) == (
        "POSTPKIOperation\nSHA-256\nSHA-512\nAES\nDES3\nRenewal\nSCEPStandard\n"
    )


def test_get_ca_caps_with_sha1_and_rollover_and_without_renewal() -> None:
    body = build_get_ca_caps(sha1=True, renewal=False, next_ca=True)
    assert body.splitlines() == [
        "POSTPKIOperation",
        "SHA-256",
        "SHA-512",
        "AES",
        "DES3",
        "SCEPStandard",
        "SHA-1",
        "GetNextCACert",
    ]
    assert "\r" not in body


def test_content_types_are_the_exact_rfc_strings() -> None:
    assert ContentType.CA_CERT == "application/x-x509-ca-cert"
    assert ContentType.CA_RA_CERT == "application/x-x509-ca-ra-cert"
    assert ContentType.NEXT_CA_CERT == "application/x-x509-next-ca-cert"
    assert ContentType.PKI_MESSAGE == "application/x-pki-message"
    assert f"{ContentType.CA_RA_CERT}" == "application/x-x509-ca-ra-cert"


def test_get_ca_cert_with_ra_is_certs_only_with_ra_first(ra: Party, ca: Party) -> None:
    body, content_type = build_get_ca_cert(ra.certificate, [ca.certificate])
    assert content_type is ContentType.CA_RA_CERT
    assert cms.parse_certs_only(body)[0] == (ra.certificate, ca.certificate)


def test_get_ca_cert_without_ra_is_the_single_der_ca_certificate(ca: Party) -> None:
    body, content_type = build_get_ca_cert(None, [ca.certificate])
    assert content_type is ContentType.CA_CERT
    assert body == ca.certificate.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("cas", [pytest.param(0, id="fail-none"), pytest.param(2, id="fail-two")])
def test_get_ca_cert_without_ra_needs_exactly_one_ca(ca: Party, cas: int) -> None:
    with pytest.raises(ValueError, match="ca_certificates"):
        build_get_ca_cert(None, [ca.certificate] * cas)


def test_get_ca_cert_with_ra_needs_its_ca(ra: Party) -> None:
    with pytest.raises(ValueError, match="ca_certificates"):
        build_get_ca_cert(ra.certificate, [])


def test_get_next_ca_cert_needs_a_certificate(ra: Party) -> None:
    with pytest.raises(ValueError, match="next_certificates"):
        build_get_next_ca_cert([], signer_certificate=ra.certificate, signer=ra.key)


def test_get_next_ca_cert_is_signed_by_current_ra_and_carries_next_ca(ra: Party, ca: Party) -> None:
    next_ca = issue("Campus Test CA 2", ca.key, None, ca=True)
    body, content_type = build_get_next_ca_cert([next_ca], signer_certificate=ra.certificate, signer=ra.key)
    assert content_type is ContentType.NEXT_CA_CERT
    signed = cms.parse_signed_data(body)
    assert signed.signer_certificate == ra.certificate
    assert signed.content is not None
    assert cms.parse_certs_only(signed.content)[0] == (next_ca,)


DER = bytes(range(256)) * 3  # contains every byte, so base64 has '+' and '/'


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(base64.b64encode(DER).decode(), id="ok-apple-plus-and-slash-unescaped"),
        pytest.param(
            base64.b64encode(DER).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"),
            id="ok-certmonger-fully-escaped",
        ),
        pytest.param(
            "%0A".join(base64.b64encode(DER).decode()[i : i + 64] for i in range(0, 1024, 64)),
            id="ok-sscep-newline-wrapped",
        ),
        pytest.param(base64.urlsafe_b64encode(DER).decode().rstrip("="), id="ok-urlsafe-unpadded"),
        pytest.param(base64.b64encode(DER).decode().replace("+", " "), id="ok-form-decoded-upstream"),
    ],
)
def test_decode_message_param_accepts_what_clients_send(raw: str) -> None:
    assert decode_message_param(raw) == DER


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="fail-empty"),
        pytest.param("%%%", id="fail-not-base64"),
        pytest.param("QUJD*", id="fail-bad-character"),
        pytest.param("QUJDR", id="fail-bad-length"),
        pytest.param("QU%C3%A9", id="fail-non-ascii"),
    ],
)
def test_decode_message_param_rejects_non_base64(raw: str) -> None:
    with pytest.raises(ScepDecodeError, match="message parameter"):
        decode_message_param(raw)
