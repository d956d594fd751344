"""Issue 11's small fixes: SCEP-only devices get a record, device OCSP answers are short-lived, invitations
need an https public URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from campusca.pki.certificates import openssl_serial
from tests.assertions import assert_ocsp_status
from tests.support.ca import make_csr
from tests.support.scep_server import ScepServer, pkcs_req, read_reply, scep_server

UDID = "00008110-0001A2B3C4D5E6F7"


@pytest.fixture(scope="module")
def server(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScepServer]:
    with scep_server(ca_template, tmp_path_factory.mktemp("fixes")) as running:
        yield running


def _ocsp(server: ScepServer, certificate: x509.Certificate) -> ocsp.OCSPResponse:
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, server.issuing, hashes.SHA256()).build()
    response = httpx.post(
        f"{server.url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    return ocsp.load_der_ocsp_response(response.content)


def _enrol_by_scep_alone(server: ScepServer) -> x509.Certificate:
    secret = server.challenge("alice", device_ref=UDID)
    device = pkcs_req(server, challenge=secret)
    return read_reply(server, server.post(device.message.der), device).certificates[0]


def test_a_device_enrolled_by_scep_alone_is_recorded_and_can_be_revoked(server: ScepServer) -> None:
    issued = _enrol_by_scep_alone(server)
    shown = server.ca.cli_json("device", "show", UDID)
    assert shown["udid"] == UDID and shown["owner"] == "alice" and shown["state"] == "enrolled"
    assert [c["serial"] for c in shown["certificates"]] == [openssl_serial(issued.serial_number)]

    revoked = server.ca.cli_json("device", "revoke", UDID, "--reason", "superseded")
    assert revoked["state"] == "revoked"
    assert_ocsp_status(
        _ocsp(server, issued).public_bytes(serialization.Encoding.DER), ocsp.OCSPCertStatus.REVOKED
    )


def test_device_certificates_get_a_shorter_ocsp_validity_than_server_certificates(server: ScepServer) -> None:
    device_certificate = _enrol_by_scep_alone_again(server)
    _, csr = make_csr(cn="www.example.edu", dns=("www.example.edu",))
    csr_file = server.ca.home / "server.csr"
    csr_file.write_bytes(csr)
    out = server.ca.home / "server.crt"
    server.ca.cli(
        "cert", "issue", "--profile", "server", "--csr", str(csr_file), "--user", "alice", "--out", str(out)
    )
    server_certificate = x509.load_pem_x509_certificate(out.read_bytes())

    device_answer, server_answer = _ocsp(server, device_certificate), _ocsp(server, server_certificate)
    assert device_answer.certificate_status == server_answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    device_validity = device_answer.next_update_utc - device_answer.this_update_utc
    server_validity = server_answer.next_update_utc - server_answer.this_update_utc
    assert device_validity == timedelta(minutes=5)  # ocsp_validity_minutes_by_profile default for "device"
    assert server_validity == timedelta(minutes=60)


def _enrol_by_scep_alone_again(server: ScepServer) -> x509.Certificate:
    secret = server.challenge("bob", device_ref="00008110-0009F8E7D6C5B4A3")
    device = pkcs_req(server, challenge=secret, cn="bob-iphone")
    return read_reply(server, server.post(device.message.der), device).certificates[0]


def test_an_invitation_is_refused_when_the_public_url_is_not_https(server: ScepServer) -> None:
    refused = server.ca.cli("invite", "alice", "--via", "email", check=False)
    assert refused.returncode == 1
    assert "public_url must be an https:// URL" in refused.stderr
    assert server.ca.cli_json("invitations", "list", "--user", "alice") == []
