"""Software key backend: PKCS#8 files encrypted under a key derived from the master key.

Each key file is JSON holding a scrypt salt and parameters plus the PKCS#8 PEM encrypted (PBES2,
AES-256-CBC) with a passphrase derived by scrypt from the master key and that salt, so a stolen key
file without the master key is useless, and a weak master passphrase still costs an attacker scrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from campusca.keys.backend import KeyType, generate_private_key
from campusca.keys.errors import KeyExists, KeyNotFound, MasterKeyError

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_LABEL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def create_master_key_file(path: Path) -> None:
    """Write a fresh random 256-bit master key, readable by the owner only, never overwriting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")


def read_master_key(env_value: str | None, path: Path) -> bytes:
    """The master key: CAMPUSCA_MASTER_KEY when set, else the key file made at init."""
    if env_value:
        return env_value.encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        raise MasterKeyError(
            f"no master key: set CAMPUSCA_MASTER_KEY or create {path} with 'campusca init'"
        ) from None


def _sync_directory(directory: Path) -> None:
    """Make an unlink durable: the directory entry is gone after a crash too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SoftwareKeyBackend:
    """Stores encrypted PKCS#8 files in a directory; decrypted keys are cached in memory."""

    name = "software"

    def __init__(self, directory: Path, master_key: bytes) -> None:
        self._directory = directory
        self._master_key = master_key
        self._cache: dict[str, CertificateIssuerPrivateKeyTypes] = {}
        self._lock = threading.Lock()

    def _path(self, label: str) -> Path:
        if not label or not set(label) <= _LABEL_CHARS:
            raise ValueError("key label must be lowercase letters, digits, '-', '_' or '.'")
        return self._directory / f"{label}.key.json"

    def _passphrase(self, salt: bytes, n: int, r: int, p: int) -> bytes:
        # hashlib's scrypt (the same RFC 7914 function as cryptography's) lets go of the GIL while it
        # runs: a worker decrypting its keys at start keeps answering; cryptography's holds it.
        derived = hashlib.scrypt(self._master_key, salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n, dklen=32)
        return base64.b64encode(derived)

    def exists(self, label: str) -> bool:
        return self._path(label).exists()

    def destroy(self, label: str) -> bool:
        """Overwrite the key file with zeros, sync, then unlink it; the cached key is dropped too.

        Unlinking alone leaves the encrypted PKCS#8 in free disk blocks, where a copy of the disk plus
        the master key would still open it; overwriting in place first removes it on ordinary (ext4, xfs)
        filesystems. Copy-on-write filesystems and SSD wear levelling may still keep old blocks: there
        only full-disk encryption helps (docs/escrow.md).
        """
        path = self._path(label)
        with self._lock:
            self._cache.pop(label, None)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return False
        try:
            remaining = os.fstat(fd).st_size
            zeros = bytes(min(remaining, 1 << 16))
            while remaining > 0:
                remaining -= os.write(fd, zeros[:remaining])
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink()
        _sync_directory(self._directory)
        return True

    def store(self, label: str, key: CertificateIssuerPrivateKeyTypes) -> None:
        """Encrypt and write a key; refuses to replace an existing one."""
        path = self._path(label)
        salt = secrets.token_bytes(16)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase(salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)),
        )
        document = {
            "version": 1,
            "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
            "salt": base64.b64encode(salt).decode(),
            "pkcs8": pem.decode(),
        }
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() fails when the target exists: a key is never silently replaced.
            os.link(tmp, path)
        except FileExistsError:
            raise KeyExists(f"a key named {label!r} already exists") from None
        finally:
            tmp.unlink(missing_ok=True)

    def generate(self, label: str, key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
        if self.exists(label):
            raise KeyExists(f"a key named {label!r} already exists")
        key = generate_private_key(key_type)
        self.store(label, key)
        return key

    def signer(self, label: str) -> CertificateIssuerPrivateKeyTypes:
        with self._lock:
            cached = self._cache.get(label)
            if cached is not None:
                return cached
            key = self._load(label)
            self._cache[label] = key
            return key

    def _load(self, label: str) -> CertificateIssuerPrivateKeyTypes:
        path = self._path(label)
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyNotFound(f"no key named {label!r}") from None
        kdf = document["kdf"]
        passphrase = self._passphrase(base64.b64decode(document["salt"]), kdf["n"], kdf["r"], kdf["p"])
        try:
            key = serialization.load_pem_private_key(document["pkcs8"].encode(), password=passphrase)
        except ValueError:
            raise MasterKeyError(f"the master key does not decrypt key {label!r}") from None
        return key  # type: ignore[return-value]
