"""Tests of sealed recovery-agent shares: argon2id + AES-GCM, bound to agent id and index."""

from __future__ import annotations

import dataclasses
import os

import pytest

from campusca.escrow import (
    DEFAULT_ARGON2,
    Argon2Parameters,
    DecodeError,
    InvalidParameter,
    Share,
    ShareMismatch,
    WrongPassphrase,
    reseal_share,
    seal_share,
    unseal_share,
)
from campusca.escrow._codec import BlobKind, decode_fields, encode_fields
from campusca.escrow.shares import SEALED_SHARE_VERSION

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def share() -> Share:
    return Share(agent_id="alice", index=2, threshold=2, setup_id=os.urandom(16), value=os.urandom(32))


@pytest.fixture
def sealed(share: Share, cheap_argon2: Argon2Parameters) -> bytes:
    return seal_share(share, PASSPHRASE, argon2=cheap_argon2)


def _fields(sealed: bytes) -> list[bytes]:
    return decode_fields(sealed, BlobKind.SEALED_SHARE, versions={1}, count=8, what="sealed share")[1]


def _encode(fields: list[bytes]) -> bytes:
    return encode_fields(BlobKind.SEALED_SHARE, SEALED_SHARE_VERSION, fields)


def test_unseal_share_returns_sealed_share(sealed: bytes, share: Share) -> None:
    assert unseal_share(sealed, PASSPHRASE, "alice") == share


def test_seal_share_with_default_argon2_parameters_round_trips(share: Share) -> None:
    assert DEFAULT_ARGON2.memory_cost_kib >= 64 * 1024
    assert DEFAULT_ARGON2.time_cost >= 3
    sealed = seal_share(share, PASSPHRASE)
    assert _fields(sealed)[4] == DEFAULT_ARGON2.to_bytes()
    assert unseal_share(sealed, PASSPHRASE, "alice") == share


def test_seal_share_stores_its_argon2_parameters(sealed: bytes, cheap_argon2: Argon2Parameters) -> None:
    assert Argon2Parameters.from_bytes(_fields(sealed)[4]) == cheap_argon2


def test_seal_share_never_stores_share_value_or_passphrase(sealed: bytes, share: Share) -> None:
    assert share.value[:16] not in sealed
    assert share.value[16:] not in sealed
    assert PASSPHRASE.encode() not in sealed


def test_unseal_share_rejects_wrong_passphrase(sealed: bytes) -> None:
    with pytest.raises(WrongPassphrase, match="^passphrase does not unlock this sealed share$") as caught:
        unseal_share(sealed, "Correct horse battery staple", "alice")
    assert "horse" not in str(caught.value)
    assert caught.value.__suppress_context__


def test_unseal_share_rejects_empty_passphrase(sealed: bytes) -> None:
    with pytest.raises(WrongPassphrase):
        unseal_share(sealed, "", "alice")


def test_unseal_share_presented_under_another_agent_id_fails(sealed: bytes) -> None:
    with pytest.raises(ShareMismatch, match="belongs to another agent"):
        unseal_share(sealed, PASSPHRASE, "bob")


@pytest.mark.parametrize(
    ("position", "replacement"),
    [
        pytest.param(0, b"bob", id="fail-agent-id-relabelled"),
        pytest.param(1, b"\x03", id="fail-index"),
        pytest.param(2, b"\x01", id="fail-threshold"),
        pytest.param(3, b"\x00" * 16, id="fail-setup-id"),
        pytest.param(5, b"\x00" * 16, id="fail-salt"),
        pytest.param(6, b"\x00" * 12, id="fail-nonce"),
    ],
)
def test_unseal_share_rejects_altered_header(sealed: bytes, position: int, replacement: bytes) -> None:
    fields = _fields(sealed)
    fields[position] = replacement
    agent_id = fields[0].decode()
    with pytest.raises(WrongPassphrase):
        unseal_share(_encode(fields), PASSPHRASE, agent_id)


def test_unseal_share_rejects_altered_argon2_parameters(sealed: bytes) -> None:
    fields = _fields(sealed)
    fields[4] = Argon2Parameters(time_cost=2, memory_cost_kib=8, parallelism=1).to_bytes()
    with pytest.raises(WrongPassphrase):
        unseal_share(_encode(fields), PASSPHRASE, "alice")


def test_unseal_share_rejects_huge_argon2_parameters_before_deriving(sealed: bytes) -> None:
    fields = _fields(sealed)
    fields[4] = (1).to_bytes(4, "big") + (2**31).to_bytes(4, "big") + (1).to_bytes(4, "big")
    with pytest.raises(DecodeError, match="argon2 parameters are out of range"):
        unseal_share(_encode(fields), PASSPHRASE, "alice")


@pytest.mark.parametrize(
    ("position", "replacement", "message"),
    [
        pytest.param(0, b"\xff", "agent id must be UTF-8", id="fail-agent-utf8"),
        pytest.param(1, b"\x00\x02", "index must be 1 bytes", id="fail-index-size"),
        pytest.param(4, b"\x00" * 8, "parameters must be 12 bytes", id="fail-params-size"),
        pytest.param(5, b"\x00" * 8, "salt or nonce has the wrong length", id="fail-salt-size"),
    ],
)
def test_unseal_share_rejects_malformed_sealed_share(
    sealed: bytes, position: int, replacement: bytes, message: str
) -> None:
    fields = _fields(sealed)
    fields[position] = replacement
    with pytest.raises(DecodeError, match=message):
        unseal_share(_encode(fields), PASSPHRASE, "alice")


