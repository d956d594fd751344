"""Relying parties check campusca's revocation data with OpenSSL: CRL, OCSP, chain verification."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from campusca.pki.ocsp import issuer_hashes
from tests.assertions import assert_crl_contains, assert_ocsp_status, crl_number
from tests.support.ca import CaHome, make_csr, serving
from tests.support.peers import require_peer

pytestmark = pytest.mark.interop


@pytest.fixture
def served(ca: CaHome, tmp_path: Path) -> Iterator[tuple[CaHome, str, Path]]:
    require_peer("openssl")
    with serving(ca) as url:
        for slug in ("root", "issuing"):
            der = httpx.get(f"{url}/ca/{slug}.crt").content
            (tmp_path / f"{slug}.pem").write_bytes(
                x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            )
        (tmp_path / "chain.pem").write_bytes(
            (tmp_path / "root.pem").read_bytes() + (tmp_path / "issuing.pem").read_bytes()
        )
        yield ca, url, tmp_path


def _issue(ca: CaHome, tmp_path: Path, user: str = "alice") -> tuple[Path, int]:
    _, csr = make_csr(cn=f"{user}-laptop")
    (tmp_path / f"{user}.csr").write_bytes(csr)
    out = tmp_path / f"{user}.pem"
    ca.cli(
        "cert",
        "issue",
        "--profile",
        "device",
        "--csr",
        str(tmp_path / f"{user}.csr"),
        "--user",
        user,
        "--out",
        str(out),
    )
    return out, x509.load_pem_x509_certificate(out.read_bytes()).serial_number


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def _crl_bundle(url: str, tmp_path: Path) -> Path:
    bundle = tmp_path / "trust-with-crls.pem"
    pems = [(tmp_path / "chain.pem").read_bytes()]
    for slug in ("root", "issuing"):
        der = httpx.get(f"{url}/crl/{slug}.crl").content
        pems.append(x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM))
    bundle.write_bytes(b"".join(pems))
    return bundle


def test_openssl_verify_with_served_crls_then_revoked(served: tuple[CaHome, str, Path]) -> None:
    ca, url, tmp = served
    cert, serial = _issue(ca, tmp)
    ok = _openssl(
        "verify", "-crl_check_all", "-purpose", "sslclient", "-CAfile", str(_crl_bundle(url, tmp)), str(cert)
    )
    assert ok.returncode == 0, ok.stderr + ok.stdout
    ca.cli("cert", "revoke", format(serial, "x"), "--reason", "keyCompromise")
    crl_der = httpx.get(f"{url}/crl/issuing.crl").content
    assert_crl_contains(crl_der, serial, reason=x509.ReasonFlags.key_compromise)
    bad = _openssl("verify", "-crl_check_all", "-CAfile", str(_crl_bundle(url, tmp)), str(cert))
    assert bad.returncode != 0 and "certificate revoked" in bad.stdout + bad.stderr


def test_openssl_crl_verify_and_numbers_grow_across_restarts(served: tuple[CaHome, str, Path]) -> None:
    ca, url, tmp = served
    first = httpx.get(f"{url}/crl/issuing.crl").content
    (tmp / "crl.der").write_bytes(first)
    checked = _openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        str(tmp / "crl.der"),
        "-CAfile",
        str(tmp / "chain.pem"),
        "-noout",
        "-verify",
    )
    assert checked.returncode == 0 and "verify OK" in checked.stdout + checked.stderr
    ca.cli("crl", "generate")  # a separate process: the number comes from the database, not memory
    second = httpx.get(f"{url}/crl/issuing.crl").content
    assert crl_number(second) > crl_number(first)
    crl = x509.load_der_x509_crl(second)
    assert crl.next_update_utc > crl.last_update_utc
    crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)


def test_openssl_ocsp_good_then_revoked(served: tuple[CaHome, str, Path]) -> None:
    ca, url, tmp = served
    cert, serial = _issue(ca, tmp)
    args = [
        "ocsp",
        "-url",
        f"{url}/ocsp",
        "-issuer",
        str(tmp / "issuing.pem"),
        "-cert",
        str(cert),
        "-CAfile",
        str(tmp / "chain.pem"),
    ]
    good = _openssl(*args)
    assert good.returncode == 0 and f"{cert}: good" in good.stdout and "Response verify OK" in good.stderr, (
        good.stdout + good.stderr
    )
    ca.cli("cert", "revoke", format(serial, "x"), "--reason", "keyCompromise")
    revoked = _openssl(*args)
    assert f"{cert}: revoked" in revoked.stdout and "Key Compromise" in revoked.stdout.replace(
        "keyCompromise", "Key Compromise"
    )


def _request(cert_path: Path, issuer_path: Path, *, nonce: bool) -> bytes:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    issuer = x509.load_pem_x509_certificate(issuer_path.read_bytes())
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def test_ocsp_get_caching_nonce_unknown_and_malformed(served: tuple[CaHome, str, Path]) -> None:
    ca, url, tmp = served
    cert, _ = _issue(ca, tmp)
    plain = _request(cert, tmp / "issuing.pem", nonce=False)
    got = httpx.get(f"{url}/ocsp/{quote(base64.b64encode(plain).decode(), safe='')}")
    assert got.headers["content-type"] == "application/ocsp-response"
    assert "max-age=" in got.headers["cache-control"] and "expires" in got.headers
    assert_ocsp_status(got.content, ocsp.OCSPCertStatus.GOOD)
    with_nonce = httpx.post(
        f"{url}/ocsp",
        content=_request(cert, tmp / "issuing.pem", nonce=True),
        headers={"Content-Type": "application/ocsp-request"},
    )
    response = assert_ocsp_status(with_nonce.content, ocsp.OCSPCertStatus.GOOD)
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"0123456789abcdef"
    issuer = x509.load_pem_x509_certificate((tmp / "issuing.pem").read_bytes())
    never_issued = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(*issuer_hashes(issuer), 0x1234567, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    unknown = httpx.post(f"{url}/ocsp", content=never_issued)
    assert_ocsp_status(unknown.content, ocsp.OCSPCertStatus.UNKNOWN)
    for junk in (b"", b"\x30\x03\x02\x01\x01", b"not ocsp at all"):
        answer = httpx.post(f"{url}/ocsp", content=junk)
        assert answer.status_code == 200
        assert (
            ocsp.load_der_ocsp_response(answer.content).response_status
            == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )
    assert httpx.get(f"{url}/ocsp/%%%notbase64").status_code == 200
    assert httpx.get(f"{url}/healthz").status_code == 200


def _pem_crl(der: bytes) -> bytes:
    return x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)


def test_a_revocation_only_in_the_delta_crl_is_seen_by_openssl_use_deltas(
    served: tuple[CaHome, str, Path],
) -> None:
    ca, url, tmp = served
    cert, serial = _issue(ca, tmp)
    full = httpx.get(f"{url}/crl/issuing.crl")
    assert full.headers["etag"] and full.headers["last-modified"]
    assert (
        httpx.get(f"{url}/crl/issuing.crl", headers={"If-None-Match": full.headers["etag"]}).status_code
        == 304
    )
    freshest = x509.load_der_x509_crl(full.content).extensions.get_extension_for_class(x509.FreshestCRL)
    (where,) = freshest.value[0].full_name or []
    assert where.value.endswith("/crl/issuing.delta.crl")  # the public URL of the template's init
    # Above this many entries a revocation leaves the full CRL to the scheduler: only the delta lists it.
    with (ca.home / "campusca.toml").open("a") as toml:
        toml.write("crl_inline_entries = 0\n")
    # The certificate names the delta CRL too (RFC 5280 §4.2.1.15): a relying party finds it there.
    issued = x509.load_pem_x509_certificate(cert.read_bytes())
    in_certificate = issued.extensions.get_extension_for_class(x509.FreshestCRL)
    assert not in_certificate.critical
    (delta_url,) = in_certificate.value[0].full_name or []
    assert delta_url.value == f"{url}/crl/issuing.delta.crl"
    assert "X509v3 Freshest CRL" in _openssl("x509", "-in", str(cert), "-noout", "-text").stdout
    ca.cli("cert", "revoke", format(serial, "x"), "--reason", "keyCompromise")
    assert httpx.get(f"{url}/crl/issuing.crl").content == full.content
    delta = httpx.get(delta_url.value)
    assert delta.headers["content-type"] == "application/pkix-crl"
    assert_crl_contains(delta.content, serial, reason=x509.ReasonFlags.key_compromise)
    (tmp / "full.crl.pem").write_bytes(_pem_crl(full.content))
    (tmp / "delta.crl.pem").write_bytes(_pem_crl(delta.content))
    for name in ("full", "delta"):
        read = _openssl(
            "crl", "-in", str(tmp / f"{name}.crl.pem"), "-noout", "-text", "-CAfile", str(tmp / "chain.pem")
        )
        assert read.returncode == 0 and "verify OK" in read.stderr + read.stdout, read.stderr
    listing = _openssl("crl", "-in", str(tmp / "delta.crl.pem"), "-noout", "-text").stdout
    assert "Delta CRL Indicator: critical" in listing and f"{crl_number(full.content)}" in listing
    (tmp / "crls.pem").write_bytes((tmp / "full.crl.pem").read_bytes() + (tmp / "delta.crl.pem").read_bytes())
    # -extended_crl: OpenSSL otherwise takes a delta CRL for a complete one when it has no -use_deltas.
    common = ["verify", "-crl_check", "-extended_crl", "-CAfile", str(tmp / "chain.pem"), "-CRLfile"]
    without = _openssl(*common, str(tmp / "crls.pem"), str(cert))
    assert without.returncode == 0, without.stdout + without.stderr  # the full CRL alone: not revoked
    with_deltas = _openssl(*common, str(tmp / "crls.pem"), "-use_deltas", str(cert))
    assert with_deltas.returncode != 0 and "certificate revoked" in with_deltas.stdout + with_deltas.stderr
