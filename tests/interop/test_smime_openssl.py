"""S/MIME and PKCS#12 against the real `openssl cms` / `openssl pkcs12` (OpenSSL 3.0)."""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from campusca.pki.pkcs12 import export_pkcs12, load_pkcs12
from campusca.smime import (
    CertificateExpired,
    CertificateNotTrusted,
    CertificateRevoked,
    ContentCipher,
    KeyTransport,
    SenderMismatch,
    SignatureInvalid,
    decrypt_cms,
    decrypt_message,
    encrypt_message,
    sign_message,
    verify_message,
)
from tests.support.peers import require_peer
from tests.unit.smime.ca import DAY, NOW, Issued, TestCa, mail

pytestmark = pytest.mark.interop

PART = b"Content-Type: text/plain; charset=us-ascii\n\nMeeting moved to room 4.\n"


@dataclass(frozen=True)
class Setup:
    ca: TestCa
    bob: Issued
    mary: Issued
    directory: Path

    def path(self, name: str) -> str:
        return str(self.directory / name)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    directory = tmp_path_factory.mktemp("smime-openssl")
    ca = TestCa()
    bob = ca.issue("bob@campus.example", usage="sign")
    mary = ca.issue("mary@campus.example", usage="encrypt")
    bob.write(directory, "bob")
    mary.write(directory, "mary")
    ca.root.write(directory, "root")
    ca.issuing.write(directory, "issuing")
    (directory / "part.txt").write_bytes(PART)
    return Setup(ca, bob, mary, directory)


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    require_peer("openssl")
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=60, check=False)


def _verify(setup: Setup, message: bytes, **options: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "trust_roots": [setup.ca.root.certificate],
        "intermediates": [setup.ca.issuing.certificate],
        "crls": setup.ca.crls(),
        "at": NOW,
    }
    arguments.update(options)
    return verify_message(message, **arguments)  # type: ignore[arg-type]


