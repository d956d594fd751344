"""Fixtures for S/MIME, escrow and recovery: the demo CA with RSA-2048 keys for people and escrow domains."""

from __future__ import annotations

import pytest

from tests.support.ca import CaHome

FAST_KEYS = 'smime_key_type = "rsa-2048"\nescrow_domain_key_type = "rsa-2048"\n'


@pytest.fixture
def ca(ca: CaHome) -> CaHome:
    """The per-test CA copy, generating RSA-2048 keys for people and escrow domains (tests stay fast)."""
    with (ca.home / "campusca.toml").open("a") as handle:
        handle.write(FAST_KEYS)
    return ca
