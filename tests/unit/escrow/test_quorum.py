"""Tests of quorum mode: the domain key encrypted under a KEK split M-of-N with Shamir."""

from __future__ import annotations

import dataclasses
import itertools
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusca.escrow import (
    Argon2Parameters,
    DecodeError,
    DomainKeyIntegrityError,
    EscrowDomainKey,
    InvalidParameter,
    NotEnoughShares,
    QuorumSetup,
    Share,
    ShareMismatch,
    combine_shares,
    read_quorum_info,
    split_domain_key,
    unseal_share,
)
from campusca.escrow._codec import BlobKind, decode_fields, encode_fields

AGENTS = [("alice", "alice's passphrase"), ("bob", "bob's passphrase"), ("carol", "carol's passphrase")]


@pytest.fixture(scope="module")
def setup(domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters) -> QuorumSetup:
    return split_domain_key(domain_key.private_key_der, agents=AGENTS, threshold=2, argon2=cheap_argon2)


@pytest.fixture(scope="module")
def shares(setup: QuorumSetup) -> dict[str, Share]:
    return {agent: unseal_share(setup.sealed_shares[agent], secret, agent) for agent, secret in AGENTS}


def _blob_fields(blob: bytes) -> list[bytes]:
    return decode_fields(blob, BlobKind.ENCRYPTED_DOMAIN_KEY, versions={1}, count=6, what="blob")[1]


def _blob(fields: list[bytes]) -> bytes:
    return encode_fields(BlobKind.ENCRYPTED_DOMAIN_KEY, 1, fields)


@pytest.mark.parametrize("chosen", list(itertools.combinations(["alice", "bob", "carol"], 2)))
def test_combine_shares_any_two_of_three_recover_domain_key(
    setup: QuorumSetup, shares: dict[str, Share], domain_key: EscrowDomainKey, chosen: tuple[str, str]
) -> None:
    der = combine_shares([shares[agent] for agent in chosen], setup.encrypted_domain_key)
    assert der == domain_key.private_key_der


def test_combine_shares_accepts_more_than_threshold_in_any_order(
    setup: QuorumSetup, shares: dict[str, Share], domain_key: EscrowDomainKey
) -> None:
    chosen = [shares["carol"], shares["alice"], shares["bob"], shares["alice"]]
    assert combine_shares(chosen, setup.encrypted_domain_key) == domain_key.private_key_der


def test_split_domain_key_gives_each_agent_index_in_order(
    setup: QuorumSetup, shares: dict[str, Share]
) -> None:
    assert list(setup.sealed_shares) == ["alice", "bob", "carol"]
    assert [shares[a].index for a in ("alice", "bob", "carol")] == [1, 2, 3]
    assert setup.threshold == 2
    assert {share.threshold for share in shares.values()} == {2}


def test_read_quorum_info_reports_threshold_and_count(setup: QuorumSetup, shares: dict[str, Share]) -> None:
    info = read_quorum_info(setup.encrypted_domain_key)
    assert (info.threshold, info.share_count) == (2, 3)
    assert info.setup_id == shares["alice"].setup_id


def test_combine_shares_with_one_share_below_threshold_is_not_enough(
    setup: QuorumSetup, shares: dict[str, Share]
) -> None:
    with pytest.raises(NotEnoughShares, match="2 shares are needed but 1 were given"):
        combine_shares([shares["bob"]], setup.encrypted_domain_key)


def test_combine_shares_counts_a_repeated_share_once(setup: QuorumSetup, shares: dict[str, Share]) -> None:
    with pytest.raises(NotEnoughShares):
        combine_shares([shares["bob"], shares["bob"]], setup.encrypted_domain_key)


def test_combine_shares_with_no_shares_is_not_enough(setup: QuorumSetup) -> None:
    with pytest.raises(NotEnoughShares, match="0 were given"):
        combine_shares([], setup.encrypted_domain_key)


def test_combine_shares_rejects_share_of_another_setup(
    domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters, setup: QuorumSetup, shares: dict[str, Share]
) -> None:
    second = split_domain_key(domain_key.private_key_der, agents=AGENTS, threshold=2, argon2=cheap_argon2)
    foreign = unseal_share(second.sealed_shares["bob"], "bob's passphrase", "bob")
    with pytest.raises(ShareMismatch, match="share of agent 'bob' belongs to a different quorum setup"):
        combine_shares([shares["alice"], foreign], setup.encrypted_domain_key)


