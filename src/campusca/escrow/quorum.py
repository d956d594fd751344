"""Quorum mode: the escrow domain key encrypted under a KEK split M-of-N with Shamir (DESIGN §5).

The domain private key is encrypted with AES-256-GCM under a random 32-byte key-encryption key (KEK).
The KEK is split with pycryptodome's Shamir scheme over GF(2^128), which takes 16-byte secrets, so
each half is split with the same indices and an agent's share is the two 16-byte pieces joined. The
encrypted blob carries, authenticated as associated data, the setup id, the threshold, the number of
shares and a check value of the KEK, so a wrong combination of shares is detected, never silently used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from campusca.escrow._codec import BlobKind, decode_fields, decode_uint, encode_fields, encode_uint
from campusca.escrow.domain import EscrowDomainKey
from campusca.escrow.errors import (
    DecodeError,
    DomainKeyIntegrityError,
    InvalidParameter,
    NotEnoughShares,
    ShareMismatch,
)
from campusca.escrow.shares import (
    DEFAULT_ARGON2,
    MAX_AGENTS,
    SETUP_ID_SIZE,
    SHARE_VALUE_SIZE,
    Argon2Parameters,
    Share,
    check_agent_id,
    seal_share,
)

ENCRYPTED_DOMAIN_KEY_VERSION = 1
_KEK_SIZE = 32
_HALF = _KEK_SIZE // 2
_NONCE_SIZE = 12
_CHECK_SIZE = 16
_CHECK_LABEL = b"campusca escrow domain KEK check value v1"


@dataclass(frozen=True, slots=True)
class QuorumSetup:
    """What quorum mode stores: the encrypted domain key and one sealed share per agent id."""

    encrypted_domain_key: bytes
    sealed_shares: dict[str, bytes]
    threshold: int


@dataclass(frozen=True, slots=True)
class QuorumInfo:
    """The public facts of a quorum setup, read from its encrypted domain key without any secret."""

    setup_id: bytes
    threshold: int
    share_count: int


@dataclass(frozen=True, slots=True)
class _EncryptedDomainKey:
    info: QuorumInfo
    check_value: bytes
    nonce: bytes
    ciphertext: bytes

    def aad(self) -> bytes:
        return encode_fields(BlobKind.DOMAIN_KEY_AAD, ENCRYPTED_DOMAIN_KEY_VERSION, self._header())

    def to_bytes(self) -> bytes:
        fields = [*self._header(), self.nonce, self.ciphertext]
        return encode_fields(BlobKind.ENCRYPTED_DOMAIN_KEY, ENCRYPTED_DOMAIN_KEY_VERSION, fields)

    def _header(self) -> list[bytes]:
        threshold = encode_uint(self.info.threshold, 1)
        return [self.info.setup_id, threshold, encode_uint(self.info.share_count, 1), self.check_value]

    @classmethod
    def from_bytes(cls, data: bytes) -> _EncryptedDomainKey:
        _, fields = decode_fields(
            data,
            BlobKind.ENCRYPTED_DOMAIN_KEY,
            versions={ENCRYPTED_DOMAIN_KEY_VERSION},
            count=6,
            what="encrypted domain key",
        )
        setup_id, raw_threshold, raw_count, check_value, nonce, ciphertext = fields
        threshold = decode_uint(raw_threshold, 1, "encrypted domain key threshold")
        share_count = decode_uint(raw_count, 1, "encrypted domain key share count")
        if not 1 <= threshold <= share_count:
            raise DecodeError("encrypted domain key threshold must be between 1 and its share count")
        if len(setup_id) != SETUP_ID_SIZE or len(check_value) != _CHECK_SIZE or len(nonce) != _NONCE_SIZE:
            raise DecodeError("encrypted domain key setup id, check value or nonce has the wrong length")
        return cls(QuorumInfo(setup_id, threshold, share_count), check_value, nonce, ciphertext)


def split_domain_key(
    domain_private_key_der: bytes,
    *,
    agents: Sequence[tuple[str, str]],
    threshold: int,
    argon2: Argon2Parameters = DEFAULT_ARGON2,
) -> QuorumSetup:
    """Encrypt the domain key under a fresh KEK and split the KEK `threshold`-of-len(agents).

    `agents` is a sequence of (agent id, passphrase); the i-th agent gets share index i + 1.
    """
    EscrowDomainKey(domain_private_key_der)  # validates: an RSA PKCS#8 key of a sufficient size
    agent_ids = _check_quorum(agents, threshold)
    kek = os.urandom(_KEK_SIZE)
    info = QuorumInfo(setup_id=os.urandom(SETUP_ID_SIZE), threshold=threshold, share_count=len(agent_ids))
    check_value, nonce = _check_value(kek), os.urandom(_NONCE_SIZE)
    aad = _EncryptedDomainKey(info, check_value, nonce, ciphertext=b"").aad()
    blob = _EncryptedDomainKey(
        info, check_value, nonce, AESGCM(kek).encrypt(nonce, domain_private_key_der, aad)
    )
    # Imported here: pycryptodome is 0.5 MB that a serve worker rarely needs.
    from Crypto.Protocol.SecretSharing import Shamir

    low = Shamir.split(threshold, len(agent_ids), kek[:_HALF])
    high = dict(Shamir.split(threshold, len(agent_ids), kek[_HALF:]))
    sealed: dict[str, bytes] = {}
    for (agent_id, passphrase), (index, low_piece) in zip(agents, low, strict=True):
        share = Share(agent_id, index, threshold, info.setup_id, low_piece + high[index])
        sealed[agent_id] = seal_share(share, passphrase, argon2=argon2)
    return QuorumSetup(encrypted_domain_key=blob.to_bytes(), sealed_shares=sealed, threshold=threshold)


def read_quorum_info(encrypted_domain_key: bytes) -> QuorumInfo:
    """Return the setup id, threshold and share count of an encrypted domain key."""
    return _EncryptedDomainKey.from_bytes(encrypted_domain_key).info


def combine_shares(shares: Iterable[Share], encrypted_domain_key: bytes) -> bytes:
    """Combine at least `threshold` unsealed shares and return the domain private key (PKCS#8 DER).

    Raises:
        NotEnoughShares: fewer distinct shares than the threshold.
        ShareMismatch: a share is from another setup, or the shares do not reconstruct the KEK.
        DomainKeyIntegrityError: the encrypted domain key was altered.
    """
    blob = _EncryptedDomainKey.from_bytes(encrypted_domain_key)
    distinct = _distinct_shares(shares, blob.info)
    if len(distinct) < blob.info.threshold:
        raise NotEnoughShares(f"{blob.info.threshold} shares are needed but {len(distinct)} were given")
    chosen = [distinct[index] for index in sorted(distinct)[: blob.info.threshold]]
    # Imported here: pycryptodome is 0.5 MB that a serve worker rarely needs.
    from Crypto.Protocol.SecretSharing import Shamir

    low = Shamir.combine([(s.index, s.value[:_HALF]) for s in chosen])
    high = Shamir.combine([(s.index, s.value[_HALF:]) for s in chosen])
    kek = low + high
    if not hmac.compare_digest(_check_value(kek), blob.check_value):
        raise ShareMismatch("shares do not reconstruct this domain key's encryption key")
    try:
        return AESGCM(kek).decrypt(blob.nonce, blob.ciphertext, blob.aad())
    except InvalidTag:
        raise DomainKeyIntegrityError("encrypted domain key failed authentication") from None


def _check_quorum(agents: Sequence[tuple[str, str]], threshold: int) -> list[str]:
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise TypeError("threshold must be an int")
    agent_ids = [check_agent_id(agent_id) for agent_id, _ in agents]
    for _, passphrase in agents:  # checked up front so no argon2 work is wasted on a bad list
        if not isinstance(passphrase, str):
            raise TypeError("passphrase must be a str")
        if not passphrase:
            raise InvalidParameter("passphrase must not be empty")
    if not 1 <= threshold <= len(agent_ids) <= MAX_AGENTS:
        raise InvalidParameter(f"threshold M and agent count N must satisfy 1 <= M <= N <= {MAX_AGENTS}")
    if len(set(agent_ids)) != len(agent_ids):
        raise InvalidParameter("agent ids must be distinct")
    return agent_ids


def _distinct_shares(shares: Iterable[Share], info: QuorumInfo) -> dict[int, Share]:
    distinct: dict[int, Share] = {}
    for share in shares:
        if not isinstance(share, Share):
            raise TypeError("shares must be Share objects")
        if share.setup_id != info.setup_id or share.threshold != info.threshold:
            raise ShareMismatch(f"share of agent {share.agent_id!r} belongs to a different quorum setup")
        if not 1 <= share.index <= info.share_count or len(share.value) != SHARE_VALUE_SIZE:
            raise ShareMismatch(f"share of agent {share.agent_id!r} has an invalid index or length")
        seen = distinct.setdefault(share.index, share)
        if seen.value != share.value:
            raise ShareMismatch(f"two different shares claim index {share.index}")
    return distinct


def _check_value(kek: bytes) -> bytes:
    return hmac.new(kek, _CHECK_LABEL, hashlib.sha256).digest()[:_CHECK_SIZE]
