"""Recovery-agent shares sealed with a passphrase: argon2id (RFC 9106) then AES-256-GCM (SP 800-38D).

A sealed share stores, in the clear but authenticated as associated data, the agent id, the share
index, the quorum threshold, the quorum setup id, the argon2id parameters and the salt; only the
32-byte share value is encrypted. Changing any of those fields, or presenting the share under another
agent's id, makes unsealing fail.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from campusca.escrow._codec import (
    BlobKind,
    decode_fields,
    decode_text,
    decode_uint,
    encode_fields,
    encode_uint,
)
from campusca.escrow.errors import DecodeError, InvalidParameter, ShareMismatch, WrongPassphrase

SEALED_SHARE_VERSION = 1
SHARE_VALUE_SIZE = 32  # two 16-byte Shamir shares, one per half of the 32-byte domain KEK
SETUP_ID_SIZE = 16
MAX_AGENTS = 255
MAX_AGENT_ID_BYTES = 255
_SALT_SIZE = 16
_NONCE_SIZE = 12
_KEY_SIZE = 32
# Upper bounds stop a forged sealed share from making unseal_share burn unbounded memory or time.
_MAX_TIME_COST = 64
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_PARALLELISM = 64


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """argon2id cost parameters; the default is RFC 9106 §4's second recommendation (64 MiB, t=3, p=4)."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4

    def __post_init__(self) -> None:
        for name in ("time_cost", "memory_cost_kib", "parallelism"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
        if not 1 <= self.time_cost <= _MAX_TIME_COST:
            raise InvalidParameter(f"time_cost must be between 1 and {_MAX_TIME_COST}")
        if not 1 <= self.parallelism <= _MAX_PARALLELISM:
            raise InvalidParameter(f"parallelism must be between 1 and {_MAX_PARALLELISM}")
        if not 8 * self.parallelism <= self.memory_cost_kib <= _MAX_MEMORY_KIB:
            raise InvalidParameter(f"memory_cost_kib must be between 8 * parallelism and {_MAX_MEMORY_KIB}")

    def to_bytes(self) -> bytes:
        """Encode as three 4-byte big-endian integers."""
        return b"".join(encode_uint(v, 4) for v in (self.time_cost, self.memory_cost_kib, self.parallelism))

    @classmethod
    def from_bytes(cls, data: bytes) -> Argon2Parameters:
        """Decode the 12-byte encoding; raises DecodeError when malformed or out of range."""
        if len(data) != 12:
            raise DecodeError("sealed share argon2 parameters must be 12 bytes long")
        values = [int.from_bytes(data[i : i + 4], "big") for i in (0, 4, 8)]
        try:
            return cls(*values)
        except InvalidParameter:
            raise DecodeError("sealed share argon2 parameters are out of range") from None


DEFAULT_ARGON2 = Argon2Parameters()


@dataclass(frozen=True, slots=True)
class Share:
    """One recovery agent's unsealed Shamir share of a quorum setup's domain KEK."""

    agent_id: str
    index: int
    threshold: int
    setup_id: bytes
    value: bytes = field(repr=False)


def seal_share(share: Share, passphrase: str, *, argon2: Argon2Parameters = DEFAULT_ARGON2) -> bytes:
    """Encrypt a share under a key derived from the agent's passphrase with argon2id."""
    _check_share(share)
    secret = _passphrase_bytes(passphrase)
    if not secret:
        raise InvalidParameter("passphrase must not be empty")
    if not isinstance(argon2, Argon2Parameters):
        raise TypeError("argon2 must be Argon2Parameters")
    salt = os.urandom(_SALT_SIZE)
    nonce = os.urandom(_NONCE_SIZE)
    header = _header_fields(share.agent_id, share.index, share.threshold, share.setup_id, argon2, salt)
    aad = encode_fields(BlobKind.SEALED_SHARE_AAD, SEALED_SHARE_VERSION, header)
    ciphertext = AESGCM(_derive_key(secret, salt, argon2)).encrypt(nonce, share.value, aad)
    return encode_fields(BlobKind.SEALED_SHARE, SEALED_SHARE_VERSION, [*header, nonce, ciphertext])


def unseal_share(sealed: bytes, passphrase: str, agent_id: str) -> Share:
    """Decrypt `agent_id`'s sealed share with their passphrase.

    Raises:
        ShareMismatch: the sealed share was issued to another agent.
        WrongPassphrase: the passphrase is wrong, or the sealed share was altered.
        DecodeError: the bytes are not a sealed share.
    """
    version, fields = decode_fields(
        sealed, BlobKind.SEALED_SHARE, versions={SEALED_SHARE_VERSION}, count=8, what="sealed share"
    )
    raw_agent, raw_index, raw_threshold, setup_id, raw_params, salt, nonce, ciphertext = fields
    stored_agent = decode_text(raw_agent, "sealed share agent id")
    index = decode_uint(raw_index, 1, "sealed share index")
    threshold = decode_uint(raw_threshold, 1, "sealed share threshold")
    argon2 = Argon2Parameters.from_bytes(raw_params)
    if not isinstance(agent_id, str):
        raise TypeError("agent_id must be a str")
    if stored_agent != agent_id:
        raise ShareMismatch("sealed share belongs to another agent")
    if len(salt) != _SALT_SIZE or len(nonce) != _NONCE_SIZE:
        raise DecodeError("sealed share salt or nonce has the wrong length")
    aad = encode_fields(BlobKind.SEALED_SHARE_AAD, version, fields[:6])
    key = _derive_key(_passphrase_bytes(passphrase), salt, argon2)
    try:
        value = AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise WrongPassphrase("passphrase does not unlock this sealed share") from None
    return Share(agent_id=stored_agent, index=index, threshold=threshold, setup_id=setup_id, value=value)


def reseal_share(
    sealed: bytes,
    *,
    agent_id: str,
    old_passphrase: str,
    new_passphrase: str,
    argon2: Argon2Parameters = DEFAULT_ARGON2,
) -> bytes:
    """Re-seal an agent's share under a new passphrase (fresh salt and nonce); the share is unchanged."""
    return seal_share(unseal_share(sealed, old_passphrase, agent_id), new_passphrase, argon2=argon2)


def check_agent_id(agent_id: object) -> str:
    """Return a valid agent id: a non-empty str of at most MAX_AGENT_ID_BYTES UTF-8 bytes."""
    if not isinstance(agent_id, str):
        raise TypeError("agent id must be a str")
    if not 0 < len(agent_id.encode("utf-8")) <= MAX_AGENT_ID_BYTES:
        raise InvalidParameter(f"agent id must be 1 to {MAX_AGENT_ID_BYTES} UTF-8 bytes long")
    return agent_id


def _check_share(share: Share) -> None:
    if not isinstance(share, Share):
        raise TypeError("share must be a Share")
    check_agent_id(share.agent_id)
    if not 1 <= share.threshold <= MAX_AGENTS or not 1 <= share.index <= MAX_AGENTS:
        raise InvalidParameter(f"share index and threshold must be between 1 and {MAX_AGENTS}")
    if len(share.setup_id) != SETUP_ID_SIZE or len(share.value) != SHARE_VALUE_SIZE:
        raise InvalidParameter("share setup id or value has the wrong length")


def _header_fields(
    agent_id: str, index: int, threshold: int, setup_id: bytes, argon2: Argon2Parameters, salt: bytes
) -> list[bytes]:
    return [
        agent_id.encode("utf-8"),
        encode_uint(index, 1),
        encode_uint(threshold, 1),
        setup_id,
        argon2.to_bytes(),
        salt,
    ]


def _passphrase_bytes(passphrase: str) -> bytes:
    if not isinstance(passphrase, str):
        raise TypeError("passphrase must be a str")
    # NFC, as RFC 8265's OpaqueString does, so the same passphrase typed on another keyboard still works.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _derive_key(secret: bytes, salt: bytes, argon2: Argon2Parameters) -> bytes:
    return hash_secret_raw(
        secret,
        salt,
        time_cost=argon2.time_cost,
        memory_cost=argon2.memory_cost_kib,
        parallelism=argon2.parallelism,
        hash_len=_KEY_SIZE,
        type=Type.ID,
    )
