"""Tests of the escrow blob encoding: deterministic, and strict about everything it reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusca.escrow._codec import (
    MAGIC,
    BlobKind,
    decode_fields,
    decode_text,
    decode_uint,
    encode_fields,
    encode_uint,
    require_bytes,
)
from campusca.escrow.errors import DecodeError


def _decode(data: bytes, count: int = 2) -> tuple[int, list[bytes]]:
    return decode_fields(data, BlobKind.ARCHIVE_RECORD, versions={1}, count=count, what="blob")


@given(st.lists(st.binary(max_size=64), min_size=1, max_size=6))
def test_decode_fields_round_trips_any_fields(fields: list[bytes]) -> None:
    encoded = encode_fields(BlobKind.ARCHIVE_RECORD, 1, fields)
    assert _decode(encoded, count=len(fields)) == (1, fields)


def test_encode_fields_is_length_prefixed_so_field_boundaries_cannot_shift() -> None:
    assert encode_fields(BlobKind.ARCHIVE_AAD, 1, [b"ab", b"c"]) != encode_fields(
        BlobKind.ARCHIVE_AAD, 1, [b"a", b"bc"]
    )
    assert encode_fields(BlobKind.ARCHIVE_AAD, 1, [b"ab"]) == MAGIC + b"\x02\x01\x00\x00\x00\x02ab"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "not a campusca escrow blob", id="fail-empty"),
        pytest.param(b"XXXX\x01\x01", "not a campusca escrow blob", id="fail-magic"),
        pytest.param(MAGIC + b"\x03\x01", "different kind", id="fail-kind"),
        pytest.param(MAGIC + b"\x01\x02", "unsupported version 2", id="fail-version"),
        pytest.param(MAGIC + b"\x01\x01\x00\x00", "truncated in a field length", id="fail-length"),
        pytest.param(MAGIC + b"\x01\x01\x00\x00\x00\x05ab", "truncated in a field value", id="fail-value"),
        pytest.param(MAGIC + b"\x01\x01\x00\x00\x00\x00", "must have 2 fields", id="fail-too-few"),
        pytest.param(MAGIC + b"\x01\x01" + b"\x00\x00\x00\x00" * 3, "trailing bytes", id="fail-too-many"),
    ],
)
def test_decode_fields_rejects_malformed_blob(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        _decode(data)


def test_decode_fields_rejects_non_bytes_with_type_error() -> None:
    with pytest.raises(TypeError, match="blob must be bytes"):
        _decode("text")  # type: ignore[arg-type]


def test_decode_uint_round_trips_and_rejects_wrong_size() -> None:
    assert decode_uint(encode_uint(300, 2), 2, "n") == 300
    with pytest.raises(DecodeError, match="n must be 1 bytes long"):
        decode_uint(b"\x00\x01", 1, "n")


def test_decode_text_rejects_invalid_utf8() -> None:
    assert decode_text("agent-é".encode(), "t") == "agent-é"
    with pytest.raises(DecodeError, match="t must be UTF-8 text"):
        decode_text(b"\xff", "t")


def test_require_bytes_rejects_bytearray_and_str() -> None:
    assert require_bytes(b"x", "v") == b"x"
    for value in (bytearray(b"x"), "x"):
        with pytest.raises(TypeError, match="v must be bytes"):
            require_bytes(value, "v")
