"""OCSP request parsing: anything but one well-formed CertID is malformedRequest, never a crash."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from campusca.pki.errors import OcspMalformedRequest
from campusca.pki.ocsp import parse_ocsp_request


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_are_malformed_requests(data: bytes) -> None:
    with pytest.raises(OcspMalformedRequest):
        parse_ocsp_request(data)


def test_request_with_nonce_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from campusca.pki.certificates import build_root_ca
    from tests.unit.pki.test_profiles import NOW

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = build_root_ca(
        key=key,
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]),
        not_before=NOW,
        validity_days=10,
    )
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(b"\x01" * 20, b"\x02" * 20, 12345, hashes.SHA1())
        .add_extension(x509.OCSPNonce(b"nonce-1234567890"), critical=False)
        .build()
    )
    query = parse_ocsp_request(request.public_bytes(serialization.Encoding.DER))
    assert query.serial == 12345
    assert query.nonce == b"nonce-1234567890"
    assert not query.names_issuer(ca)


def _request_with_serial(serial: int) -> bytes:
    from asn1crypto import ocsp as asn1_ocsp

    cert_id = {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": b"\x01" * 20,
        "issuer_key_hash": b"\x02" * 20,
        "serial_number": serial,
    }
    return asn1_ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}}).dump()


def test_negative_serial_is_a_malformed_request() -> None:
    with pytest.raises(OcspMalformedRequest, match="serial number must not be negative"):
        parse_ocsp_request(_request_with_serial(-5))


def test_serial_beyond_159_bits_is_read() -> None:
    assert parse_ocsp_request(_request_with_serial(2**200)).serial == 2**200
