"""S/MIME for people: issuance with escrow, the public directory, messages, escrow policy and key recovery."""

from __future__ import annotations

from campusca.services.smime import (
    escrow_keys,
    escrow_policy,
    issue,
    lookup,
    messages,
    recovery,
    recovery_release,
)

__all__ = [
    "escrow_keys",
    "escrow_policy",
    "issue",
    "lookup",
    "messages",
    "recovery",
    "recovery_release",
]
