"""Legal release and `smime decrypt` take a bare .p7m and nested CMS made by `openssl cms` (issue 13 §6)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from campusca.services.authority import Authority
from campusca.services.smime import recovery
from campusca.services.smime.messages import decrypt, open_pkcs12
from campusca.services.smime.recovery_release import release_legal
from tests.integration.escrow.helpers import PASSWORD, enable_escrow, issue, mail
from tests.support.peers import require_peer

PART = b"Content-Type: text/plain\r\n\r\nThe contract is signed.\r\n"


def _openssl(*args: str | Path, stdin: bytes = b"") -> bytes:
    require_peer("openssl")
    done = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.fixture
def files(authority: Authority, tmp_path: Path) -> Path:
    """Escrow on (agent rita); Bob's signing key and certificate and Mary's encryption certificate as PEM."""
    enable_escrow(authority)
    bob, mary = issue(authority, "bob"), issue(authority, "mary")
    (tmp_path / "mary.pem").write_bytes(mary.encryption.pem)
    assert bob.pkcs12 is not None
    signer = next(p for p in open_pkcs12(bob.pkcs12, PASSWORD) if p.certificate == bob.signing.certificate)
    (tmp_path / "bob.pem").write_bytes(bob.signing.pem)
    (tmp_path / "bob.key").write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "mary.p12").write_bytes(mary.pkcs12 or b"")
    return tmp_path


def _sign(d: Path, content: bytes, *extra: str) -> bytes:
    return _openssl("cms", "-sign", "-nodetach", "-binary", "-signer", d / "bob.pem", "-inkey", d / "bob.key",
                    "-outform", "DER", *extra, stdin=content)  # fmt: skip


def _encrypt(d: Path, content: bytes, outform: str = "DER") -> bytes:
    return _openssl(
        "cms", "-encrypt", "-binary", "-aes256", "-outform", outform, d / "mary.pem", stdin=content
    )


def _nested(d: Path) -> dict[str, bytes]:
    return {
        "bare-der": _encrypt(d, PART),
        "bare-pem": _encrypt(d, PART, "PEM"),
        "signed-inside-enveloped": _encrypt(d, _sign(d, PART)),
        "enveloped-inside-signed": _sign(d, _encrypt(d, PART)),
        "mime-enveloped-inside-signed": _openssl(
            "cms",
            "-sign",
            "-nodetach",
            "-signer",
            d / "bob.pem",
            "-inkey",
            d / "bob.key",
            stdin=_openssl("cms", "-encrypt", "-aes256", d / "mary.pem", stdin=mail()),
        ),  # fmt: skip
    }


def test_a_legal_release_decrypts_bare_and_nested_cms(authority: Authority, files: Path) -> None:
    messages = _nested(files)
    request = recovery.request_recovery(
        authority, username="mary", reason="legal", case_ref="CASE-13", actor="p:larry", requester="larry"
    )
    recovery.approve(authority, request_id=request.id, agent="rita", actor="cli")
    result = release_legal(
        authority, request_id=request.id, messages=list(messages.values()), actor="p:larry", releaser="larry"
    )
    plain = dict(zip(messages, result.plaintexts, strict=True))
    assert plain["bare-der"] == PART and plain["bare-pem"] == PART
    assert plain["enveloped-inside-signed"] == PART
    assert b"smime-type=signed-data" in plain["signed-inside-enveloped"]  # kept, so it can be verified
    assert b"the minutes are attached" in plain["mime-enveloped-inside-signed"]
    assert b"Subject: minutes" in plain["mime-enveloped-inside-signed"]


def test_smime_decrypt_takes_a_bare_p7m(authority: Authority, files: Path) -> None:
    bare = _encrypt(files, PART)
    assert decrypt(bare, pkcs12=(files / "mary.p12").read_bytes(), password=PASSWORD) == PART
