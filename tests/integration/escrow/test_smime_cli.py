"""The `campusca smime|escrow|recovery|directory` commands as scripts and people use them, and their errors."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.escrow.conftest import FAST_KEYS
from tests.integration.escrow.helpers import mail
from tests.support.ca import CaHome, free_port, write_public_url

ORG = "Example University"

P12_PASSWORDS = {
    "bob": "bob keeps his file safe",
    "mary": "mary keeps this file safe",
    "alice": "alice keeps her files safe",
}


@dataclass(frozen=True)
class Site:
    ca: CaHome
    files: Path


@pytest.fixture(scope="module")
def site(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One CA for the read-mostly tests: escrow on for the organisation (agent rita) but off for Physics;
    Bob, Mary and Alice have their PKCS#12 files (CLI calls cost about two seconds each)."""
    base = tmp_path_factory.mktemp("smime-cli")
    shutil.copytree(ca_template, base / "home")
    ca = CaHome(home=base / "home", port=free_port())
    write_public_url(ca.home, ca.port)
    with (ca.home / "campusca.toml").open("a") as handle:
        handle.write(FAST_KEYS)
    files = base / "files"
    files.mkdir()
    ca.cli("escrow", "agent", "add", "rita", "--org", ORG)
    ca.cli("escrow", "policy", "--org", ORG, "--enabled", "--mode", "simple", "--approvals", "1")
    ca.cli("escrow", "policy", "--dept", "Physics", "--disabled")
    for name in ("bob", "mary", "alice"):
        ca.cli("smime", "issue", name, "--password", P12_PASSWORDS[name], "--out", str(files / f"{name}.p12"))
    (files / "msg.eml").write_bytes(mail())
    (files / "garbage.eml").write_bytes(b"Subject: hello\r\n\r\nnot signed\r\n")
    (files / "empty.eml").write_bytes(b"")
    (files / "stranger.eml").write_bytes(mail(recipient="stranger"))
    return Site(ca, files)


def test_bob_signs_and_encrypts_mary_decrypts_and_verifies_on_the_command_line(
    site: Site, tmp_path: Path
) -> None:
    ca, d = site.ca, tmp_path
    for name in ("msg.eml", "bob.p12", "mary.p12"):
        shutil.copy(site.files / name, d / name)
    ca.cli("smime", "sign", str(d / "msg.eml"), "--p12", str(d / "bob.p12"), "--password", "bob keeps his file safe",
           "--out", str(d / "signed.eml"))  # fmt: skip
    encrypted = ca.cli("smime", "encrypt", str(d / "signed.eml"), "--out", str(d / "enc.eml"))
    assert "mary@example.edu, bob@example.edu" in encrypted.stderr
    ca.cli("smime", "decrypt", str(d / "enc.eml"), "--p12", str(d / "mary.p12"), "--password", "mary keeps this file safe",
           "--out", str(d / "plain.eml"))  # fmt: skip
    verified = json.loads(ca.cli("smime", "verify", str(d / "plain.eml"), "--json").stdout)
    assert verified["valid"] is True and verified["signer"] == "bob@example.edu"
    tampered = (d / "plain.eml").read_bytes().replace(b"minutes are attached", b"minutes are missing!")
    (d / "tampered.eml").write_bytes(tampered)
    refused = ca.cli("smime", "verify", str(d / "tampered.eml"), check=False)
    assert refused.returncode == 1 and "signature does not verify" in refused.stderr


