"""RFC 7468 textual encodings: text around the blocks, whitespace, labels (NSS and Windows requests)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from campusca.pki.csr import load_csr
from campusca.pki.errors import CsrInvalid
from campusca.pki.pem import load_certificates, pem_blocks, pem_der

VECTORS = Path(__file__).parents[2] / "vectors" / "csr"


def _csr_der(cn: str = "req") -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def _block(label: str, der: bytes, *, eol: str = "\n", width: int = 64) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + width] for i in range(0, len(b64), width)]
    return f"-----BEGIN {label}-----{eol}{eol.join(lines)}{eol}-----END {label}-----{eol}"


def test_load_csr_reads_an_nss_certutil_request_with_its_text_header() -> None:
    data = (VECTORS / "nss-certutil.csr").read_bytes()
    assert not data.startswith(b"-----BEGIN")
    assert load_csr(data).subject.rfc4514_string() == "CN=erin@example.edu"


def test_load_csr_reads_a_windows_certreq_request_with_crlf_lines() -> None:
    data = (VECTORS / "certreq-windows.req").read_bytes()
    assert b"\r\n" in data and b"NEW CERTIFICATE REQUEST" in data
    assert load_csr(data).subject.rfc4514_string() == "CN=WS-0042.example.edu"


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(
            lambda der: "Subject: someone\n\n" + _block("CERTIFICATE REQUEST", der), id="ok-text-before"
        ),
        pytest.param(lambda der: _block("CERTIFICATE REQUEST", der) + "trailing notes\n", id="ok-text-after"),
        pytest.param(lambda der: _block("NEW CERTIFICATE REQUEST", der, eol="\r\n"), id="ok-new-label-crlf"),
        pytest.param(
            lambda der: _block("CERTIFICATE REQUEST", der, width=20).replace("\n", " \t\n"), id="ok-ws"
        ),
        pytest.param(lambda der: "  \n\n" + _block("CERTIFICATE REQUEST", der, width=76), id="ok-76-columns"),
    ],
)
def test_load_csr_skips_text_outside_the_block_and_whitespace_inside(shape) -> None:  # type: ignore[no-untyped-def]
    der = _csr_der("shaped")
    assert load_csr(shape(der).encode()).subject.rfc4514_string() == "CN=shaped"


def test_load_csr_picks_the_request_block_among_others() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")])
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    text = certificate.public_bytes(serialization.Encoding.PEM).decode() + _block(
        "NEW CERTIFICATE REQUEST", _csr_der("wanted")
    )
    assert load_csr(text.encode()).subject.rfc4514_string() == "CN=wanted"
    assert [c.subject for c in load_certificates(("openssl x509 -text output\n" + text).encode())] == [name]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "CERTIFICATE REQUEST",
            id="fail-label",
        ),
        pytest.param(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END NEW CERTIFICATE REQUEST-----\n",
            "CERTIFICATE REQUEST",
            id="fail-mismatched-end",
        ),
        pytest.param(
            "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
            "CERTIFICATE REQUEST",
            id="fail-base64",
        ),
        pytest.param(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "not a valid",
            id="fail-not-pkcs10",
        ),
    ],
)
def test_load_csr_refuses_blocks_that_are_not_a_request(text: str, message: str) -> None:
    with pytest.raises(CsrInvalid, match=message):
        load_csr(text.encode())


def test_pem_blocks_ignore_an_unterminated_block_and_read_the_next() -> None:
    der = _csr_der()
    text = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n" + _block("CERTIFICATE REQUEST", der)
    assert [b.der for b in pem_blocks(text.encode())] == [der]
    assert pem_der(text.encode(), ("PRIVATE KEY",)) is None


def test_load_certificates_refuses_text_without_a_certificate() -> None:
    with pytest.raises(ValueError, match="no CERTIFICATE block"):
        load_certificates(_block("CERTIFICATE REQUEST", _csr_der()).encode())
