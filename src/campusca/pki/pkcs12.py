"""PKCS#12 export and import of a key with its certificates (RFC 7292), including multi-key recovery files."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from asn1crypto import algos, cms, core
from asn1crypto import pkcs12 as apkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from campusca.pki.errors import Pkcs12DecodeError, Pkcs12PasswordError

__all__ = [
    "DEFAULT_ITERATIONS",
    "Pkcs12Contents",
    "export_pkcs12",
    "gpgsm_would_misread",
    "load_pkcs12",
]

# PBKDF2 rounds for the key and certificate bags. The MAC keeps cryptography's fixed 2048 rounds.
DEFAULT_ITERATIONS = 200_000

# RFC 7292 Appendix B.2: (hashlib name, digest size u, block size v) for the MAC key derivation.
_MAC_HASHES: dict[str, tuple[str, int, int]] = {
    "sha1": ("sha1", 20, 64),
    "sha256": ("sha256", 32, 64),
    "sha384": ("sha384", 48, 128),
    "sha512": ("sha512", 64, 128),
}
_MAC_KEY_ID = 3
_CIPHER_KEY_ID = 1
_LEGACY_CIPHER = "pkcs12_sha1_tripledes_3key"
# A legacy file gpgsm would misread is serialised again with fresh salts; each attempt fails with
# probability ~2 %, so this bound is never reached unless something else is wrong.
_GPGSM_ATTEMPTS = 16
_PKCS12_KEY_TYPES = (
    rsa.RSAPrivateKey,
    dsa.DSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


@dataclass(frozen=True, slots=True)
class Pkcs12Contents:
    """What a PKCS#12 file holds: the main key and certificate, its chain, and any further key pairs."""

    key: pkcs12.PKCS12PrivateKeyTypes
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    extra: tuple[tuple[pkcs12.PKCS12PrivateKeyTypes, x509.Certificate], ...]


def export_pkcs12(
    *,
    key: pkcs12.PKCS12PrivateKeyTypes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    password: bytes,
    legacy: bool = False,
    friendly_name: bytes | None = None,
    extra: Sequence[tuple[pkcs12.PKCS12PrivateKeyTypes, x509.Certificate]] = (),
    iterations: int = DEFAULT_ITERATIONS,
) -> bytes:
    """Return a password-protected PKCS#12 holding `key`, `certificate`, `chain` and the `extra` pairs.

    Modern files use PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256 MAC; `legacy` files
    use pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA1 MAC, the only kind gpgsm 2.2 and older
    Apple releases import. `extra` pairs (a recovery file's past decryption keys) become further
    key and certificate bags: cryptography serialises one key per file, so each pair is serialised
    on its own and the bags are merged under one freshly computed MAC.
    """
    if not password:
        raise ValueError("password must not be empty")
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    try:
        password.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("password must be UTF-8") from None
    encryption = _encryption(password, legacy=legacy, iterations=iterations)
    main = _serialise(friendly_name, key, certificate, chain, encryption, password, legacy=legacy)
    if not extra:
        return main
    parts = [main]
    for extra_key, extra_certificate in extra:
        name = _extra_name(friendly_name, extra_certificate)
        parts.append(_serialise(name, extra_key, extra_certificate, (), encryption, password, legacy=legacy))
    return _merge(parts, password)


def load_pkcs12(data: bytes, password: bytes) -> Pkcs12Contents:
    """Open a PKCS#12 file: its main key and certificate, the other certificates, and further key pairs.

    Raises:
        Pkcs12PasswordError: the MAC does not verify with `password`.
        Pkcs12DecodeError: the data is not a PKCS#12 file, or holds no key or no matching certificate.
    """
    pfx = _parse_pfx(data)
    if not _mac_matches(pfx, password):
        raise Pkcs12PasswordError("PKCS#12 password is wrong or the file's MAC is corrupt")
    try:
        loaded = pkcs12.load_pkcs12(data, password)
    except ValueError:
        raise Pkcs12DecodeError(
            "PKCS#12 bags cannot be decrypted (unsupported algorithm or damaged data)"
        ) from None
    if loaded.key is None or loaded.cert is None:
        raise Pkcs12DecodeError("PKCS#12 file must hold a private key and its certificate")
    if not isinstance(loaded.key, _PKCS12_KEY_TYPES):
        raise Pkcs12DecodeError("PKCS#12 key type is not supported")
    main_key, main_cert = loaded.key, loaded.cert.certificate
    others = [c.certificate for c in loaded.additional_certs]
    extra: list[tuple[pkcs12.PKCS12PrivateKeyTypes, x509.Certificate]] = []
    for extra_key in _private_keys(pfx, password):
        if _same_public_key(extra_key, main_cert):
            continue
        match = next((c for c in others if _same_public_key(extra_key, c)), None)
        if match is None:
            raise Pkcs12DecodeError("PKCS#12 file holds a private key without a matching certificate")
        others.remove(match)
        extra.append((extra_key, match))
    return Pkcs12Contents(key=main_key, certificate=main_cert, chain=tuple(others), extra=tuple(extra))


