"""The VPN can use Alice's enrolled device certificate: OpenSSL verifies it for TLS client auth with CRLs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.integration.enrollment.conftest import enrollment_site
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.peers import require_peer

pytestmark = pytest.mark.interop


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _trust_with_crls(base: str, folder: Path) -> Path:
    """The CA certificates and the CRLs campusca serves, as one -CAfile bundle."""
    pems = []
    for slug in ("root", "issuing"):
        pems.append(_pem(x509.load_der_x509_certificate(httpx.get(f"{base}/ca/{slug}.crt").content)))
        pems.append(
            x509.load_der_x509_crl(httpx.get(f"{base}/crl/{slug}.crl").content).public_bytes(
                serialization.Encoding.PEM
            )
        )
    bundle = folder / "trust.pem"
    bundle.write_bytes(b"".join(pems))
    return bundle


def _verify(bundle: Path, certificate: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-purpose",
            "sslclient",
            "-crl_check",
            "-CAfile",
            str(bundle),
            str(certificate),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_enrolled_device_certificates_verify_for_tls_client_auth_until_revoked(
    ca_template: Path, tmp_path: Path
) -> None:
    require_peer("openssl")
    with enrollment_site(ca_template, tmp_path) as site:
        phone = SimulatedIPhone()
        site.enrol(phone)
        files = []
        for name, certificate in (("enrollment", phone.scep_certificate), ("vpn", phone.vpn_certificate)):
            path = tmp_path / f"{name}.pem"
            path.write_bytes(_pem(certificate))
            files.append(path)
        bundle = _trust_with_crls(site.plain_url, tmp_path)
        for path in files:
            ok = _verify(bundle, path)
            assert ok.returncode == 0 and f"{path}: OK" in ok.stdout, ok.stdout + ok.stderr

        site.ca.cli("device", "revoke", phone.udid, "--reason", "keyCompromise")
        bundle = _trust_with_crls(site.plain_url, tmp_path)
        for path in files:
            refused = _verify(bundle, path)
            assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
