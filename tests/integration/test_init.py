"""An administrator sets up campusca with `campusca init`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.ca import CaHome


def _run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAMPUSCA_")}
    return subprocess.run(
        [sys.executable, "-m", "campusca.cli.main", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=300,
    )


def test_plain_init_creates_ca_ra_and_ocsp_without_demo_data(tmp_path: Path) -> None:
    home = tmp_path / "data"
    result = _run(home, "init", "--key-type", "ec-p256", "--json")
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["demo_people"] == [] and "S/MIME CA" in made["smime"]
    assert oct((home / "master.key").stat().st_mode & 0o777) == "0o600"
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    people = _run(home, "user", "list", "--json")
    assert json.loads(people.stdout) == []
    certs = json.loads(_run(home, "cert", "list", "--json").stdout)
    # One OCSP responder per issuing CA; both CA certificates are recorded as issued by the root.
    assert sorted(c["profile"] for c in certs) == [
        "ocsp",
        "ocsp",
        "profile-signing",
        "ra",
        "subordinate-ca",
        "subordinate-ca",
    ]
    ra = x509.load_pem_x509_certificate(
        _run(
            home, "cert", "show", next(c["serial"] for c in certs if c["profile"] == "ra"), "--pem"
        ).stdout.encode()
    )
    # SCEP clients need an RSA RA that signs and decrypts, whatever the CA key type.
    assert isinstance(ra.public_key(), rsa.RSAPublicKey) and ra.public_key().key_size == 2048
    ku = ra.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment
    ocsp_cert = x509.load_pem_x509_certificate(
        _run(
            home, "cert", "show", next(c["serial"] for c in certs if c["profile"] == "ocsp"), "--pem"
        ).stdout.encode()
    )
    assert isinstance(ocsp_cert.public_key(), ec.EllipticCurvePublicKey)


def test_second_init_refuses_and_keeps_the_ca(ca: CaHome) -> None:
    before = (ca.home / "keys" / "root-ca.key.json").read_bytes()
    result = ca.cli("init", check=False)
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert "Traceback" not in result.stderr
    assert (ca.home / "keys" / "root-ca.key.json").read_bytes() == before


def test_master_key_from_environment_leaves_no_key_file(tmp_path: Path) -> None:
    home = tmp_path / "data"
    env = {"CAMPUSCA_MASTER_KEY": "a long operator-chosen master passphrase"}
    assert (
        _run(home, "init", "--org", "Example University", "--domain", "example.edu", env=env).returncode == 0
    )
    assert not (home / "master.key").exists()
    orgs = json.loads(_run(home, "org", "list", "--json", env=env).stdout)
    assert [o["name"] for o in orgs] == ["Example University"]
    # Without the master key the CA keys cannot be opened.
    _, csr = __import__("tests.support.ca", fromlist=["make_csr"]).make_csr()
    (tmp_path / "r.csr").write_bytes(csr)
    failed = _run(home, "cert", "issue", "--profile", "server", "--csr", str(tmp_path / "r.csr"))
    assert failed.returncode == 1 and "master key" in failed.stderr


def test_bad_key_type_is_a_one_line_error(tmp_path: Path) -> None:
    result = _run(tmp_path / "data", "init", "--key-type", "dsa-1024")
    assert result.returncode == 1
    assert "--key-type must be one of" in result.stderr
    assert not (tmp_path / "data").exists()


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    result = _run(tmp_path / "nothing", "cert", "list")
    assert result.returncode == 1
    assert "campusca init" in result.stderr
