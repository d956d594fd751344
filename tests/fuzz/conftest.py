"""One served campusca per fuzz run, set up only through its public interfaces (CLI and HTTP)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from tests.fuzz.site import TALLY, FuzzSite
from tests.support.ca import CaHome, free_port, make_csr, serving, write_public_url

ROLES = ("admin", "ra-officer", "auditor")


@pytest.fixture(scope="session")
def fuzz_site(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzSite]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    shutil.copytree(ca_template, home)
    ca = CaHome(home=home, port=free_port())
    # An invitation needs an https public URL (Apple enrollment does): the link is made under one, then the
    # fuzzed server runs on plain http like the rest of the suite (its enrollment pages then refuse politely).
    (home / "campusca.toml").write_text(f'public_url = "https://127.0.0.1:{ca.port}"\n')
    invited = ca.cli("invite", "alice", "--via", "email", "--show", "--json", check=False)
    invitation_link = json.loads(invited.stdout)["link"]
    write_public_url(home, ca.port)
    tokens = {role: _create_token(ca, role) for role in ROLES}
    with serving(ca) as url, httpx.Client(timeout=30) as client:
        officer = {"Authorization": f"Bearer {tokens['ra-officer']}"}
        issued = client.post(
            f"{url}/api/v1/certificates",
            json={"profile": "device", "csr": make_csr(cn="fuzz-seed")[1].decode(), "username": "alice"},
            headers=officer,
        )
        assert issued.status_code == 201, issued.text
        challenge = client.post(f"{url}/api/v1/scep/challenges", json={"username": "alice"}, headers=officer)
        assert challenge.status_code == 201, challenge.text
        ca_certs = pkcs7.load_der_pkcs7_certificates(client.get(f"{url}/scep?operation=GetCACert").content)
        issuing = x509.load_der_x509_certificate(client.get(f"{url}/ca/issuing.crt").content)
        yield FuzzSite(
            url=url,
            home=home,
            client=client,
            tokens=tokens,
            invitation_token=invitation_link.rstrip("/").rsplit("/", 1)[-1],
            scep_challenge=challenge.json()["challenge"],
            issuing=issuing,
            scep_recipient=_recipient(ca_certs, issuing),
            existing_serial=int(issued.json()["serial"], 16),
            openapi=client.get(f"{url}/api/v1/openapi.json").json(),
        )


def _create_token(ca: CaHome, role: str) -> str:
    return ca.cli("token", "create", "--role", role, "--name", f"fuzz-{role}").stdout.strip().splitlines()[-1]


def _recipient(certificates: list[x509.Certificate], issuing: x509.Certificate) -> x509.Certificate:
    """The certificate a SCEP client encrypts to: the RA certificate if there is one, else the CA."""
    for certificate in certificates:
        try:
            if not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return certificate
        except x509.ExtensionNotFound:
            return certificate
    return issuing


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print inputs tried and 5xx answers per target, whenever fuzz targets ran."""
    if not TALLY.inputs:
        return
    terminalreporter.section("campusca fuzz: inputs tried and 5xx answers per target")
    for line in TALLY.summary():
        terminalreporter.write_line(line)
