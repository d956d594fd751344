"""Compact versioned encoding of escrow blobs: magic, kind, version, then length-prefixed fields.

Every stored escrow object (archive record, encrypted domain key, sealed share) and every block of
associated data is encoded with this one function, so the encoding is deterministic and unambiguous:
each field carries a 4-byte big-endian length, and decoding rejects unknown kinds, unknown versions,
a wrong field count and trailing bytes. Nothing here ever unpickles or evaluates stored data.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Sequence

from campusca.escrow.errors import DecodeError

MAGIC = b"CAES"
_HEADER_LENGTH = len(MAGIC) + 2
_LENGTH_SIZE = 4


class BlobKind(enum.IntEnum):
    """What an encoded blob is; the kind byte keeps one blob from being read as another."""

    ARCHIVE_RECORD = 1
    ARCHIVE_AAD = 2
    ENCRYPTED_DOMAIN_KEY = 3
    DOMAIN_KEY_AAD = 4
    SEALED_SHARE = 5
    SEALED_SHARE_AAD = 6


def encode_fields(kind: BlobKind, version: int, fields: Sequence[bytes]) -> bytes:
    """Encode fields as MAGIC | kind | version | (length u32 | bytes)*."""
    parts = [MAGIC, bytes((kind, version))]
    for value in fields:
        parts.append(len(value).to_bytes(_LENGTH_SIZE, "big"))
        parts.append(value)
    return b"".join(parts)


def decode_fields(
    data: bytes, kind: BlobKind, *, versions: Container[int], count: int, what: str
) -> tuple[int, list[bytes]]:
    """Decode a blob of the given kind into its version and exactly `count` fields."""
    if not isinstance(data, bytes):
        raise TypeError(f"{what} must be bytes")
    if len(data) < _HEADER_LENGTH or data[: len(MAGIC)] != MAGIC:
        raise DecodeError(f"{what} is not a campusca escrow blob")
    if data[len(MAGIC)] != kind:
        raise DecodeError(f"{what} is a different kind of escrow blob")
    version = data[len(MAGIC) + 1]
    if version not in versions:
        raise DecodeError(f"{what} has unsupported version {version}")
    fields: list[bytes] = []
    offset = _HEADER_LENGTH
    while offset < len(data):
        if len(fields) == count:
            raise DecodeError(f"{what} has trailing bytes after its last field")
        if offset + _LENGTH_SIZE > len(data):
            raise DecodeError(f"{what} is truncated in a field length")
        length = int.from_bytes(data[offset : offset + _LENGTH_SIZE], "big")
        offset += _LENGTH_SIZE
        if offset + length > len(data):
            raise DecodeError(f"{what} is truncated in a field value")
        fields.append(data[offset : offset + length])
        offset += length
    if len(fields) != count:
        raise DecodeError(f"{what} must have {count} fields")
    return version, fields


def encode_uint(value: int, size: int) -> bytes:
    """Encode a non-negative integer as `size` big-endian bytes."""
    return value.to_bytes(size, "big")


def decode_uint(field: bytes, size: int, what: str) -> int:
    """Decode a fixed-size big-endian integer field."""
    if len(field) != size:
        raise DecodeError(f"{what} must be {size} bytes long")
    return int.from_bytes(field, "big")


def decode_text(field: bytes, what: str) -> str:
    """Decode a UTF-8 text field."""
    try:
        return field.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(f"{what} must be UTF-8 text") from None


def require_bytes(value: object, what: str) -> bytes:
    """Return `value` if it is bytes, else raise TypeError naming the argument."""
    if not isinstance(value, bytes):
        raise TypeError(f"{what} must be bytes")
    return value
