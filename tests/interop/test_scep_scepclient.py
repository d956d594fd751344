"""micromdm's `scepclient` (Debian `scep` 2.1.0) enrols and renews against a real `campusca serve`.

scepclient 2.1.0 always encrypts with single DES and signs with SHA-1, so its server runs with the
legacy switches on; with them off (the default) the same client is refused.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusca.pki.certificates import openssl_serial
from tests.support.peers import require_peer
from tests.support.scep_server import ScepServer, assert_verifies_and_is_listed, scep_server

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def legacy_server(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScepServer]:
    settings = {"scep_allow_single_des": True, "scep_allow_sha1": True}
    with scep_server(ca_template, tmp_path_factory.mktemp("scep-legacy"), **settings) as running:
        yield running


def _scepclient(server: ScepServer, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["scepclient", "-server-url", server.scep_url, "-private-key", str(workdir / "client.key"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_scepclient_enrols_then_renews_with_renewal_req(legacy_server: ScepServer, tmp_path: Path) -> None:
    require_peer("scepclient", "openssl")
    secret = legacy_server.ca.cli("scep", "challenge", "--user", "bob").stdout.strip().splitlines()[-1]
    enrolled = _scepclient(legacy_server, tmp_path, "-challenge", secret, "-cn", "bob-laptop")
    assert enrolled.returncode == 0, enrolled.stderr
    first = assert_verifies_and_is_listed(legacy_server, tmp_path, tmp_path / "client.pem")
    assert first.subject.rfc4514_string() == "CN=bob-laptop,OU=Physics,O=Example University"
    # A second run in the same directory signs a RenewalReq (17) with client.pem, without challenge.
    renewed = _scepclient(legacy_server, tmp_path, "-cn", "bob-laptop")
    assert renewed.returncode == 0, renewed.stderr
    second = assert_verifies_and_is_listed(legacy_server, tmp_path, tmp_path / "client.pem")
    assert second.serial_number != first.serial_number and second.subject == first.subject
    history = legacy_server.ca.cli_json("scep", "list")
    assert isinstance(history, list)
    by_serial = {h["certificate_serial"]: h for h in history}
    assert by_serial[openssl_serial(second.serial_number)]["renewal"] is True
    assert by_serial[openssl_serial(first.serial_number)]["renewal"] is False


def test_scepclient_with_a_wrong_challenge_is_refused(legacy_server: ScepServer, tmp_path: Path) -> None:
    require_peer("scepclient")
    before = legacy_server.certificate_count()
    result = _scepclient(legacy_server, tmp_path, "-challenge", "0" * 40, "-cn", "intruder")
    assert result.returncode != 0
    assert "badRequest" in result.stdout + result.stderr
    assert not (tmp_path / "client.pem").exists()
    assert legacy_server.certificate_count() == before


def test_scepclient_is_refused_while_legacy_algorithms_are_off(
    ca_template: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    require_peer("scepclient")
    with scep_server(ca_template, tmp_path_factory.mktemp("scep-default")) as server:
        secret = server.challenge("bob")
        result = _scepclient(server, tmp_path, "-challenge", secret, "-cn", "bob-laptop")
        assert result.returncode != 0
        assert "badAlg" in result.stdout + result.stderr
        assert not (tmp_path / "client.pem").exists()
