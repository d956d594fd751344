"""End-to-end escrow: archive under a quorum-protected domain key, then recover with M agents only.

Pins DESIGN §5's promise: a copy of everything campusca stores (encrypted domain key, sealed shares,
archive records), without the agents' passphrases, recovers no key.
"""

from __future__ import annotations

import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import campusca.escrow
from campusca.escrow import (
    ArchiveBinding,
    ArchiveIntegrityError,
    ArchiveRecord,
    Argon2Parameters,
    EscrowDomainKey,
    NotEnoughShares,
    Share,
    ShareMismatch,
    WrongPassphrase,
    archive_private_key,
    check_key_matches_certificate,
    combine_shares,
    read_quorum_info,
    recover_private_key,
    split_domain_key,
    unseal_share,
)

AGENTS = [("alice", "alice's passphrase"), ("bob", "bob's passphrase"), ("carol", "carol's passphrase")]


@pytest.fixture(scope="module")
def stored(
    domain_key: EscrowDomainKey,
    cheap_argon2: Argon2Parameters,
    person_key_der: bytes,
    person_certificate: x509.Certificate,
    binding: ArchiveBinding,
) -> dict[str, bytes]:
    """What the database and the server's files hold in quorum mode: no passphrase, no domain key."""
    check_key_matches_certificate(person_key_der, person_certificate)
    record = archive_private_key(person_key_der, domain_public_key=domain_key.public_key(), binding=binding)
    setup = split_domain_key(domain_key.private_key_der, agents=AGENTS, threshold=2, argon2=cheap_argon2)
    return {"domain": setup.encrypted_domain_key, "record": record.to_bytes(), **setup.sealed_shares}


def _secret_fragments(der: bytes) -> list[bytes]:
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    return [
        der,
        *(n.to_bytes((n.bit_length() + 7) // 8, "big")[:16] for n in (numbers.p, numbers.q, numbers.d)),
    ]


def test_two_agents_recover_archived_key_from_stored_bytes(
    stored: dict[str, bytes],
    person_key_der: bytes,
    person_certificate: x509.Certificate,
    binding: ArchiveBinding,
) -> None:
    shares = [unseal_share(stored[agent], secret, agent) for agent, secret in AGENTS[1:]]
    domain = EscrowDomainKey(combine_shares(shares, stored["domain"]))
    record = ArchiveRecord.from_bytes(stored["record"])
    recovered = recover_private_key(record, domain_decrypter=domain.decrypter(), binding=binding)
    assert recovered == person_key_der
    check_key_matches_certificate(recovered, person_certificate)


def test_stored_bytes_contain_no_private_key_material(
    stored: dict[str, bytes], domain_key: EscrowDomainKey, person_key_der: bytes
) -> None:
    fragments = _secret_fragments(domain_key.private_key_der) + _secret_fragments(person_key_der)
    for name, blob in stored.items():
        for fragment in fragments:
            assert fragment not in blob, name
        for _, passphrase in AGENTS:
            assert passphrase.encode() not in blob, name


def test_stored_copy_without_passphrases_recovers_no_key(
    stored: dict[str, bytes], other_domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    # No sealed share opens without its agent's passphrase, whatever an attacker guesses.
    for agent, _ in AGENTS:
        for guess in ("", agent, "passphrase", f"{agent}'s passphrase "):
            with pytest.raises(WrongPassphrase):
                unseal_share(stored[agent], guess, agent)
    # The encrypted domain key does not open without shares, nor with shares forged from public facts.
    info = read_quorum_info(stored["domain"])
    with pytest.raises(NotEnoughShares):
        combine_shares([], stored["domain"])
    forged = [Share(f"forger{i}", i, info.threshold, info.setup_id, os.urandom(32)) for i in (1, 2)]
    with pytest.raises(ShareMismatch):
        combine_shares(forged, stored["domain"])
    # The archive record does not open with any key but the domain key.
    with pytest.raises(ArchiveIntegrityError):
        recover_private_key(
            ArchiveRecord.from_bytes(stored["record"]),
            domain_decrypter=other_domain_key.decrypter(),
            binding=binding,
        )


def test_one_agent_alone_recovers_nothing(stored: dict[str, bytes]) -> None:
    share = unseal_share(stored["alice"], "alice's passphrase", "alice")
    with pytest.raises(NotEnoughShares):
        combine_shares([share], stored["domain"])


def test_escrow_package_exports_everything_in_all() -> None:
    for name in campusca.escrow.__all__:
        assert getattr(campusca.escrow, name) is not None
    assert sorted(campusca.escrow.__all__) == sorted(set(campusca.escrow.__all__))
