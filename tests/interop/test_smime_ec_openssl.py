"""EC S/MIME against `openssl cms` (OpenSSL 3.0): ECDH-encrypted mail both ways, ECDSA signatures both ways."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from campusca.smime import decrypt_message, encrypt_message, sign_message, verify_message
from tests.support.peers import require_peer
from tests.unit.smime.ca import NOW, Issued, TestCa, mail

pytestmark = pytest.mark.interop


def _openssl(*args: str | Path, stdin: bytes = b"") -> bytes:
    require_peer("openssl")
    done = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.fixture(scope="module")
def ca() -> TestCa:
    return TestCa("Campus EC")


@pytest.fixture(scope="module", params=[ec.SECP256R1, ec.SECP384R1], ids=["p256", "p384"])
def erin(
    request: pytest.FixtureRequest, ca: TestCa, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Issued, Path]:
    directory = tmp_path_factory.mktemp("erin")
    issued = ca.issue("erin@campus.example", usage="agree", key=ec.generate_private_key(request.param()))
    issued.write(directory, "erin")
    return issued, directory


def test_openssl_decrypts_mail_we_encrypt_to_an_ec_certificate(erin: tuple[Issued, Path]) -> None:
    issued, d = erin
    encrypted = encrypt_message(mail(), [issued.certificate])
    plain = _openssl("cms", "-decrypt", "-recip", d / "erin.pem", "-inkey", d / "erin.key", stdin=encrypted)
    assert b"the minutes are attached" in plain


def test_we_decrypt_mail_openssl_encrypts_to_an_ec_certificate(erin: tuple[Issued, Path]) -> None:
    issued, d = erin
    encrypted = _openssl("cms", "-encrypt", "-aes256", d / "erin.pem", stdin=mail())
    plain = decrypt_message(encrypted, recipient_certificate=issued.certificate, decrypter=issued.key)
    assert b"the minutes are attached" in plain


def test_ecdsa_signatures_verify_both_ways(ca: TestCa, tmp_path: Path) -> None:
    bob = ca.issue("bob@campus.example", usage="sign", key=ec.generate_private_key(ec.SECP384R1()))
    bob.write(tmp_path, "bob")
    ca.root.write(tmp_path, "root")
    ca.issuing.write(tmp_path, "issuing")
    signed = sign_message(
        mail(), signer=bob.key, signer_certificate=bob.certificate, chain=[ca.issuing.certificate]
    )
    _openssl("cms", "-verify", "-CAfile", tmp_path / "root.pem", stdin=signed)
    theirs = _openssl("cms", "-sign", "-signer", tmp_path / "bob.pem", "-inkey", tmp_path / "bob.key",
                      "-certfile", tmp_path / "issuing.pem", stdin=mail())  # fmt: skip
    # openssl signs the whole message, From: included, so the outer entity has no From: to match.
    verified = verify_message(
        theirs, trust_roots=[ca.root.certificate], crls=ca.crls(), at=NOW, require_sender_match=False
    )
    assert verified.signer_certificate == bob.certificate
