"""The software key backend keeps CA keys encrypted at rest and never overwrites one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from campusca.keys import (
    KeyExists,
    KeyNotFound,
    KeyType,
    MasterKeyError,
    SoftwareKeyBackend,
    create_master_key_file,
    read_master_key,
)


def test_key_file_is_encrypted_and_private(tmp_path: Path) -> None:
    backend = SoftwareKeyBackend(tmp_path, b"master-secret-for-test")
    key = backend.generate("issuing-ca", KeyType.EC_P256)
    path = tmp_path / "issuing-ca.key.json"
    text = path.read_text()
    assert "ENCRYPTED PRIVATE KEY" in text
    assert "BEGIN PRIVATE KEY" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened = SoftwareKeyBackend(tmp_path, b"master-secret-for-test")
    assert reopened.signer("issuing-ca").public_key() == key.public_key()


def test_wrong_master_key_is_refused_without_leaking(tmp_path: Path) -> None:
    SoftwareKeyBackend(tmp_path, b"right").generate("root-ca", KeyType.EC_P256)
    with pytest.raises(MasterKeyError) as error:
        SoftwareKeyBackend(tmp_path, b"wrong").signer("root-ca")
    assert "right" not in str(error.value) and "wrong" not in str(error.value)


def test_existing_key_is_never_replaced(tmp_path: Path) -> None:
    backend = SoftwareKeyBackend(tmp_path, b"m")
    first = backend.generate("root-ca", KeyType.EC_P256)
    with pytest.raises(KeyExists):
        backend.generate("root-ca", KeyType.EC_P256)
    with pytest.raises(KeyExists):
        backend.store("root-ca", first)
    assert SoftwareKeyBackend(tmp_path, b"m").signer("root-ca").public_key() == first.public_key()


def test_missing_key_and_bad_label(tmp_path: Path) -> None:
    backend = SoftwareKeyBackend(tmp_path, b"m")
    with pytest.raises(KeyNotFound):
        backend.signer("nope")
    with pytest.raises(ValueError):
        backend.generate("../escape", KeyType.EC_P256)


def test_master_key_file_is_0600_and_env_wins(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    create_master_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_master_key(None, path)) >= 40
    assert read_master_key("from-env", path) == b"from-env"
    with pytest.raises(FileExistsError):
        create_master_key_file(path)
    with pytest.raises(MasterKeyError, match="CAMPUSCA_MASTER_KEY"):
        read_master_key(None, tmp_path / "absent.key")


def test_destroyed_key_is_overwritten_unlinked_and_forgotten(tmp_path: Path) -> None:
    backend = SoftwareKeyBackend(tmp_path, b"m")
    backend.generate("escrow-1-abc", KeyType.EC_P256)
    backend.signer("escrow-1-abc")  # now cached in memory too
    path = tmp_path / "escrow-1-abc.key.json"
    size = path.stat().st_size
    # A second name for the same inode shows what became of the bytes on disk after the unlink.
    witness = tmp_path / "witness"
    os.link(path, witness)
    assert backend.destroy("escrow-1-abc") is True
    assert not path.exists() and not backend.exists("escrow-1-abc")
    assert witness.read_bytes() == bytes(size)  # zeros where the encrypted PKCS#8 was
    with pytest.raises(KeyNotFound):
        backend.signer("escrow-1-abc")
    assert backend.destroy("escrow-1-abc") is False  # idempotent: nothing left to destroy
