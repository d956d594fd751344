"""`init --demo` turns escrow on with Rita as agent, so the demo shows a recovery; the signing key is re-issued."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from campusca.pki.certificates import openssl_serial
from campusca.pki.pkcs12 import load_pkcs12

FAST = {"CAMPUSCA_SMIME_KEY_TYPE": "rsa-2048", "CAMPUSCA_ESCROW_DOMAIN_KEY_TYPE": "rsa-2048"}


def _campusca(home: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "campusca.cli.main", "--home", str(home), *args, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **FAST},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stderr}"
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_demo_shows_a_lost_key_recovery_with_a_new_signing_certificate(tmp_path: Path) -> None:
    home = tmp_path / "data"
    init = _campusca(home, "init", "--demo", "--key-type", "rsa-2048")
    assert init["demo_escrow"] == {"scope": "organisation:Example University", "agent": "rita"}
    issued = _campusca(home, "smime", "issue", "mary", "--password", "mary keeps this file safe",
                       "--out", str(tmp_path / "mary.p12"))  # fmt: skip
    assert issued["escrowed"] is True
    request = _campusca(home, "recovery", "request", "mary", "--reason", "lost-key", "--as", "mary")
    approved = _campusca(home, "recovery", "approve", str(request["id"]), "--as", "rita")
    assert approved["status"] == "approved"
    released = _campusca(home, "recovery", "release", str(request["id"]), "--password", "recovered for mary",
                         "--out", str(tmp_path / "recovered.p12"), "--reissue-signing")  # fmt: skip
    signing = issued["signing"]
    assert isinstance(signing, dict)
    assert released["revoked_signing"] == [signing["serial"]]
    contents = load_pkcs12((tmp_path / "recovered.p12").read_bytes(), b"recovered for mary")
    in_file = {
        openssl_serial(c.serial_number) for c in (contents.certificate, *(c for _, c in contents.extra))
    }
    assert released["new_signing_certificate"] in in_file and released["new_certificate"] in in_file
