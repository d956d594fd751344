"""An RA officer issues, lists, shows and revokes certificates from the command line."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.ca import CaHome, make_csr


def _counts(ca: CaHome) -> tuple[int, int]:
    with sqlite3.connect(ca.home / "campusca.db") as db:
        return (
            db.execute("select count(*) from certificates").fetchone()[0],
            db.execute("select count(*) from audit_records").fetchone()[0],
        )


def test_issue_list_show_revoke(ca: CaHome, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, csr = make_csr(cn="alice-laptop")
    (tmp_path / "a.csr").write_bytes(csr)
    issued = ca.cli_json(
        "cert", "issue", "--profile", "device", "--csr", str(tmp_path / "a.csr"), "--user", "alice"
    )
    serial = issued["serial"]  # type: ignore[index]
    # The serial reads exactly as `openssl x509 -serial` prints it (upper case, whole bytes).
    printed = subprocess.run(
        ["openssl", "x509", "-noout", "-serial"],
        input=issued["pem"],
        text=True,
        capture_output=True,  # type: ignore[index]
    ).stdout.strip()
    assert printed == f"serial={serial}"
    listed = ca.cli_json("cert", "list", "--user", "alice")
    assert [c["serial"] for c in listed] == [serial]  # type: ignore[union-attr]
    assert ca.cli_json("cert", "list", "--status", "revoked") == []
    ca.cli("cert", "revoke", serial.lower().lstrip("0"), "--reason", "key-compromise")
    shown = ca.cli_json("cert", "show", serial)
    assert shown["status"] == "revoked" and shown["revocation_reason"] == "keyCompromise"  # type: ignore[index]
    # Decimal serials are accepted too (longer than 40 digits cannot be hex).
    assert ca.cli_json("cert", "show", "d:" + str(int(serial, 16)))["serial"] == serial  # type: ignore[index]
    again = ca.cli("cert", "revoke", serial, check=False)
    assert again.returncode == 1 and "already revoked" in again.stderr


def test_profile_decides_not_the_csr(ca: CaHome, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A CSR asking to be a CA with serverAuth gets a plain client certificate.
    _, csr = make_csr(
        cn="sneaky",
        extra_extensions=(
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ),
    )
    (tmp_path / "s.csr").write_bytes(csr)
    out = tmp_path / "s.pem"
    ca.cli(
        "cert",
        "issue",
        "--profile",
        "device",
        "--csr",
        str(tmp_path / "s.csr"),
        "--user",
        "bob",
        "--out",
        str(out),
    )
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.RFC822Name) == ["bob@example.edu"]


def test_bad_input_is_one_line_and_writes_nothing(ca: CaHome, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = _counts(ca)
    garbage = tmp_path / "garbage.csr"
    garbage.write_bytes(
        b"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n"
    )
    # A CSR whose signature does not match its key: sign with one key, swap in another's public key.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    der = bytearray(
        good.public_bytes(
            __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER
        )
    )
    der[-5] ^= 0xFF
    tampered = tmp_path / "tampered.csr"
    tampered.write_bytes(bytes(der))
    cases = [
        (("cert", "issue", "--profile", "device", "--csr", str(garbage), "--user", "alice"), "CSR"),
        (
            ("cert", "issue", "--profile", "device", "--csr", str(tampered), "--user", "alice"),
            "CSR signature does not verify",
        ),
        (("cert", "issue", "--profile", "nonsense", "--csr", str(tampered)), "profile must be one of"),
        (("cert", "issue", "--profile", "device", "--csr", str(tmp_path / "missing.csr")), "cannot read CSR"),
        (("cert", "show", "abcdef"), "no certificate"),
        (("cert", "show", "xyz"), "serial must be hexadecimal"),
        (("cert", "revoke", "abcdef", "--reason", "keyCompromise"), "no certificate"),
        (("cert", "revoke", "abcdef", "--reason", "bored"), "reason must be one of"),
        (("user", "add", "eve", "--email", "not-an-email", "--dept", "Physics"), "email must be"),
        (("user", "add", "eve", "--email", "eve@example.edu", "--dept", "Nowhere"), "no department"),
        (("org", "add", "Example University", "--domain", "example.edu"), "already exists"),
    ]
    for args, message in cases:
        result = ca.cli(*args, check=False)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _counts(ca) == before


def test_directory_commands(ca: CaHome) -> None:
    ca.cli("org", "add", "Other College", "--domain", "other.ac.uk")
    ca.cli("dept", "add", "Chemistry", "--org", "Other College")
    ca.cli(
        "user",
        "add",
        "carol",
        "--email",
        "carol@other.ac.uk",
        "--dept",
        "Chemistry",
        "--phone",
        "+441234567890",
        "--name",
        "Carol C",
    )
    ca.cli("user", "set-password", "carol", "--password", "correct horse battery")
    person = ca.cli_json("user", "show", "carol")
    assert person["organisation"] == "Other College" and person["has_password"] is True  # type: ignore[index]
    assert "correct horse" not in json.dumps(person)
    depts = ca.cli_json("dept", "list", "--org", "Other College")
    assert [d["name"] for d in depts] == ["Chemistry"]  # type: ignore[union-attr]
    short = ca.cli("user", "set-password", "carol", "--password", "short", check=False)
    assert short.returncode == 1 and "at least 10" in short.stderr
