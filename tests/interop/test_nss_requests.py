"""Requests made by Mozilla NSS `certutil -R -a` and Windows `certreq` are issued by every adapter."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.ca import CaHome, serving
from tests.support.peers import require_peer

VECTORS = Path(__file__).parents[1] / "vectors" / "csr"
pytestmark = pytest.mark.interop


def certutil_request(tmp_path: Path, subject: str) -> Path:
    """What Erin does in Thunderbird's NSS database: a request with NSS's text header before the block."""
    require_peer("certutil")
    db = tmp_path / "nssdb"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    (tmp_path / "noise").write_bytes(bytes(range(64)))
    out = tmp_path / "erin.csr"
    subprocess.run(
        ["certutil", "-R", "-d", f"sql:{db}", "-s", subject, "-k", "rsa", "-g", "2048", "-a",
         "-o", str(out), "-z", str(tmp_path / "noise")],
        check=True, capture_output=True,
    )  # fmt: skip
    assert not out.read_bytes().startswith(b"-----BEGIN")
    return out


def test_cli_issues_from_an_nss_certutil_request(ca: CaHome, tmp_path: Path) -> None:
    request = certutil_request(tmp_path, "CN=alice-laptop")
    issued = ca.cli_json("cert", "issue", "--profile", "device", "--csr", str(request), "--user", "alice")
    assert issued["profile"] == "device" and "CN=alice-laptop" in issued["subject"]  # type: ignore[index]


def test_smime_issue_takes_an_nss_signing_request(ca: CaHome, tmp_path: Path) -> None:
    request = certutil_request(tmp_path, "CN=bob@example.edu")
    out = tmp_path / "bob.p12"
    bundle = json.loads(
        ca.cli("smime", "issue", "bob", "--csr-signing", str(request), "--out", str(out), "--json").stdout
    )
    openssl = subprocess.run(
        ["openssl", "x509", "-noout", "-subject"], input=bundle["signing"]["pem"], text=True,
        capture_output=True, check=True,
    )  # fmt: skip
    assert "bob@example.edu" in openssl.stdout


def test_rest_issues_from_nss_and_certreq_requests(ca: CaHome, tmp_path: Path) -> None:
    nss = certutil_request(tmp_path, "CN=erin-desktop").read_text()
    certreq = (VECTORS / "certreq-windows.req").read_bytes().decode()
    with serving(ca) as url:
        token = (
            ca.cli("token", "create", "--role", "ra-officer", "--name", "pem").stdout.strip().splitlines()[-1]
        )
        headers = {"Authorization": f"Bearer {token}"}
        for text, cn in ((nss, "erin-desktop"), (certreq, "WS-0042.example.edu")):
            answer = httpx.post(
                f"{url}/api/v1/certificates",
                json={"profile": "device", "csr": text, "username": "alice"},
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            assert f"CN={cn}" in answer.json()["subject"]
