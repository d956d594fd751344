"""Handing quorum shares to a recovery request: only the release code opens them, for that request and agent."""

from __future__ import annotations

import pytest

from campusca.escrow import (
    Argon2Parameters,
    DecodeError,
    EscrowDomainKey,
    InvalidParameter,
    Share,
    ShareMismatch,
    WrongPassphrase,
    combine_shares,
    split_domain_key,
    unseal_share,
)
from campusca.escrow.handover import (
    HandoverKey,
    create_handover_key,
    format_release_code,
    hand_over_share,
    normalise_release_code,
    open_handover_key,
    take_over_share,
)


@pytest.fixture(scope="module")
def quorum(domain_key: EscrowDomainKey, cheap_argon2: Argon2Parameters) -> tuple[bytes, list[Share]]:
    setup = split_domain_key(
        domain_key.private_key_der,
        agents=[("rita", "rita pass"), ("quentin", "quentin pass"), ("victor", "victor pass")],
        threshold=2,
        argon2=cheap_argon2,
    )
    shares = [
        unseal_share(setup.sealed_shares[name], f"{name} pass", name)
        for name in ("rita", "quentin", "victor")
    ]
    return setup.encrypted_domain_key, shares


@pytest.fixture(scope="module")
def handover() -> tuple[HandoverKey, str]:
    return create_handover_key()


def test_handed_over_shares_rebuild_the_domain_key_with_the_release_code(
    quorum: tuple[bytes, list[Share]], handover: tuple[HandoverKey, str], domain_key: EscrowDomainKey
) -> None:
    encrypted, shares = quorum
    key, code = handover
    handed = [hand_over_share(s, handover_public_key=key.public_key(), request_id=7) for s in shares[:2]]
    opened = open_handover_key(key.sealed_private_key, code)
    taken = [
        take_over_share(blob, decrypter=opened, request_id=7, agent_id=share.agent_id)
        for blob, share in zip(handed, shares, strict=False)
    ]
    assert taken == shares[:2]
    assert combine_shares(taken, encrypted) == domain_key.private_key_der


def test_release_code_is_accepted_in_lower_case_and_without_dashes(handover: tuple[HandoverKey, str]) -> None:
    key, code = handover
    open_handover_key(key.sealed_private_key, code.replace("-", " ").lower())


def test_wrong_release_code_opens_nothing(handover: tuple[HandoverKey, str]) -> None:
    key, _ = handover
    with pytest.raises(WrongPassphrase):
        open_handover_key(key.sealed_private_key, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
    with pytest.raises(WrongPassphrase):
        open_handover_key(key.sealed_private_key, "")


def test_share_handed_to_one_request_does_not_open_for_another_request_or_agent(
    quorum: tuple[bytes, list[Share]], handover: tuple[HandoverKey, str]
) -> None:
    _, shares = quorum
    key, code = handover
    blob = hand_over_share(shares[0], handover_public_key=key.public_key(), request_id=7)
    opened = open_handover_key(key.sealed_private_key, code)
    with pytest.raises(ShareMismatch):
        take_over_share(blob, decrypter=opened, request_id=8, agent_id="rita")
    with pytest.raises(ShareMismatch):
        take_over_share(blob, decrypter=opened, request_id=7, agent_id="quentin")


def test_tampered_handed_over_share_is_a_mismatch_not_a_crash(
    quorum: tuple[bytes, list[Share]], handover: tuple[HandoverKey, str]
) -> None:
    _, shares = quorum
    key, code = handover
    blob = bytearray(hand_over_share(shares[0], handover_public_key=key.public_key(), request_id=7))
    blob[7] ^= 1  # the share index, authenticated as associated data
    opened = open_handover_key(key.sealed_private_key, code)
    with pytest.raises(ShareMismatch):
        take_over_share(bytes(blob), decrypter=opened, request_id=7, agent_id="rita")


def test_another_requests_handover_key_cannot_open_the_share(
    quorum: tuple[bytes, list[Share]], handover: tuple[HandoverKey, str]
) -> None:
    _, shares = quorum
    key, _ = handover
    other_key, other_code = create_handover_key()
    blob = hand_over_share(shares[0], handover_public_key=key.public_key(), request_id=7)
    with pytest.raises(ShareMismatch):
        take_over_share(
            blob,
            decrypter=open_handover_key(other_key.sealed_private_key, other_code),
            request_id=7,
            agent_id="rita",
        )


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(b"", id="fail-empty"),
        pytest.param(b"CAHX" + bytes(40), id="fail-magic"),
        pytest.param(b"CAHS\x09" + bytes(40), id="fail-version"),
    ],
)
def test_malformed_handed_over_share_is_a_decode_error(
    blob: bytes, handover: tuple[HandoverKey, str]
) -> None:
    key, code = handover
    with pytest.raises(DecodeError):
        take_over_share(
            blob, decrypter=open_handover_key(key.sealed_private_key, code), request_id=1, agent_id="a"
        )


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(b"", id="fail-empty"),
        pytest.param(b"CAHK\x01\x00", id="fail-short"),
        pytest.param(b"CAHK\x02\x00\x00\x00\x00", id="fail-version"),
        pytest.param(b"CAHK\x01\x00\x00\x00\x09abc", id="fail-truncated"),
    ],
)
def test_malformed_sealed_handover_key_is_a_decode_error(blob: bytes) -> None:
    with pytest.raises(DecodeError):
        open_handover_key(blob, "CODE")


def test_share_of_the_wrong_size_and_bad_request_ids_are_refused(
    quorum: tuple[bytes, list[Share]], handover: tuple[HandoverKey, str]
) -> None:
    _, shares = quorum
    key, _ = handover
    short = Share("rita", 1, 2, shares[0].setup_id, b"\x00" * 5)
    with pytest.raises(InvalidParameter):
        hand_over_share(short, handover_public_key=key.public_key(), request_id=1)
    with pytest.raises(InvalidParameter):
        hand_over_share(shares[0], handover_public_key=key.public_key(), request_id=0)
    with pytest.raises(TypeError):
        hand_over_share("share", handover_public_key=key.public_key(), request_id=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        normalise_release_code(None)  # type: ignore[arg-type]


def test_handover_public_key_must_be_rsa() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    spki = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(DecodeError):
        HandoverKey(spki).public_key()


def test_release_code_has_160_random_bits_in_readable_groups() -> None:
    code = format_release_code(bytes(range(20)))
    assert code.count("-") == 7 and all(len(group) == 4 for group in code.split("-"))
    assert normalise_release_code(code) == code.replace("-", "")
