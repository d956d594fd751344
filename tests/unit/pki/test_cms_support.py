"""Keys, certificates and an openssl runner shared by the CMS tests (no tests here)."""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import parser
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support.peers import require_peer

NOW = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Party:
    """A private key with its certificate, also written as PEM files for openssl."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    key_path: Path
    cert_path: Path


def make_party(
    directory: Path,
    name: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    with_ski: bool = True,
) -> Party:
    """Issue a self-signed certificate for `key` and write key and certificate as PEM."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Campus Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if with_ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    certificate = builder.sign(key, hashes.SHA256())
    key_path = directory / f"{name}.key"
    cert_path = directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Party(key=key, certificate=certificate, key_path=key_path, cert_path=cert_path)


@pytest.fixture(scope="session")
def rsa_party(tmp_path_factory: pytest.TempPathFactory) -> Party:
    return make_party(tmp_path_factory.mktemp("rsa"), "alice", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="session")
def other_rsa_party(tmp_path_factory: pytest.TempPathFactory) -> Party:
    return make_party(tmp_path_factory.mktemp("rsa2"), "bob", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="session")
def ec_party(tmp_path_factory: pytest.TempPathFactory) -> Party:
    return make_party(tmp_path_factory.mktemp("ec"), "carol", ec.generate_private_key(ec.SECP256R1()))


def openssl(*args: str | Path, stdin: bytes = b"") -> bytes:
    """Run `openssl` with `args`, fail the test with its stderr if it exits non-zero, return stdout."""
    require_peer("openssl")
    result = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"openssl {' '.join(map(str, args))} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def openssl_status(*args: str | Path, stdin: bytes = b"") -> int:
    """Run `openssl` with `args` and return its exit status."""
    require_peer("openssl")
    result = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False)
    return result.returncode


def damaged(message: bytes, position: int, value: int, cut: bool) -> bytes:
    """`message` cut at `position` (modulo its length), or with the octet there replaced by `value`."""
    changed = bytearray(message)
    position %= len(changed)
    if cut:
        del changed[position:]
    else:
        changed[position] = value
    return bytes(changed)


def to_indefinite_ber(
    der: bytes, *, keep_definite: Callable[[tuple[int, ...]], bool] = lambda path: False
) -> bytes:
    """Re-encode every constructed TLV with an indefinite length (BER), except where `keep_definite`.

    `keep_definite` gets the path of identifier octets from the outermost value down to the
    current one, e.g. (0x30, 0xA0, 0x30, 0xA0) for the certificates of a SignedData.
    """
    return b"".join(_indefinite(tlv, (), keep_definite) for tlv in _tlvs(der))


def _tlvs(data: bytes) -> list[bytes]:
    values, pos = [], 0
    while pos < len(data):
        length = parser.peek(data[pos:])
        values.append(data[pos : pos + length])
        pos += length
    return values


def _indefinite(tlv: bytes, path: tuple[int, ...], keep: Callable[[tuple[int, ...]], bool]) -> bytes:
    _class, method, _tag, header, contents, _trailer = parser.parse(tlv)
    here = (*path, tlv[0])
    if method != 1 or keep(here):
        return tlv
    inner = b"".join(_indefinite(child, here, keep) for child in _tlvs(contents))
    return header[:1] + b"\x80" + inner + b"\x00\x00"
