"""An https site puts http:// revocation and CA-issuer URLs into certificates and serves them over plain http."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from tests.support.ca import CaHome, make_csr, serving


def _urls(certificate: x509.Certificate) -> tuple[list[str], dict[str, str]]:
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    crl = [str(name.value) for point in points for name in point.full_name or ()]
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    aia = {
        "ocsp" if d.access_method == AuthorityInformationAccessOID.OCSP else "ca_issuers": str(
            d.access_location.value
        )
        for d in access
    }
    return crl, aia


def _issue(ca: CaHome, tmp_path: Path) -> x509.Certificate:
    _, csr = make_csr(cn="alice-laptop")
    (tmp_path / "a.csr").write_bytes(csr)
    issued = ca.cli_json(
        "cert", "issue", "--profile", "device", "--csr", str(tmp_path / "a.csr"), "--user", "alice"
    )
    return x509.load_pem_x509_certificate(issued["pem"].encode())  # type: ignore[index]


def test_https_public_url_gives_http_urls_on_the_same_host(ca: CaHome, tmp_path: Path) -> None:
    (ca.home / "campusca.toml").write_text('public_url = "https://ca.example.edu:8443"\n')
    crl, aia = _urls(_issue(ca, tmp_path))
    assert crl == ["http://ca.example.edu/crl/issuing.crl"]
    assert aia == {"ocsp": "http://ca.example.edu/ocsp", "ca_issuers": "http://ca.example.edu/ca/issuing.crt"}


def test_revocation_url_setting_is_used_as_given(ca: CaHome, tmp_path: Path) -> None:
    (ca.home / "campusca.toml").write_text(
        'public_url = "https://ca.example.edu"\nrevocation_url = "http://pki.example.edu:8080/campus"\n'
    )
    crl, aia = _urls(_issue(ca, tmp_path))
    assert crl == ["http://pki.example.edu:8080/campus/crl/issuing.crl"]
    assert aia["ocsp"] == "http://pki.example.edu:8080/campus/ocsp"


def test_crl_ca_and_ocsp_answer_over_plain_http_when_the_site_is_https(ca: CaHome, tmp_path: Path) -> None:
    (ca.home / "campusca.toml").write_text('public_url = "https://ca.example.edu"\n')
    certificate = _issue(ca, tmp_path)
    with serving(ca) as url:
        issuing = httpx.get(f"{url}/ca/issuing.crt")
        assert issuing.status_code == 200 and issuing.headers["content-type"] == "application/pkix-cert"
        crl = httpx.get(f"{url}/crl/issuing.crl")
        assert crl.status_code == 200 and x509.load_der_x509_crl(crl.content).next_update_utc is not None
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(certificate, x509.load_der_x509_certificate(issuing.content), hashes.SHA1())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        answer = httpx.get(f"{url}/ocsp/{base64.b64encode(request).decode()}")
        assert answer.status_code == 200
        assert ocsp.load_der_ocsp_response(answer.content).certificate_status == ocsp.OCSPCertStatus.GOOD
