"""Key escrow: envelope-encrypted archive records and the Shamir M-of-N recovery quorum (DESIGN §5)."""

from __future__ import annotations

from campusca.escrow.archive import (
    ArchiveBinding,
    ArchiveRecord,
    KeyWrapAlgorithm,
    archive_private_key,
    check_key_matches_certificate,
    recover_private_key,
)
from campusca.escrow.domain import EscrowDomainKey
from campusca.escrow.errors import (
    ArchiveIntegrityError,
    DecodeError,
    DomainKeyIntegrityError,
    EscrowError,
    InvalidParameter,
    KeyMismatch,
    NotEnoughShares,
    ShareMismatch,
    WrongPassphrase,
)
from campusca.escrow.handover import (
    HandoverKey,
    create_handover_key,
    hand_over_share,
    open_handover_key,
    take_over_share,
)
from campusca.escrow.quorum import QuorumInfo, QuorumSetup, combine_shares, read_quorum_info, split_domain_key
from campusca.escrow.shares import (
    DEFAULT_ARGON2,
    Argon2Parameters,
    Share,
    reseal_share,
    seal_share,
    unseal_share,
)

__all__ = [
    "DEFAULT_ARGON2",
    "ArchiveBinding",
    "ArchiveIntegrityError",
    "ArchiveRecord",
    "Argon2Parameters",
    "DecodeError",
    "DomainKeyIntegrityError",
    "EscrowDomainKey",
    "EscrowError",
    "HandoverKey",
    "InvalidParameter",
    "KeyMismatch",
    "KeyWrapAlgorithm",
    "NotEnoughShares",
    "QuorumInfo",
    "QuorumSetup",
    "Share",
    "ShareMismatch",
    "WrongPassphrase",
    "archive_private_key",
    "check_key_matches_certificate",
    "combine_shares",
    "create_handover_key",
    "hand_over_share",
    "open_handover_key",
    "read_quorum_info",
    "recover_private_key",
    "reseal_share",
    "seal_share",
    "take_over_share",
    "split_domain_key",
    "unseal_share",
]