def test_combine_shares_detects_a_wrong_share_value(setup: QuorumSetup, shares: dict[str, Share]) -> None:
    forged = dataclasses.replace(shares["bob"], value=os.urandom(32))
    with pytest.raises(ShareMismatch, match="do not reconstruct"):
        combine_shares([shares["alice"], forged], setup.encrypted_domain_key)


def test_combine_shares_detects_a_share_under_a_wrong_index(
    setup: QuorumSetup, shares: dict[str, Share]
) -> None:
    moved = dataclasses.replace(shares["carol"], index=2)
    with pytest.raises(ShareMismatch, match="do not reconstruct"):
        combine_shares([shares["alice"], moved], setup.encrypted_domain_key)


def test_combine_shares_rejects_two_different_shares_with_one_index(
    setup: QuorumSetup, shares: dict[str, Share]
) -> None:
    clash = dataclasses.replace(shares["carol"], index=1)
    with pytest.raises(ShareMismatch, match="two different shares claim index 1"):
        combine_shares([shares["alice"], clash, shares["bob"]], setup.encrypted_domain_key)


@pytest.mark.parametrize(
    "change",
    [pytest.param({"index": 4}, id="fail-index"), pytest.param({"value": b"x" * 16}, id="fail-length")],
)
def test_combine_shares_rejects_malformed_share(
    setup: QuorumSetup, shares: dict[str, Share], change: dict[str, object]
) -> None:
    with pytest.raises(ShareMismatch, match="invalid index or length"):
        combine_shares(
            [shares["alice"], dataclasses.replace(shares["bob"], **change)], setup.encrypted_domain_key
        )


def test_combine_shares_rejects_non_share(setup: QuorumSetup, shares: dict[str, Share]) -> None:
    with pytest.raises(TypeError, match="Share objects"):
        combine_shares([shares["alice"], (2, b"x" * 32)], setup.encrypted_domain_key)  # type: ignore[list-item]


def test_combine_shares_rejects_tampered_domain_key_ciphertext(
    setup: QuorumSetup, shares: dict[str, Share]
) -> None:
    fields = _blob_fields(setup.encrypted_domain_key)
    fields[5] = fields[5][:-1] + bytes([fields[5][-1] ^ 1])
    with pytest.raises(DomainKeyIntegrityError, match="^encrypted domain key failed authentication$"):
        combine_shares([shares["alice"], shares["bob"]], _blob(fields))


def test_combine_shares_rejects_tampered_share_count(setup: QuorumSetup, shares: dict[str, Share]) -> None:
    fields = _blob_fields(setup.encrypted_domain_key)
    fields[2] = b"\x04"
    with pytest.raises(DomainKeyIntegrityError):
        combine_shares([shares["alice"], shares["bob"]], _blob(fields))


def test_combine_shares_rejects_lowered_threshold(setup: QuorumSetup, shares: dict[str, Share]) -> None:
    fields = _blob_fields(setup.encrypted_domain_key)
    fields[1] = b"\x01"
    with pytest.raises(ShareMismatch, match="different quorum setup"):
        combine_shares([shares["alice"]], _blob(fields))


def test_combine_shares_rejects_forged_share_matching_lowered_threshold(setup: QuorumSetup) -> None:
    fields = _blob_fields(setup.encrypted_domain_key)
    fields[1] = b"\x01"
    forged = Share("mallory", 1, 1, read_quorum_info(setup.encrypted_domain_key).setup_id, os.urandom(32))
    with pytest.raises(ShareMismatch, match="do not reconstruct"):
        combine_shares([forged], _blob(fields))


@pytest.mark.parametrize(
    ("position", "replacement", "message"),
    [
        pytest.param(1, b"\x04", "threshold must be between 1 and its share count", id="fail-m-above-n"),
        pytest.param(1, b"\x00", "threshold must be between 1", id="fail-m-zero"),
        pytest.param(0, b"\x00" * 8, "wrong length", id="fail-setup-id"),
        pytest.param(3, b"\x00" * 8, "wrong length", id="fail-check-value"),
        pytest.param(4, b"\x00" * 16, "wrong length", id="fail-nonce"),
        pytest.param(2, b"\x00\x03", "share count must be 1 bytes", id="fail-count-size"),
    ],
)
def test_read_quorum_info_rejects_malformed_blob(
    setup: QuorumSetup, position: int, replacement: bytes, message: str
) -> None:
    fields = _blob_fields(setup.encrypted_domain_key)
    fields[position] = replacement
    with pytest.raises(DecodeError, match=message):
        read_quorum_info(_blob(fields))