def _openssl_signed(
    setup: Setup, *extra: str, sender: str = "bob@campus.example", signer: str = "bob"
) -> bytes:
    result = openssl(
        "cms",
        "-sign",
        "-in",
        setup.path("part.txt"),
        "-signer",
        setup.path(f"{signer}.pem"),
        "-inkey",
        setup.path(f"{signer}.key"),
        "-certfile",
        setup.path("issuing.pem"),
        "-from",
        sender,
        "-to",
        "mary@campus.example",
        "-subject",
        "Room change",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- signing -------------------------------------------------------------------------------------


def test_openssl_verifies_our_signed_message(setup: Setup) -> None:
    signed = sign_message(
        mail(),
        signer=setup.bob.key,
        signer_certificate=setup.bob.certificate,
        chain=[setup.ca.issuing.certificate],
        signing_time=NOW,
    )
    (setup.directory / "ours-signed.eml").write_bytes(signed)
    result = openssl(
        "cms", "-verify", "-in", setup.path("ours-signed.eml"), "-CAfile", setup.path("root.pem")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.replace(b"\r\n", b"\n").endswith(b"Hello Mary,\nthe minutes are attached.\n")


def test_openssl_with_crl_check_refuses_our_message_from_a_revoked_signer(setup: Setup) -> None:
    signed = sign_message(
        mail(),
        signer=setup.bob.key,
        signer_certificate=setup.bob.certificate,
        chain=[setup.ca.issuing.certificate],
    )
    (setup.directory / "ours-revoked.eml").write_bytes(signed)
    store = setup.directory / "root+crls.pem"
    store.write_bytes(
        setup.ca.root.certificate.public_bytes(serialization.Encoding.PEM)
        + b"".join(_pem_crl(der) for der in setup.ca.crls([setup.bob.certificate]))
    )
    result = openssl(
        "cms", "-verify", "-in", setup.path("ours-revoked.eml"), "-CAfile", str(store), "-crl_check"
    )
    assert result.returncode == 4
    assert b"revoked" in result.stderr


@pytest.mark.parametrize(
    "mode", [pytest.param((), id="ok-multipart"), pytest.param(("-nodetach",), id="ok-opaque")]
)
def test_we_verify_openssls_signed_message(setup: Setup, mode: tuple[str, ...]) -> None:
    result = _verify(setup, _openssl_signed(setup, *mode))
    assert result.signer_email == "bob@campus.example"
    assert result.content == PART.replace(b"\n", b"\r\n")


def test_we_reject_openssls_message_with_a_tampered_body(setup: Setup) -> None:
    tampered = _openssl_signed(setup).replace(b"room 4", b"room 5")
    with pytest.raises(SignatureInvalid):
        _verify(setup, tampered)


def test_we_reject_openssls_message_from_another_sender(setup: Setup) -> None:
    with pytest.raises(SenderMismatch):
        _verify(setup, _openssl_signed(setup, sender="alice@campus.example"))


def test_we_reject_openssls_message_signed_with_an_expired_certificate(setup: Setup) -> None:
    expired = setup.ca.issue("bob@campus.example", not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    expired.write(setup.directory, "bob-expired")
    signed = _openssl_signed(setup, "-noverify", signer="bob-expired")
    with pytest.raises(CertificateExpired):
        _verify(setup, signed)


def test_we_reject_openssls_message_from_a_revoked_signer(setup: Setup) -> None:
    with pytest.raises(CertificateRevoked):
        _verify(setup, _openssl_signed(setup), crls=setup.ca.crls([setup.bob.certificate]))


def test_we_reject_openssls_message_under_an_untrusted_root(setup: Setup) -> None:
    with pytest.raises(CertificateNotTrusted):
        _verify(setup, _openssl_signed(setup), trust_roots=[TestCa("Elsewhere").root.certificate])


# --- encryption ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cipher", "transport"),
    [
        pytest.param(ContentCipher.AES_256_CBC, KeyTransport.RSA_PKCS1V15, id="ok-aes256"),
        pytest.param(ContentCipher.AES_256_CBC, KeyTransport.RSA_OAEP_SHA256, id="ok-oaep-sha256"),
        pytest.param(ContentCipher.AES_256_GCM, KeyTransport.RSA_PKCS1V15, id="ok-gcm"),
    ],
)
def test_openssl_decrypts_our_encrypted_message(
    setup: Setup, cipher: ContentCipher, transport: KeyTransport
) -> None:
    encrypted = encrypt_message(mail(), [setup.mary.certificate], cipher=cipher, key_transport=transport)
    (setup.directory / "ours-enc.eml").write_bytes(encrypted)
    result = openssl(
        "cms",
        "-decrypt",
        "-in",
        setup.path("ours-enc.eml"),
        "-recip",
        setup.path("mary.pem"),
        "-inkey",
        setup.path("mary.key"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.replace(b"\r\n", b"\n").endswith(b"Hello Mary,\nthe minutes are attached.\n")


_OAEP_OID = bytes.fromhex("06092a864886f70d010107")
_AUTH_ENVELOPED_OID = bytes.fromhex("060b2a864886f70d0109100117")


@pytest.mark.parametrize(
    ("options", "marker"),
    [
        pytest.param(("-aes256",), b"\x30\x82", id="ok-aes256-cbc"),
        pytest.param(("-aes-256-cbc", "-keyopt", "rsa_padding_mode:oaep"), _OAEP_OID, id="ok-oaep"),
        pytest.param(("-aes-256-gcm",), _AUTH_ENVELOPED_OID, id="ok-gcm-authenveloped"),
        pytest.param(("-aes256", "-stream"), b"\x30\x80", id="ok-ber-stream"),
    ],
)
def test_we_decrypt_openssls_encrypted_message(setup: Setup, options: tuple[str, ...], marker: bytes) -> None:
    # -keyopt applies to the -recip before it.
    result = openssl(
        "cms",
        "-encrypt",
        "-recip",
        setup.path("mary.pem"),
        *options,
        "-in",
        setup.path("part.txt"),
        "-from",
        "bob@campus.example",
        "-subject",
        "Room change",
    )
    assert result.returncode == 0, result.stderr
    der = base64.b64decode(result.stdout.split(b"\n\n", 1)[1])
    assert (
        der.startswith(marker) if marker[:1] == b"\x30" else marker in der
    )  # the feature under test is used
    decrypted = decrypt_message(
        result.stdout, recipient_certificate=setup.mary.certificate, decrypter=setup.mary.key
    )
    assert decrypted.startswith(b"From: bob@campus.example\r\n")
    assert decrypted.endswith(PART.replace(b"\n", b"\r\n"))


def test_we_decrypt_openssls_binary_der_envelope(setup: Setup) -> None:
    result = openssl(
        "cms",
        "-encrypt",
        "-aes256",
        "-recip",
        setup.path("mary.pem"),
        "-in",
        setup.path("part.txt"),
        "-outform",
        "DER",
        "-binary",
    )
    assert result.returncode == 0, result.stderr
    content = decrypt_cms(
        result.stdout, recipient_certificate=setup.mary.certificate, decrypter=setup.mary.key
    )
    assert content == PART


# --- PKCS#12 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [pytest.param(False, id="ok-modern"), pytest.param(True, id="ok-legacy")])
def test_openssl_opens_our_pkcs12_without_the_legacy_provider(setup: Setup, legacy: bool) -> None:
    data = export_pkcs12(
        key=setup.mary.key,
        certificate=setup.mary.certificate,
        chain=[setup.ca.issuing.certificate],
        password=b"s3cret pass",
        legacy=legacy,
        friendly_name=b"Mary",
        extra=[(setup.bob.key, setup.bob.certificate)],
    )
    (setup.directory / "ours.p12").write_bytes(data)
    result = openssl(
        "pkcs12", "-info", "-nodes", "-in", setup.path("ours.p12"), "-passin", "pass:s3cret pass"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"-----BEGIN PRIVATE KEY-----") == 2
    assert result.stdout.count(b"-----BEGIN CERTIFICATE-----") == 3
    assert (b"3-KeyTripleDES" if legacy else b"AES-256-CBC") in result.stderr
    assert (b"MAC: sha1" if legacy else b"MAC: sha256") in result.stderr


def test_we_load_openssls_default_pkcs12(setup: Setup) -> None:
    result = openssl(
        "pkcs12",
        "-export",
        "-inkey",
        setup.path("mary.key"),
        "-in",
        setup.path("mary.pem"),
        "-certfile",
        setup.path("issuing.pem"),
        "-passout",
        "pass:pw",
    )
    assert result.returncode == 0, result.stderr
    loaded = load_pkcs12(result.stdout, b"pw")
    assert loaded.certificate == setup.mary.certificate
    assert loaded.chain == (setup.ca.issuing.certificate,)


def _pem_crl(der: bytes) -> bytes:
    from cryptography import x509

    return x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