def test_issue_tells_the_person_whether_the_key_is_escrowed(ca: CaHome, tmp_path: Path) -> None:
    out = ca.cli("smime", "issue", "alice", "--out", str(tmp_path / "alice.p12")).stdout
    assert "NOT escrowed" in out and "PKCS#12 password (shown once):" in out
    assert (tmp_path / "alice.p12").stat().st_mode & 0o077 == 0
    ca.cli("escrow", "agent", "add", "rita", "--org", ORG)
    ca.cli("escrow", "policy", "--org", ORG, "--enabled")
    data = json.loads(ca.cli("smime", "issue", "alice", "--password", "alice picks a long passphrase", "--out",
                             str(tmp_path / "alice2.p12"), "--json").stdout)  # fmt: skip
    assert data["escrowed"] is True and data["password"] is None and "escrowed by" in data["notice"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("smime", "issue", "nobody", "--out", "{d}/x.p12"), "no person with username", id="fail-user"
        ),
        pytest.param(
            ("smime", "issue", "bob", "--out", "{d}/bob.p12"), "exists; refusing", id="fail-overwrite"
        ),
        pytest.param(
            ("smime", "decrypt", "{d}/msg.eml", "--p12", "{d}/mary.p12", "--password", "wrong-password"),
            "PKCS#12 password is wrong",
            id="fail-p12-password",
        ),
        pytest.param(
            (
                "smime",
                "decrypt",
                "{d}/msg.eml",
                "--p12",
                "{d}/mary.p12",
                "--password",
                "mary keeps this file safe",
            ),
            "is not application/pkcs7-mime",
            id="fail-not-encrypted",
        ),
        pytest.param(
            ("smime", "verify", "{d}/garbage.eml"), "not a signed S/MIME type", id="fail-malformed-mime"
        ),
        pytest.param(("smime", "verify", "{d}/empty.eml"), "message is empty", id="fail-empty"),
        pytest.param(
            ("smime", "encrypt", "{d}/stranger.eml"), "no valid encryption certificate", id="fail-recipient"
        ),
        pytest.param(
            ("smime", "sign", "{d}/msg.eml", "--p12", "{d}/msg.eml", "--password", "x"),
            "PKCS#12",
            id="fail-p12",
        ),
        pytest.param(("escrow", "policy", "--org", ORG), "--enabled or --disabled", id="fail-policy-flags"),
        pytest.param(("escrow", "policy", "--dept", "Nowhere", "--enabled"), "no department", id="fail-dept"),
        pytest.param(
            ("recovery", "request", "alice", "--reason", "lost-key"), "no copy", id="fail-escrow-off"
        ),
        pytest.param(
            ("recovery", "approve", "99", "--as", "rita"), "no recovery request with id 99", id="fail-id"
        ),
        pytest.param(("directory", "lookup", "not-an-address"), "mailbox address", id="fail-lookup"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_status_1(
    site: Site, args: tuple[str, ...], message: str
) -> None:
    # Alice (Physics) is in a department that opted out, so no copy of her key exists.
    result = site.ca.cli(*(a.format(d=site.files) for a in args), check=False)
    assert result.returncode == 1, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_quorum_recovery_on_the_command_line_prompts_for_secrets(ca: CaHome, tmp_path: Path) -> None:
    issued = tmp_path
    for name in ("quentin", "victor"):
        ca.cli("user", "add", name, "--email", f"{name}@example.edu", "--dept", "Computing Services",
               "--role", "recovery-agent")  # fmt: skip
        ca.cli("escrow", "agent", "add", name, "--dept", "Law")
    ca.cli("escrow", "agent", "add", "rita", "--dept", "Law")
    # Every agent's passphrase is asked for (one per line on standard input when it is not a terminal).
    ca.cli("escrow", "policy", "--dept", "Law", "--enabled", "--mode", "quorum", "--approvals", "2",
           input="quentin's passphrase\nvictor guards the third share\nrita's long passphrase\n")  # fmt: skip
    shown = json.loads(ca.cli("escrow", "show", "--json").stdout)
    law = next(v for v in shown if v["scope"] == f"department:{ORG}/Law")
    assert law["key"]["mode"] == "quorum" and law["key"]["threshold"] == 2
    ca.cli(
        "smime",
        "issue",
        "mary",
        "--password",
        "mary keeps this file safe",
        "--out",
        str(issued / "mary-law.p12"),
    )
    request = json.loads(ca.cli("recovery", "request", "mary", "--reason", "lost-key", "--json").stdout)
    assert request["release_code"]
    ca.cli(
        "recovery", "approve", str(request["id"]), "--as", "victor", input="victor guards the third share\n"
    )
    pending = ca.cli("recovery", "release", str(request["id"]), "--password", "new recovery file passphrase", "--out",
                     str(issued / "r.p12"), "--release-code", request["release_code"], check=False)  # fmt: skip
    assert pending.returncode == 1 and "1 of 2 approvals" in pending.stderr
    assert not (issued / "r.p12").exists()
    ca.cli(
        "recovery", "approve", str(request["id"]), "--as", "quentin", "--passphrase", "quentin's passphrase"
    )
    ca.cli("recovery", "release", str(request["id"]), "--password", "new recovery file passphrase", "--out", str(issued / "r.p12"),
           input=request["release_code"] + "\n")  # fmt: skip
    listed = json.loads(ca.cli("recovery", "list", "--user", "mary", "--json").stdout)
    assert listed[0]["status"] == "released" and listed[0]["approvals"] == ["victor", "quentin"]


def test_directory_lookup_names_the_certificate_to_encrypt_to(site: Site, tmp_path: Path) -> None:
    ca = site.ca
    entries = json.loads(ca.cli("directory", "lookup", "MARY@example.edu", "--json").stdout)
    assert sorted(e["purpose"] for e in entries) == ["encryption", "signing"]
    assert all(e["pem_url"].startswith(ca.url + "/directory/certificates/") for e in entries)
    ca.cli("directory", "lookup", "mary@example.edu", "--out-dir", str(tmp_path / "certs"))
    assert len(list((tmp_path / "certs").glob("*-encryption.pem"))) == 1