def _encryption(
    password: bytes, *, legacy: bool, iterations: int
) -> serialization.KeySerializationEncryption:
    builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(iterations)
    if legacy:
        # The legacy profile is 3DES + an HMAC-SHA1 MAC by definition: what gpgsm 2.2 and old Apple releases read.
        legacy_mac = hashes.SHA1()  # noqa: S303
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(legacy_mac)
    else:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
    return builder.build(password)


def _serialise(
    name: bytes | None,
    key: pkcs12.PKCS12PrivateKeyTypes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    encryption: serialization.KeySerializationEncryption,
    password: bytes,
    *,
    legacy: bool,
) -> bytes:
    """One key's PFX; a legacy one is made again until gpgsm derives every bag's key correctly.

    gpgsm (2.2 and its current source, sm/minip12.c `string_to_key`) writes the adjusted I blocks of
    RFC 7292 B.2 step 6C with `gcry_mpi_print`, which drops leading zero bytes instead of keeping the
    block 64 bytes wide. When a block's sum starts with a zero byte (about 1 in 128 per 3DES key, so
    ~2 % of files), gpgsm derives another key and refuses the file as "possibly bad passphrase".
    The salt is random, so a fresh serialisation is read by both.
    """
    for _ in range(_GPGSM_ATTEMPTS):
        der: bytes = pkcs12.serialize_key_and_certificates(name, key, certificate, list(chain), encryption)
        if not legacy or not gpgsm_would_misread(der, password):
            return der
    raise RuntimeError("could not write a legacy PKCS#12 file that gpgsm reads")


def gpgsm_would_misread(der: bytes, password: bytes) -> bool:
    """Whether gpgsm derives a wrong key for one of this PKCS#12 file's 3DES bags (see `_serialise`)."""
    return any(_gpgsm_misderives(password, salt, iterations) for salt, iterations in _legacy_bag_salts(der))


def _legacy_bag_salts(der: bytes) -> Iterator[tuple[bytes, int]]:
    """The (salt, iterations) of every 3DES-encrypted bag: the certificate safe and the shrouded keys."""
    for info in apkcs12.Pfx.load(der).authenticated_safe:
        if info["content_type"].native == "encrypted_data":
            algorithms = [info["content"]["encrypted_content_info"]["content_encryption_algorithm"]]
        else:
            bags = apkcs12.SafeContents.load(info["content"].native)
            algorithms = [
                bag["bag_value"]["encryption_algorithm"]
                for bag in bags
                if bag["bag_id"].native == "pkcs8_shrouded_key_bag"
            ]
        for algorithm in algorithms:
            if algorithm["algorithm"].native == _LEGACY_CIPHER:
                yield algorithm["parameters"]["salt"].native, algorithm["parameters"]["iterations"].native


def _gpgsm_misderives(password: bytes, salt: bytes, iterations: int) -> bool:
    """Whether gpgsm's PKCS#12 KDF gets this salt's 3DES key wrong (see `_serialise`).

    A 24-byte key takes two SHA-1 rounds; gpgsm goes wrong exactly when an I block adjusted after the
    first round has a zero first byte.
    """
    _, adjusted = next(_kdf_rounds("sha1", password, salt, iterations, _CIPHER_KEY_ID))
    _, _, v = _MAC_HASHES["sha1"]
    return any(block >> (8 * v - 8) == 0 for block in adjusted)


def _extra_name(friendly_name: bytes | None, certificate: x509.Certificate) -> bytes:
    """Name an extra bag after its certificate's serial, so a mail client's key list tells them apart."""
    serial = f"{certificate.serial_number:x}".encode("ascii")
    return (friendly_name + b" " if friendly_name else b"") + b"serial " + serial


def _merge(parts: Sequence[bytes], password: bytes) -> bytes:
    """Concatenate the AuthenticatedSafes of several PFX files and MAC the result like the first one."""
    pfxs = [apkcs12.Pfx.load(p) for p in parts]
    contents = [ci for pfx in pfxs for ci in pfx.authenticated_safe]
    safe_der = apkcs12.AuthenticatedSafe(contents).dump()
    first_mac = pfxs[0]["mac_data"]
    hash_name = first_mac["mac"]["digest_algorithm"]["algorithm"].native
    iterations = first_mac["iterations"].native
    salt = os.urandom(len(first_mac["mac_salt"].native))
    digest = _mac(hash_name, password, salt, iterations, safe_der)
    mac_data = apkcs12.MacData(
        {
            "mac": algos.DigestInfo(
                {"digest_algorithm": {"algorithm": hash_name, "parameters": core.Null()}, "digest": digest}
            ),
            "mac_salt": salt,
            "iterations": iterations,
        }
    )
    pfx = apkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": cms.ContentInfo({"content_type": "data", "content": core.OctetString(safe_der)}),
            "mac_data": mac_data,
        }
    )
    der: bytes = pfx.dump()
    return der


