"""An administrator keeps the CA keys in an HSM (SoftHSM2 over PKCS#11): nothing key-shaped touches the disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.config import load_settings
from campusca.db import Database
from campusca.db.models import CertificateAuthority, CrlChunk, CrlState
from tests.support.ca import make_csr
from tests.support.peers import require_peer
from tests.support.softhsm import SOFTHSM_MODULE, make_token

pytestmark = pytest.mark.interop


def _campusca(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAMPUSCA_")}
    return subprocess.run(
        [sys.executable, "-m", "campusca.cli.main", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=300,
    )


@pytest.mark.parametrize("key_type", ["rsa-2048", "ec-p256"])
def test_ca_on_softhsm_issues_and_revokes_verifiably(tmp_path: Path, key_type: str) -> None:
    require_peer("softhsm2-util", "openssl")
    if not Path(SOFTHSM_MODULE).exists():
        require_peer("libsofthsm2.so")
    token = make_token(tmp_path / "hsm")
    env = token.env()
    home = tmp_path / "home"
    init = _campusca(
        home, env, "init", "--org", "Example University", "--domain", "example.edu", "--key-type", key_type
    )
    assert init.returncode == 0, init.stderr
    assert not (home / "keys").exists() or not any((home / "keys").iterdir())
    assert not (home / "master.key").exists()
    _campusca(home, env, "dept", "add", "Physics", "--org", "Example University")
    _campusca(home, env, "user", "add", "alice", "--email", "alice@example.edu", "--dept", "Physics")
    _, csr = make_csr(cn="alice-laptop")
    (tmp_path / "a.csr").write_bytes(csr)
    issued = _campusca(
        home,
        env,
        "cert",
        "issue",
        "--profile",
        "device",
        "--csr",
        str(tmp_path / "a.csr"),
        "--user",
        "alice",
        "--json",
    )
    assert issued.returncode == 0, issued.stderr
    serial = json.loads(issued.stdout)["serial"]
    assert _campusca(home, env, "cert", "revoke", serial, "--reason", "keyCompromise").returncode == 0
    # Verify everything the HSM signed with openssl: chain, CRL, revocation.
    db = Database(load_settings(home).effective_database_url)
    with db.read() as session:
        cas = {ca.slug: ca for ca in session.query(CertificateAuthority).all()}
        assert session.get(CrlState, cas["issuing"].id) is not None
        pems = [
            x509.load_der_x509_certificate(cas[s].certificate_der).public_bytes(serialization.Encoding.PEM)
            for s in ("root", "issuing")
        ]
        crl_pem, root_crl = (
            x509.load_der_x509_crl(_stored_crl(session, cas[s].id)).public_bytes(serialization.Encoding.PEM)
            for s in ("issuing", "root")
        )
    db.dispose()
    (tmp_path / "trust.pem").write_bytes(b"".join(pems) + crl_pem + root_crl)
    (tmp_path / "cert.pem").write_bytes(json.loads(issued.stdout)["pem"].encode())
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-crl_check_all",
            "-CAfile",
            str(tmp_path / "trust.pem"),
            str(tmp_path / "cert.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert "certificate revoked" in verify.stdout + verify.stderr, verify.stdout + verify.stderr
    no_crl = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "trust.pem"), str(tmp_path / "cert.pem")],
        capture_output=True,
        text=True,
    )
    assert no_crl.returncode == 0, no_crl.stdout + no_crl.stderr


def test_wrong_pin_is_a_clear_error(tmp_path: Path) -> None:
    require_peer("softhsm2-util")
    token = make_token(tmp_path / "hsm")
    env = {**token.env(), "CAMPUSCA_PKCS11_PIN": "000000"}
    result = _campusca(tmp_path / "home", env, "init")
    assert result.returncode == 1
    assert "cannot open PKCS#11 token" in result.stderr and "000000" not in result.stderr


# Run in a process of its own: SoftHSM reads SOFTHSM2_CONF once per process, at C_Initialize.
_DESTROY_SCRIPT = """
import sys
from campusca.keys import KeyNotFound, KeyType
from campusca.keys.pkcs11 import Pkcs11KeyBackend

backend = Pkcs11KeyBackend(module=sys.argv[1], token_label=sys.argv[2], pin=sys.argv[3])
backend.generate("escrow-7-old", KeyType.RSA_2048)
backend.generate("issuing-ca", KeyType.EC_P256)
backend.signer("escrow-7-old")
print("destroyed", backend.destroy("escrow-7-old"))
print("exists", backend.exists("escrow-7-old"), backend.exists("issuing-ca"))
print("again", backend.destroy("escrow-7-old"))
try:
    backend.signer("escrow-7-old")
except KeyNotFound:
    print("signer refused")
"""

_LIST_SCRIPT = """
import sys
import pkcs11

token = pkcs11.lib(sys.argv[1]).get_token(token_label=sys.argv[2])
with token.open(user_pin=sys.argv[3]) as session:
    print(sorted(str(o[pkcs11.Attribute.LABEL]) for o in session.get_objects()))
"""


def test_a_destroyed_key_is_gone_from_the_token_for_good(tmp_path: Path) -> None:
    require_peer("softhsm2-util")
    if not Path(SOFTHSM_MODULE).exists():
        require_peer("libsofthsm2.so")
    token = make_token(tmp_path / "hsm")
    env = {**os.environ, "SOFTHSM2_CONF": str(token.conf)}
    args = [token.module, token.label, token.pin]

    def run(script: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert run(_DESTROY_SCRIPT).splitlines() == [
        "destroyed True",
        "exists False True",
        "again False",
        "signer refused",
    ]
    # A fresh session on the token: the private and public halves are both gone, other keys stay.
    assert run(_LIST_SCRIPT).strip() == "['issuing-ca', 'issuing-ca']"


def _stored_crl(session: Session, ca_id: int) -> bytes:
    """A CA's full CRL as stored: the DER in 1 MiB rows of crl_chunks."""
    return b"".join(
        session.scalars(select(CrlChunk.data).where(CrlChunk.ca_id == ca_id).order_by(CrlChunk.seq))
    )
