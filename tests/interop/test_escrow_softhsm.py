"""Simple-mode escrow with the domain key in an HSM (SoftHSM2 over PKCS#11): archive, recover, revoke, re-key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from campusca.pki.pkcs12 import load_pkcs12
from tests.support.peers import require_peer
from tests.support.softhsm import SOFTHSM_MODULE, make_token

pytestmark = pytest.mark.interop
ORG = "Example University"


def test_marys_key_escrowed_to_an_hsm_domain_key_is_recovered(tmp_path: Path) -> None:
    require_peer("softhsm2-util")
    if not Path(SOFTHSM_MODULE).exists():
        require_peer("libsofthsm2.so")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAMPUSCA_")},
        **make_token(tmp_path / "hsm").env(),
        "CAMPUSCA_SMIME_KEY_TYPE": "rsa-2048",
        "CAMPUSCA_ESCROW_DOMAIN_KEY_TYPE": "rsa-2048",
    }
    home = tmp_path / "home"

    def campusca(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "campusca.cli.main", "--home", str(home), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout

    campusca("init", "--demo", "--key-type", "rsa-2048")
    campusca("escrow", "agent", "add", "rita", "--org", ORG)
    campusca("escrow", "policy", "--org", ORG, "--enabled", "--mode", "simple")
    assert not (home / "keys").exists() or not any(
        (home / "keys").iterdir()
    )  # the domain key is on the token
    campusca("smime", "issue", "mary", "--password", "mary-p12-pass", "--out", str(tmp_path / "mary.p12"))
    original = load_pkcs12((tmp_path / "mary.p12").read_bytes(), b"mary-p12-pass").extra[0][0]
    request = json.loads(campusca("recovery", "request", "mary", "--reason", "lost-key", "--json"))
    campusca("recovery", "approve", str(request["id"]), "--as", "rita")
    campusca(
        "recovery",
        "release",
        str(request["id"]),
        "--password",
        "recovered-1",
        "--out",
        str(tmp_path / "r.p12"),
    )
    recovered = load_pkcs12((tmp_path / "r.p12").read_bytes(), b"recovered-1")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    wanted = original.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert wanted in [
        k.public_key().public_bytes(serialization.Encoding.DER, spki) for k, _ in recovered.extra
    ]
