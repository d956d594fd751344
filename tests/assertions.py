"""Domain assertions shared by tests (kept here so each test reads as what a person does)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509 import ocsp


def assert_crl_contains(crl_der: bytes, serial: int, *, reason: x509.ReasonFlags | None = None) -> None:
    crl = x509.load_der_x509_crl(crl_der)
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None, f"serial {serial:x} is not on the CRL"
    if reason is not None:
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == reason


def assert_ocsp_status(response_der: bytes, expected: ocsp.OCSPCertStatus) -> ocsp.OCSPResponse:
    response = ocsp.load_der_ocsp_response(response_der)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == expected
    return response


def crl_number(crl_der: bytes) -> int:
    return x509.load_der_x509_crl(crl_der).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