def _parse_pfx(data: bytes) -> apkcs12.Pfx:
    try:
        pfx = apkcs12.Pfx.load(data)
        if pfx["auth_safe"]["content_type"].native != "data":
            raise Pkcs12DecodeError("PKCS#12 authSafe must be password-integrity (data) content")
        len(pfx.authenticated_safe)  # parses the AuthenticatedSafe now, so damage shows here
        if isinstance(pfx["mac_data"], core.Void):
            raise Pkcs12DecodeError("PKCS#12 file must carry macData for password integrity")
    except Pkcs12DecodeError:
        raise
    except (ValueError, TypeError, KeyError):
        raise Pkcs12DecodeError("PKCS#12 data cannot be parsed") from None
    return pfx


def _mac_matches(pfx: apkcs12.Pfx, password: bytes) -> bool:
    mac_data = pfx["mac_data"]
    hash_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if hash_name not in _MAC_HASHES:
        raise Pkcs12DecodeError(f"PKCS#12 MAC algorithm {hash_name} is not supported")
    try:
        password.decode("utf-8")
    except UnicodeDecodeError:
        raise Pkcs12PasswordError("PKCS#12 password must be UTF-8") from None
    expected = _mac(
        hash_name,
        password,
        mac_data["mac_salt"].native,
        mac_data["iterations"].native,
        pfx["auth_safe"]["content"].native,
    )
    return hmac.compare_digest(expected, mac_data["mac"]["digest"].native)


def _mac(hash_name: str, password: bytes, salt: bytes, iterations: int, data: bytes) -> bytes:
    name, size, _ = _MAC_HASHES[hash_name]
    key = _pkcs12_kdf(hash_name, password, salt, iterations, _MAC_KEY_ID, size)
    return hmac.new(key, data, name).digest()


def _pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, iterations: int, key_id: int, length: int
) -> bytes:
    """Derive key material from a password the PKCS#12 way (RFC 7292 Appendix B.2)."""
    out = b""
    for a, _ in _kdf_rounds(hash_name, password, salt, iterations, key_id):
        out += a
        if len(out) >= length:
            break
    return out[:length]


def _kdf_rounds(
    hash_name: str, password: bytes, salt: bytes, iterations: int, key_id: int
) -> Iterator[tuple[bytes, list[int]]]:
    """Each round's output A and the I blocks adjusted for the next round (B.2 steps 6A-6C)."""
    name, _, v = _MAC_HASHES[hash_name]
    # The password is a BMPString with a two-byte NUL terminator (RFC 7292 B.1); OpenSSL reads the
    # caller's bytes as UTF-8 before converting, and so do we.
    bmp = password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"
    d = bytes([key_id]) * v
    s = _fill(salt, v)
    p = _fill(bmp, v)
    i = s + p
    digest = getattr(hashlib, name)
    while True:
        a = digest(d + i).digest()
        for _ in range(iterations - 1):
            a = digest(a).digest()
        b = int.from_bytes(_fill(a, v)[:v], "big") + 1
        adjusted = [(int.from_bytes(i[j : j + v], "big") + b) % (1 << (8 * v)) for j in range(0, len(i), v)]
        yield a, adjusted
        i = b"".join(block.to_bytes(v, "big") for block in adjusted)


def _fill(data: bytes, v: int) -> bytes:
    """Repeat `data` up to the next multiple of `v` bytes (RFC 7292 B.2 steps 2 and 3)."""
    if not data:
        return b""
    length = v * ((len(data) + v - 1) // v)
    return (data * (length // len(data) + 1))[:length]


def _private_keys(pfx: apkcs12.Pfx, password: bytes) -> list[pkcs12.PKCS12PrivateKeyTypes]:
    """Every key bag and shrouded key bag of the plain (data) SafeContents, decrypted."""
    found: list[pkcs12.PKCS12PrivateKeyTypes] = []
    for info in pfx.authenticated_safe:
        if info["content_type"].native != "data":
            continue
        for bag in apkcs12.SafeContents.load(info["content"].native):
            bag_id = bag["bag_id"].native
            if bag_id not in ("pkcs8_shrouded_key_bag", "key_bag"):
                continue
            der = bag["bag_value"].untag().dump()
            secret = password if bag_id == "pkcs8_shrouded_key_bag" else None
            try:
                loaded = serialization.load_der_private_key(der, secret)
            except (ValueError, TypeError):
                raise Pkcs12DecodeError("PKCS#12 key bag cannot be decrypted") from None
            if not isinstance(loaded, _PKCS12_KEY_TYPES):
                raise Pkcs12DecodeError("PKCS#12 key bag holds a key type PKCS#12 export does not support")
            found.append(loaded)
    return found


def _same_public_key(key: pkcs12.PKCS12PrivateKeyTypes, certificate: x509.Certificate) -> bool:
    encoding, fmt = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(encoding, fmt) == certificate.public_key().public_bytes(
        encoding, fmt
    )
