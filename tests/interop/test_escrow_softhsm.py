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

    campusca("init", "--demo", "--key-type", "rsa-2048")  # escrow on for ORG, agent rita (demo data)
    campusca("escrow", "policy", "--org", ORG, "--enabled", "--mode", "simple")
    assert not (home / "keys").exists() or not any(
        (home / "keys").iterdir()
    )  # the domain key is on the token
    campusca(
        "smime",
        "issue",
        "mary",
        "--password",
        "mary keeps this file safe",
        "--out",
        str(tmp_path / "mary.p12"),
    )
    original = load_pkcs12((tmp_path / "mary.p12").read_bytes(), b"mary keeps this file safe").extra[0][0]
    request = json.loads(campusca("recovery", "request", "mary", "--reason", "lost-key", "--json"))
    campusca("recovery", "approve", str(request["id"]), "--as", "rita")
    campusca(
        "recovery",
        "release",
        str(request["id"]),
        "--password",
        "recovered keys travel safely",
        "--out",
        str(tmp_path / "r.p12"),
    )
    recovered = load_pkcs12((tmp_path / "r.p12").read_bytes(), b"recovered keys travel safely")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    wanted = original.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert wanted in [
        k.public_key().public_bytes(serialization.Encoding.DER, spki) for k, _ in recovered.extra
    ]


def test_leaving_simple_mode_destroys_the_domain_key_on_the_token(tmp_path: Path) -> None:
    require_peer("softhsm2-util")
    if not Path(SOFTHSM_MODULE).exists():
        require_peer("libsofthsm2.so")
    token = make_token(tmp_path / "hsm")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAMPUSCA_")},
        **token.env(),
        "CAMPUSCA_SMIME_KEY_TYPE": "rsa-2048",
        "CAMPUSCA_ESCROW_DOMAIN_KEY_TYPE": "rsa-2048",
    }
    home = tmp_path / "home"

    def run(*args: str) -> str:
        result = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout

    def campusca(*args: str) -> str:
        return run("-m", "campusca.cli.main", "--home", str(home), *args)

    def escrow_labels() -> list[str]:
        script = (
            "import sys, pkcs11\n"
            "t = pkcs11.lib(sys.argv[1]).get_token(token_label=sys.argv[2])\n"
            "with t.open(user_pin=sys.argv[3]) as s:\n"
            "    print(' '.join(sorted(str(o[pkcs11.Attribute.LABEL]) for o in s.get_objects())))\n"
        )
        labels = run("-c", script, token.module, token.label, token.pin).split()
        return [label for label in labels if label.startswith("escrow-")]

    campusca("init", "--demo", "--key-type", "rsa-2048")  # escrow on for ORG, agent rita (demo data)
    campusca("escrow", "policy", "--org", ORG, "--enabled", "--mode", "simple")
    campusca(
        "smime", "issue", "mary", "--password", "mary keeps this file safe", "--out", str(tmp_path / "m.p12")
    )
    assert len(escrow_labels()) == 2  # the simple-mode domain key pair lives on the token
    campusca(
        "escrow", "policy", "--org", ORG, "--enabled", "--mode", "quorum", "--approvals", "1",
        "--agent-passphrase", "rita=rita minds the recovery vault",
    )  # fmt: skip
    assert escrow_labels() == []
    (shown,) = [
        v for v in json.loads(campusca("escrow", "show", "--json")) if v["scope"] == f"organisation:{ORG}"
    ]
    assert shown["key"]["mode"] == "quorum" and shown["archived_keys"] == 1
