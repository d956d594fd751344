"""certmonger (Debian 0.79) enrols and renews against a real `campusca serve`: AES-256, GET PKIOperation.

The daemon runs on a private D-Bus session bus; its CA and request stores live in the test's
directory (CERTMONGER_*_DIR), so nothing is left in /var/lib/certmonger.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from campusca.pki.certificates import openssl_serial
from tests.support.peers import require_peer
from tests.support.scep_server import ScepServer, assert_verifies_and_is_listed, scep_server

pytestmark = pytest.mark.interop

# Debian installs the helper under /usr/lib, Fedora under /usr/libexec.
SCEP_SUBMIT = next(
    (
        p
        for p in ("/usr/lib/certmonger/scep-submit", "/usr/libexec/certmonger/scep-submit")
        if shutil.which(p)
    ),
    "/usr/lib/certmonger/scep-submit",
)

# Start certmonger on the private bus, wait until it answers, run the steps, always stop it.
DAEMON_SCRIPT = """
certmonger -s -n -d 2 > "$WORK/certmonger.log" 2>&1 &
CMPID=$!
trap 'kill $CMPID' EXIT
for i in $(seq 100); do getcert list-cas -s >/dev/null 2>&1 && break; sleep 0.1; done
getcert add-scep-ca -s -c campusca -u "$SCEP_URL" || exit 10
getcert request -s -c campusca -f "$WORK/cert.pem" -k "$WORK/key.pem" -N CN=cm-host.example.edu \\
    -L "$CHALLENGE" -w --wait-timeout=60 || exit 11
cp "$WORK/cert.pem" "$WORK/first.pem"
getcert resubmit -s -f "$WORK/cert.pem" -w --wait-timeout=60 || exit 12
getcert list -s > "$WORK/list.txt"
"""


@pytest.fixture(scope="module")
def server(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScepServer]:
    with scep_server(ca_template, tmp_path_factory.mktemp("scep-certmonger")) as running:
        yield running


def test_scep_submit_reads_caps_and_ca_certificates(server: ScepServer) -> None:
    require_peer(SCEP_SUBMIT)
    caps = subprocess.run(
        [SCEP_SUBMIT, "-u", server.scep_url, "-c"], capture_output=True, text=True, timeout=30
    )
    assert caps.returncode == 0, caps.stderr
    assert {"AES", "SHA-256", "POSTPKIOperation", "Renewal"} <= set(caps.stdout.split())
    chain = subprocess.run(
        [SCEP_SUBMIT, "-u", server.scep_url, "-C"], capture_output=True, text=True, timeout=30
    )
    assert chain.returncode == 0, chain.stderr
    subjects = [
        x509.load_pem_x509_certificate(block.encode() + b"-----END CERTIFICATE-----\n").subject
        for block in chain.stdout.split("-----END CERTIFICATE-----")
        if "BEGIN CERTIFICATE" in block
    ]
    assert server.ra.subject in subjects and server.issuing.subject in subjects


def test_certmonger_enrols_with_a_challenge_and_renews_with_its_certificate(
    server: ScepServer, tmp_path: Path
) -> None:
    require_peer("certmonger", "getcert", "dbus-run-session", "openssl")
    for store in ("requests", "cas", "tmp", "local"):
        (tmp_path / store).mkdir()
    env = {
        **os.environ,
        "WORK": str(tmp_path),
        "SCEP_URL": server.scep_url,
        "CHALLENGE": server.challenge("alice", device_ref="cm-host"),
        "CERTMONGER_REQUESTS_DIR": str(tmp_path / "requests"),
        "CERTMONGER_CAS_DIR": str(tmp_path / "cas"),
        "CERTMONGER_TMPDIR": str(tmp_path / "tmp"),
        "CERTMONGER_LOCAL_CA_DIR": str(tmp_path / "local"),
    }
    run = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", DAEMON_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    log = (tmp_path / "certmonger.log").read_text() if (tmp_path / "certmonger.log").exists() else ""
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{log[-3000:]}"
    assert "status: MONITORING" in (tmp_path / "list.txt").read_text()
    first = assert_verifies_and_is_listed(server, tmp_path, tmp_path / "first.pem")
    renewed = assert_verifies_and_is_listed(server, tmp_path, tmp_path / "cert.pem")
    assert renewed.serial_number != first.serial_number and renewed.subject == first.subject
    assert first.subject.rfc4514_string() == "CN=cm-host.example.edu,OU=Physics,O=Example University"
    history = server.ca.cli_json("scep", "list", "--device", "cm-host")
    assert isinstance(history, list)
    assert [(h["renewal"], h["certificate_serial"]) for h in history] == [
        (True, openssl_serial(renewed.serial_number)),
        (False, openssl_serial(first.serial_number)),
    ]
    # certmonger sent PKIOperation by GET and encrypted with AES-256 (what RFC 8894 clients should do).
    assert "GET /scep?operation=PKIOperation&message=" in (server.ca.home / "serve.log").read_text()
    issued = [
        r
        for r in server.ca.cli_json("audit", "list", "--action", "certificate.issued")  # type: ignore[union-attr]
        if r["details"].get("via") == "scep"
    ]
    assert {r["details"]["cipher"] for r in issued} == {"aes_256_cbc"}