def test_unseal_share_rejects_other_blob_kind(sealed: bytes) -> None:
    with pytest.raises(DecodeError, match="different kind"):
        unseal_share(encode_fields(BlobKind.ARCHIVE_RECORD, 1, _fields(sealed)), PASSPHRASE, "alice")


def test_unseal_share_rejects_non_str_arguments(sealed: bytes) -> None:
    with pytest.raises(TypeError, match="agent_id must be a str"):
        unseal_share(sealed, PASSPHRASE, b"alice")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="passphrase must be a str"):
        unseal_share(sealed, PASSPHRASE.encode(), "alice")  # type: ignore[arg-type]


def test_passphrase_is_compared_in_unicode_nfc(share: Share, cheap_argon2: Argon2Parameters) -> None:
    sealed = seal_share(share, "caf\u00e9", argon2=cheap_argon2)
    assert unseal_share(sealed, "cafe\u0301", "alice") == share


def test_reseal_share_changes_passphrase_and_keeps_share(
    sealed: bytes, share: Share, cheap_argon2: Argon2Parameters
) -> None:
    resealed = reseal_share(
        sealed, agent_id="alice", old_passphrase=PASSPHRASE, new_passphrase="new secret", argon2=cheap_argon2
    )
    assert unseal_share(resealed, "new secret", "alice") == share
    with pytest.raises(WrongPassphrase):
        unseal_share(resealed, PASSPHRASE, "alice")
    assert _fields(resealed)[5] != _fields(sealed)[5]  # fresh salt


def test_reseal_share_requires_old_passphrase(sealed: bytes, cheap_argon2: Argon2Parameters) -> None:
    with pytest.raises(WrongPassphrase):
        reseal_share(
            sealed, agent_id="alice", old_passphrase="guess", new_passphrase="x", argon2=cheap_argon2
        )


def test_share_repr_hides_value(share: Share) -> None:
    assert share.value.hex() not in repr(share)
    assert "value" not in repr(share)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        pytest.param({"agent_id": ""}, InvalidParameter, "agent id must be 1 to 255", id="fail-agent-empty"),
        pytest.param({"agent_id": "a" * 256}, InvalidParameter, "1 to 255", id="fail-agent-long"),
        pytest.param({"agent_id": 7}, TypeError, "agent id must be a str", id="fail-agent-type"),
        pytest.param({"index": 0}, InvalidParameter, "between 1 and 255", id="fail-index"),
        pytest.param({"threshold": 256}, InvalidParameter, "between 1 and 255", id="fail-threshold"),
        pytest.param({"value": b"x" * 31}, InvalidParameter, "wrong length", id="fail-value"),
        pytest.param({"setup_id": b"x"}, InvalidParameter, "wrong length", id="fail-setup-id"),
    ],
)
def test_seal_share_rejects_invalid_share(
    share: Share,
    cheap_argon2: Argon2Parameters,
    change: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        seal_share(dataclasses.replace(share, **change), PASSPHRASE, argon2=cheap_argon2)


def test_seal_share_rejects_bad_arguments(share: Share, cheap_argon2: Argon2Parameters) -> None:
    with pytest.raises(InvalidParameter, match="passphrase must not be empty"):
        seal_share(share, "", argon2=cheap_argon2)
    with pytest.raises(TypeError, match="share must be a Share"):
        seal_share(dataclasses.asdict(share), PASSPHRASE, argon2=cheap_argon2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argon2 must be Argon2Parameters"):
        seal_share(share, PASSPHRASE, argon2=(1, 8, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        pytest.param((0, 8, 1), InvalidParameter, "time_cost", id="fail-time-zero"),
        pytest.param((65, 8, 1), InvalidParameter, "time_cost", id="fail-time-big"),
        pytest.param((1, 8, 0), InvalidParameter, "parallelism", id="fail-lanes-zero"),
        pytest.param((1, 8, 65), InvalidParameter, "parallelism", id="fail-lanes-big"),
        pytest.param((1, 15, 2), InvalidParameter, "memory_cost_kib", id="fail-memory-small"),
        pytest.param((1, 2**22 + 1, 1), InvalidParameter, "memory_cost_kib", id="fail-memory-big"),
        pytest.param((1, 8.0, 1), TypeError, "memory_cost_kib must be an int", id="fail-float"),
        pytest.param((True, 8, 1), TypeError, "time_cost must be an int", id="fail-bool"),
    ],
)
def test_argon2_parameters_reject_out_of_range(
    values: tuple[object, object, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Argon2Parameters(*values)  # type: ignore[arg-type]


def test_argon2_parameters_round_trip_through_bytes() -> None:
    params = Argon2Parameters(time_cost=4, memory_cost_kib=2**20, parallelism=8)
    assert Argon2Parameters.from_bytes(params.to_bytes()) == params