@pytest.mark.parametrize(
    ("agent_count", "threshold"),
    [
        pytest.param(3, 0, id="fail-m-zero"),
        pytest.param(3, 4, id="fail-m-above-n"),
        pytest.param(0, 1, id="fail-no-agents"),
        pytest.param(256, 2, id="fail-n-above-255"),
    ],
)
def test_split_domain_key_rejects_bad_quorum_size(
    domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters, agent_count: int, threshold: int
) -> None:
    agents = [(f"agent{i}", "secret") for i in range(agent_count)]
    with pytest.raises(InvalidParameter, match="1 <= M <= N <= 255"):
        split_domain_key(domain_key.private_key_der, agents=agents, threshold=threshold, argon2=cheap_argon2)


def test_split_domain_key_allows_255_agents(
    domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters
) -> None:
    agents = [(f"agent{i}", f"secret {i}") for i in range(255)]
    setup = split_domain_key(domain_key.private_key_der, agents=agents, threshold=2, argon2=cheap_argon2)
    chosen = [unseal_share(setup.sealed_shares[a], s, a) for a, s in (agents[0], agents[254])]
    assert chosen[1].index == 255
    assert combine_shares(chosen, setup.encrypted_domain_key) == domain_key.private_key_der


def test_split_domain_key_one_of_one_works(
    domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters
) -> None:
    setup = split_domain_key(
        domain_key.private_key_der, agents=[("solo", "pw")], threshold=1, argon2=cheap_argon2
    )
    share = unseal_share(setup.sealed_shares["solo"], "pw", "solo")
    assert combine_shares([share], setup.encrypted_domain_key) == domain_key.private_key_der


def test_split_domain_key_rejects_bad_agents_and_keys(
    domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters
) -> None:
    der = domain_key.private_key_der
    with pytest.raises(InvalidParameter, match="agent ids must be distinct"):
        split_domain_key(der, agents=[("a", "x"), ("a", "y")], threshold=1, argon2=cheap_argon2)
    with pytest.raises(TypeError, match="threshold must be an int"):
        split_domain_key(der, agents=AGENTS, threshold=True, argon2=cheap_argon2)
    with pytest.raises(InvalidParameter, match="passphrase must not be empty"):
        split_domain_key(der, agents=[("a", "x"), ("b", "")], threshold=1, argon2=cheap_argon2)
    with pytest.raises(TypeError, match="passphrase must be a str"):
        split_domain_key(der, agents=[("a", b"x")], threshold=1, argon2=cheap_argon2)  # type: ignore[list-item]
    with pytest.raises(DecodeError, match="PKCS#8"):
        split_domain_key(b"not a key", agents=AGENTS, threshold=2, argon2=cheap_argon2)
    ec_der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidParameter, match="must be an RSA key"):
        split_domain_key(ec_der, agents=AGENTS, threshold=2, argon2=cheap_argon2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), agent_count=st.integers(min_value=1, max_value=6))
def test_split_and_combine_property_any_m_recover_and_m_minus_one_do_not(
    domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters, data: st.DataObject, agent_count: int
) -> None:
    threshold = data.draw(st.integers(min_value=1, max_value=agent_count), label="threshold")
    agents = [(f"agent-{i}", f"passphrase {i}") for i in range(agent_count)]
    setup = split_domain_key(
        domain_key.private_key_der, agents=agents, threshold=threshold, argon2=cheap_argon2
    )
    chosen = data.draw(st.permutations(agents), label="order")[:threshold]
    shares = [unseal_share(setup.sealed_shares[agent], secret, agent) for agent, secret in chosen]
    assert combine_shares(shares, setup.encrypted_domain_key) == domain_key.private_key_der
    with pytest.raises(NotEnoughShares):
        combine_shares(shares[:-1], setup.encrypted_domain_key)
