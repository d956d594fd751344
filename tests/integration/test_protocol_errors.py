"""Whatever goes wrong behind /ocsp or /scep, the client gets that protocol's answer, never a JSON error page."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.assertions import assert_ocsp_status
from tests.support.ca import CaHome, serving
from tests.support.scep_server import pkcs_req, scep_server

OCSP_CONTENT_TYPE = "application/ocsp-response"


@pytest.fixture
def served(ca: CaHome) -> Iterator[tuple[CaHome, str]]:
    with serving(ca) as url:
        yield ca, url


def _request_for_responder_certificate(ca: CaHome, url: str, *, nonce: bytes | None = None) -> bytes:
    """An OCSP request about a certificate campusca issued at init (the responder's own)."""
    issuer = x509.load_der_x509_certificate(httpx.get(f"{url}/ca/issuing.crt").content)
    responders = ca.cli_json("cert", "list", "--profile", "ocsp")  # one per issuing CA
    certificates = [
        x509.load_pem_x509_certificate(ca.cli("cert", "show", listed["serial"], "--pem").stdout.encode())
        for listed in responders  # type: ignore[union-attr]
    ]
    (certificate,) = [c for c in certificates if c.issuer == issuer.subject]
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _drop_table(home: Path, table: str) -> None:
    """A table disappears under the running service (an operator's mistake, a bad restore)."""
    with closing(sqlite3.connect(home / "campusca.db", isolation_level=None)) as database:
        database.execute("PRAGMA foreign_keys=OFF")
        database.execute(f"DROP TABLE {table}")


def _assert_internal_error(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OCSP_CONTENT_TYPE
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.INTERNAL_ERROR


def test_ocsp_answers_internal_error_when_the_database_fails_underneath(
    served: tuple[CaHome, str],
) -> None:
    ca, url = served
    request = _request_for_responder_certificate(ca, url)
    good = httpx.post(f"{url}/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"})
    assert_ocsp_status(good.content, ocsp.OCSPCertStatus.GOOD)
    garbage = httpx.post(f"{url}/ocsp", content=b"\x30\x03garbage")
    assert garbage.headers["content-type"] == OCSP_CONTENT_TYPE
    malformed = ocsp.load_der_ocsp_response(garbage.content).response_status
    assert malformed == ocsp.OCSPResponseStatus.MALFORMED_REQUEST

    # A nonce query is always answered from the database (a nonce-less one may be a kept answer).
    request = _request_for_responder_certificate(ca, url, nonce=b"fresh from the db")
    _drop_table(ca.home, "certificates")

    _assert_internal_error(
        httpx.post(f"{url}/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"})
    )
    _assert_internal_error(httpx.get(f"{url}/ocsp/{quote(base64.b64encode(request).decode(), safe='')}"))
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}  # the service itself keeps running


def test_scep_answers_a_plain_internal_error_when_the_database_fails_underneath(
    ca_template: Path, tmp_path: Path
) -> None:
    with scep_server(ca_template, tmp_path) as server:
        device = pkcs_req(server, challenge=server.challenge("alice"))
        _drop_table(server.ca.home, "scep_challenges")
        response = server.post(device.message.der)
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.startswith("internal error; request id ")
        assert httpx.get(f"{server.scep_url}?operation=GetCACaps").status_code == 200
