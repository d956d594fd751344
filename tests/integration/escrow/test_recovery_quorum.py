"""Quorum mode (Shamir 2-of-3 in the Law department): approvals unlock shares; a copy of the server holds no key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from campusca.config import load_settings
from campusca.db.escrow import EscrowAgent, EscrowDomainKeyRow, KeyCustody, RecoveryApproval, RecoveryRequest
from campusca.escrow import WrongPassphrase, unseal_share
from campusca.escrow.handover import open_handover_key
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.authority import Authority, open_authority
from campusca.services.errors import InvalidInput, NotAuthorized, PolicyViolation
from campusca.services.smime import recovery
from campusca.services.smime.escrow_keys import recover_key
from campusca.services.smime.messages import decrypt, encrypt
from campusca.services.smime.recovery_release import release_lost_key
from tests.integration.escrow.helpers import (
    AGENT_PASSPHRASES,
    PASSWORD,
    add_agents,
    enable_escrow,
    issue,
    mail,
)
from tests.support.ca import CaHome


@pytest.fixture
def quorum(authority: Authority) -> Authority:
    add_agents(authority)
    enable_escrow(authority, dept="Law", mode="quorum", approvals=2, agents=("rita", "quentin", "victor"))
    issue(authority, "bob")
    issue(authority, "mary")
    return authority


def _approve(authority: Authority, request_id: int, *agents: str) -> recovery.RecoveryView:
    view = recovery.get_request(authority, request_id)
    for agent in agents:
        view = recovery.approve(
            authority, request_id=request_id, agent=agent, passphrase=AGENT_PASSPHRASES[agent], actor="cli"
        )
    return view


def test_two_of_three_agents_and_the_release_code_recover_marys_key(quorum: Authority) -> None:
    archived, _ = encrypt(quorum, mail())
    request = recovery.request_recovery(quorum, username="mary", reason="lost-key", actor="cli")
    assert request.mode == "quorum" and request.approvals_required == 2 and request.release_code
    assert _approve(quorum, request.id, "rita", "victor").status == "approved"
    released = release_lost_key(
        quorum, request_id=request.id, password=PASSWORD, release_code=request.release_code, actor="cli"
    )
    assert b"the minutes are attached" in decrypt(archived, pkcs12=released.pkcs12, password=PASSWORD)
    with quorum.db.read() as session:
        row = session.get(RecoveryRequest, request.id)
        assert row is not None and row.handover_sealed_key is None
        assert all(a.handed_over_share is None for a in row.approvals)


def test_with_one_approval_fewer_than_the_quorum_nothing_is_released(quorum: Authority) -> None:
    request = recovery.request_recovery(quorum, username="mary", reason="lost-key", actor="cli")
    assert _approve(quorum, request.id, "quentin").status == "pending"
    with pytest.raises(PolicyViolation, match="1 of 2 approvals"):
        release_lost_key(
            quorum, request_id=request.id, password=PASSWORD, release_code=request.release_code, actor="cli"
        )
    assert recovery.get_request(quorum, request.id).status == "pending"


def test_wrong_passphrase_or_none_records_no_approval(quorum: Authority) -> None:
    request = recovery.request_recovery(quorum, username="mary", reason="lost-key", actor="cli")
    with pytest.raises(InvalidInput, match="passphrase of recovery agent 'rita' is wrong"):
        recovery.approve(quorum, request_id=request.id, agent="rita", passphrase="guess", actor="cli")
    with pytest.raises(InvalidInput, match="needs the agent's share passphrase"):
        recovery.approve(quorum, request_id=request.id, agent="rita", actor="cli")
    assert recovery.get_request(quorum, request.id).approvals == ()


def test_a_wrong_release_code_releases_nothing_and_the_right_one_still_works(quorum: Authority) -> None:
    request = recovery.request_recovery(quorum, username="mary", reason="lost-key", actor="cli")
    _approve(quorum, request.id, "rita", "quentin")
    with pytest.raises(NotAuthorized, match="release code is wrong"):
        release_lost_key(
            quorum, request_id=request.id, password=PASSWORD, release_code="AAAA-BBBB", actor="cli"
        )
    with pytest.raises(InvalidInput, match="release code"):
        release_lost_key(quorum, request_id=request.id, password=PASSWORD, actor="cli")
    assert recovery.get_request(quorum, request.id).status == "approved"
    release_lost_key(
        quorum, request_id=request.id, password=PASSWORD, release_code=request.release_code, actor="cli"
    )


def test_a_copy_of_the_database_and_data_directory_recovers_no_key(
    quorum: Authority, ca: CaHome, tmp_path: Path
) -> None:
    """An attacker copies everything on the server while a request is fully approved but not released."""
    mary_p12 = issue(quorum, "mary").pkcs12
    assert mary_p12 is not None
    mary_keys = [
        k for k in (load_pkcs12(mary_p12, PASSWORD.encode()).extra[0][0],) if isinstance(k, rsa.RSAPrivateKey)
    ]
    request = recovery.request_recovery(quorum, username="mary", reason="lost-key", actor="cli")
    _approve(quorum, request.id, "rita", "quentin")
    copy = tmp_path / "stolen"
    shutil.copytree(ca.home, copy)
    stolen = open_authority(load_settings(copy))
    try:
        _assert_nothing_opens(stolen, request.id, mary_keys)
    finally:
        stolen.db.dispose()
    # Not even the raw bytes of the database (with its WAL) contain the escrowed key.
    secret = mary_keys[0].private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for path in copy.rglob("*"):
        if path.is_file():
            assert secret[-64:] not in path.read_bytes(), path


def _assert_nothing_opens(stolen: Authority, request_id: int, mary_keys: list[rsa.RSAPrivateKey]) -> None:
    # Every key the key backend holds (CA, RA, OCSP ... keys) fails to open any archive record.
    labels = [p.name.removesuffix(".key.json") for p in stolen.settings.keys_dir.glob("*.key.json")]
    assert labels and not any(label.startswith("escrow-") for label in labels)
    with stolen.db.read() as session:
        records = list(session.execute(select(KeyCustody).where(KeyCustody.escrowed.is_(True))).scalars())
        assert records
        for record in records:
            for label in labels:
                key = stolen.keys.signer(label)
                if isinstance(key, rsa.RSAPrivateKey):
                    with pytest.raises(PolicyViolation, match="failed authentication"):
                        recover_key(record, key)
        # Sealed shares and the request's handover key need secrets that are nowhere on the server.
        for agent in session.execute(select(EscrowAgent)).scalars():
            with pytest.raises(WrongPassphrase):
                unseal_share(agent.sealed_share or b"", "", agent.person.username)
        request = session.get(RecoveryRequest, request_id)
        assert request is not None and request.handover_sealed_key is not None
        with pytest.raises(WrongPassphrase):
            open_handover_key(request.handover_sealed_key, "")
        assert session.execute(select(EscrowDomainKeyRow.key_label)).scalars().all() == [None]
        assert all(a.handed_over_share for a in session.execute(select(RecoveryApproval)).scalars())
    with pytest.raises(InvalidInput, match="release code"):
        release_lost_key(stolen, request_id=request_id, password=PASSWORD, actor="attacker")
    assert mary_keys  # the key the attacker wanted, for the byte search in the caller
