"""Handing quorum shares to one recovery request without ever storing them in a usable form (DESIGN §5).

In quorum mode every approving agent unseals their share with their passphrase; the share must then wait
until the request is released, possibly in another process and on another node. It waits *handed over*:
encrypted to a per-request RSA key (RSAES-OAEP + AES-256-GCM, the archive-record envelope, with the request
id, agent, quorum setup, index and threshold bound as associated data). That key's private half is stored
only sealed under a random one-time *release code* (a 1-of-1 quorum sealed with argon2id + AES-256-GCM),
which is shown once to the requester and never stored. A copy of the database and the data directory thus
holds handed-over shares that nobody can open; the release code alone opens nothing without them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.escrow._codec import decode_uint, encode_uint, require_bytes
from campusca.escrow.archive import ArchiveBinding, ArchiveRecord, archive_private_key, recover_private_key
from campusca.escrow.domain import EscrowDomainKey
from campusca.escrow.errors import ArchiveIntegrityError, DecodeError, InvalidParameter, ShareMismatch
from campusca.escrow.quorum import combine_shares, split_domain_key
from campusca.escrow.shares import SETUP_ID_SIZE, SHARE_VALUE_SIZE, Argon2Parameters, Share, unseal_share
from campusca.pki.signing import RsaDecrypter

HANDOVER_VERSION = 1
RELEASE_CODE_BYTES = 20  # 160 random bits: no password-guessing cost is needed on top
# The release code is random, not chosen by a person, so argon2id only has to be cheap and present.
RELEASE_CODE_ARGON2 = Argon2Parameters(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)
_KEY_MAGIC = b"CAHK"
_SHARE_MAGIC = b"CAHS"
_RELEASE_AGENT = "release-code"
_BINDING_ISSUER = hashlib.sha256(b"campusca recovery request handover v1").digest()


@dataclass(frozen=True, slots=True)
class HandoverKey:
    """A recovery request's handover key: its public key, and its private key sealed under the release code."""

    public_key_der: bytes
    sealed_private_key: bytes = b""

    def public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_der_public_key(self.public_key_der)
        if not isinstance(key, rsa.RSAPublicKey):
            raise DecodeError("handover public key must be an RSA SubjectPublicKeyInfo")
        return key


def create_handover_key(
    *, key_size: int = 2048, argon2: Argon2Parameters = RELEASE_CODE_ARGON2
) -> tuple[HandoverKey, str]:
    """Make a request's handover key; returns it with the release code that alone unseals its private half."""
    code = format_release_code(os.urandom(RELEASE_CODE_BYTES))
    domain_key = EscrowDomainKey.generate(key_size=key_size)
    setup = split_domain_key(
        domain_key.private_key_der,
        agents=[(_RELEASE_AGENT, normalise_release_code(code))],
        threshold=1,
        argon2=argon2,
    )
    public_der = domain_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encrypted, sealed = setup.encrypted_domain_key, setup.sealed_shares[_RELEASE_AGENT]
    blob = _KEY_MAGIC + bytes((HANDOVER_VERSION,)) + encode_uint(len(encrypted), 4) + encrypted + sealed
    return HandoverKey(public_der, blob), code


def open_handover_key(sealed_private_key: bytes, release_code: str) -> RsaDecrypter:
    """Unseal the handover private key with the release code.

    Raises:
        WrongPassphrase: the release code is wrong (or the sealed key was altered).
        DecodeError: the bytes are not a sealed handover key.
    """
    require_bytes(sealed_private_key, "sealed handover key")
    header = len(_KEY_MAGIC) + 1
    if sealed_private_key[: len(_KEY_MAGIC)] != _KEY_MAGIC or len(sealed_private_key) < header + 4:
        raise DecodeError("sealed handover key is not a campusca handover key")
    if sealed_private_key[len(_KEY_MAGIC)] != HANDOVER_VERSION:
        raise DecodeError("sealed handover key has an unsupported version")
    length = decode_uint(sealed_private_key[header : header + 4], 4, "sealed handover key length")
    encrypted = sealed_private_key[header + 4 : header + 4 + length]
    if len(encrypted) != length:
        raise DecodeError("sealed handover key is truncated")
    sealed_share = sealed_private_key[header + 4 + length :]
    share = unseal_share(sealed_share, normalise_release_code(release_code), _RELEASE_AGENT)
    return EscrowDomainKey(combine_shares([share], encrypted)).decrypter()


def hand_over_share(share: Share, *, handover_public_key: rsa.RSAPublicKey, request_id: int) -> bytes:
    """Encrypt an unsealed share to a request's handover key; the result is stored with the approval."""
    if not isinstance(share, Share):
        raise TypeError("share must be a Share")
    if len(share.setup_id) != SETUP_ID_SIZE or len(share.value) != SHARE_VALUE_SIZE:
        raise InvalidParameter("share setup id or value has the wrong length")
    binding = _binding(request_id, share.agent_id, share.setup_id, share.index, share.threshold)
    record = archive_private_key(share.value, domain_public_key=handover_public_key, binding=binding)
    header = bytes((HANDOVER_VERSION, share.index, share.threshold)) + share.setup_id
    return _SHARE_MAGIC + header + record.to_bytes()


def take_over_share(handed_over: bytes, *, decrypter: RsaDecrypter, request_id: int, agent_id: str) -> Share:
    """Decrypt a handed-over share with the opened handover key.

    Raises:
        ShareMismatch: the blob was altered, or was handed over for another request or agent.
        DecodeError: the bytes are not a handed-over share.
    """
    require_bytes(handed_over, "handed-over share")
    start = len(_SHARE_MAGIC)
    if handed_over[:start] != _SHARE_MAGIC or len(handed_over) < start + 3 + SETUP_ID_SIZE:
        raise DecodeError("handed-over share is not a campusca handover blob")
    version, index, threshold = handed_over[start], handed_over[start + 1], handed_over[start + 2]
    if version != HANDOVER_VERSION:
        raise DecodeError("handed-over share has an unsupported version")
    setup_id = handed_over[start + 3 : start + 3 + SETUP_ID_SIZE]
    record = ArchiveRecord.from_bytes(handed_over[start + 3 + SETUP_ID_SIZE :])
    binding = _binding(request_id, agent_id, setup_id, index, threshold)
    try:
        value = recover_private_key(record, domain_decrypter=decrypter, binding=binding)
    except ArchiveIntegrityError:
        raise ShareMismatch(
            f"handed-over share of agent {agent_id!r} does not belong to this request"
        ) from None
    return Share(agent_id=agent_id, index=index, threshold=threshold, setup_id=setup_id, value=value)


def format_release_code(raw: bytes) -> str:
    """Base32 in groups of four, e.g. ABCD-EFGH-…, easy to read out and type."""
    text = base64.b32encode(raw).decode("ascii").rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalise_release_code(code: str) -> str:
    """Upper-case the code and drop dashes and spaces, so 'abcd efgh' and 'ABCD-EFGH' are the same code."""
    if not isinstance(code, str):
        raise TypeError("release code must be a str")
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def _binding(request_id: int, agent_id: str, setup_id: bytes, index: int, threshold: int) -> ArchiveBinding:
    if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 1:
        raise InvalidParameter("request id must be a positive int")
    quorum = hashlib.sha256(setup_id + bytes((index, threshold))).digest()
    return ArchiveBinding(_BINDING_ISSUER, request_id, agent_id, quorum)
