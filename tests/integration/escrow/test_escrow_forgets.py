"""Escrow that forgets (issue 9): after a switch from simple to quorum mode, a copy of the data directory
and the master key, taken while the service runs, opens no archived key; the retired key is destroyed."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from campusca import escrow
from campusca.db.escrow import EscrowAgent, EscrowDomainKeyRow, RecoveryRequest
from campusca.db.models import AuditRecord
from campusca.keys import KeyNotFound, SoftwareKeyBackend, read_master_key
from campusca.services.authority import Authority
from campusca.services.people.registry import get_person
from campusca.services.smime import escrow_policy, recovery
from campusca.services.smime.escrow_keys import active_key, domain_decrypter
from campusca.services.smime.recovery_release import release_lost_key
from tests.integration.escrow.helpers import AGENT_PASSPHRASES, PASSWORD, add_agents, enable_escrow, issue
from tests.support.ca import CaHome

AGENTS = ("rita", "quentin", "victor")
# An archive record as stored: magic, kind 1 (archive record), version, then 4 length-prefixed fields.
_RECORD_MARKER = b"CAES\x01"


@dataclass(frozen=True)
class _Loot:
    keys: int  # RSA private keys the master key opened from keys/
    records: int  # distinct archive records found anywhere in the copy
    recovered: int  # archived private keys decrypted with them


def _records_in(data: bytes) -> set[bytes]:
    """Every well-formed archive record in raw bytes (database pages, WAL frames, free space)."""
    found: set[bytes] = set()
    at = data.find(_RECORD_MARKER)
    while at >= 0:
        end = at + len(_RECORD_MARKER) + 1
        for _ in range(4):
            if end + 4 > len(data):
                break
            end += 4 + int.from_bytes(data[end : end + 4], "big")
        try:
            escrow.ArchiveRecord.from_bytes(data[at:end])
            found.add(data[at:end])
        except (escrow.DecodeError, ValueError):
            pass
        at = data.find(_RECORD_MARKER, at + 1)
    return found


def _attack(copy: Path, bindings: list[escrow.ArchiveBinding]) -> _Loot:
    """What a thief with the copied data directory and master key (no passphrase) gets out of it."""
    backend = SoftwareKeyBackend(copy / "keys", read_master_key(None, copy / "master.key"))
    keys = [
        key
        for path in sorted((copy / "keys").glob("*.key.json"))
        if isinstance(key := backend.signer(path.name.removesuffix(".key.json")), rsa.RSAPrivateKey)
    ]
    records: set[bytes] = set()
    for path in copy.rglob("*"):
        if path.is_file():
            records |= _records_in(path.read_bytes())
    recovered = set()
    for blob in records:
        record = escrow.ArchiveRecord.from_bytes(blob)
        for key in keys:
            for binding in bindings:
                try:
                    recovered.add(escrow.recover_private_key(record, domain_decrypter=key, binding=binding))
                except escrow.ArchiveIntegrityError:
                    continue
    return _Loot(len(keys), len(records), len(recovered))


def _switch_law_to_quorum(authority: Authority) -> None:
    with authority.db.write() as session:
        escrow_policy.set_policy(
            authority,
            session,
            dept_name="Law",
            enabled=True,
            mode="quorum",
            approvals=2,
            passphrases=AGENT_PASSPHRASES,
            actor="test",
        )


def test_a_copy_taken_after_the_switch_to_quorum_recovers_no_key(
    authority: Authority, ca: CaHome, tmp_path: Path
) -> None:
    add_agents(authority)
    enable_escrow(authority, dept="Law", mode="simple", agents=AGENTS)
    bundle = issue(authority, "mary")
    # The binding is public: the certificate (in the directory) and the owner's username.
    bindings = [escrow.ArchiveBinding.for_certificate(bundle.encryption.certificate, owner="mary")]
    before = tmp_path / "before"
    shutil.copytree(ca.home, before)
    # The attack works while the department is in simple mode: the master key opens the domain key.
    assert _attack(before, bindings).recovered == 1

    _switch_law_to_quorum(authority)
    after = tmp_path / "after"
    shutil.copytree(ca.home, after)  # the service still has the database open
    loot = _attack(after, bindings)
    assert loot.keys >= 1  # the thief did find keys to try
    assert loot.records == 1  # only the re-wrapped record: the pre-switch one is zeroed, not in free space
    assert loot.recovered == 0
    wal = after / "campusca.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated


def test_the_retired_simple_key_is_destroyed_and_the_destruction_audited(authority: Authority) -> None:
    add_agents(authority)
    enable_escrow(authority, dept="Law", mode="simple", agents=AGENTS)
    issue(authority, "mary")
    _switch_law_to_quorum(authority)
    with authority.db.read() as session:
        mary = get_person(session, "mary")
        domain = escrow_policy.find_domain(session, escrow_policy.effective_policy(mary.department))
        assert domain is not None
        old = next(k for k in domain.keys if not k.active)
        assert old.mode == "simple" and old.key_label is not None
        assert not authority.keys.exists(old.key_label)
        with pytest.raises(KeyNotFound):
            domain_decrypter(authority, old)
        actions = [r.action for r in session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()]
    assert "escrow.domain_key_destroyed" in actions


def test_leaving_quorum_mode_erases_the_sealed_key_and_every_share(authority: Authority) -> None:
    add_agents(authority)
    enable_escrow(authority, dept="Law", mode="quorum", approvals=2, agents=AGENTS)
    issue(authority, "mary")
    with authority.db.write() as session:
        escrow_policy.set_policy(
            authority,
            session,
            dept_name="Law",
            enabled=True,
            mode="simple",
            passphrases=AGENT_PASSPHRASES,
            actor="test",
        )
    with authority.db.read() as session:
        rows = list(session.execute(select(EscrowDomainKeyRow)).scalars())
        retired = [r for r in rows if not r.active and r.mode == "quorum"]
        assert retired and all(r.encrypted_domain_key is None for r in retired)
        shares = [a.sealed_share for a in session.execute(select(EscrowAgent)).scalars()]
        assert shares and all(s is None for s in shares)
        domain = retired[0].domain
        assert active_key(domain) is not None and active_key(domain).mode == "simple"  # type: ignore[union-attr]


def _files_holding(home: Path, secret: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and secret in p.read_bytes()
    )


def test_a_released_recovery_leaves_no_handover_material_on_disk(authority: Authority, ca: CaHome) -> None:
    add_agents(authority)
    enable_escrow(authority, dept="Law", mode="quorum", approvals=2, agents=AGENTS)
    issue(authority, "mary")
    request = recovery.request_recovery(authority, username="mary", reason="lost-key", actor="cli")
    for agent in ("rita", "victor"):
        recovery.approve(
            authority, request_id=request.id, agent=agent, passphrase=AGENT_PASSPHRASES[agent], actor="cli"
        )
    with authority.db.read() as session:
        row = session.get(RecoveryRequest, request.id)
        assert row is not None and row.handover_sealed_key is not None
        material = [
            row.handover_sealed_key,
            *(a.handed_over_share for a in row.approvals if a.handed_over_share),
        ]
    assert len(material) == 3 and all(_files_holding(ca.home, m) for m in material)
    release_lost_key(
        authority, request_id=request.id, password=PASSWORD, release_code=request.release_code, actor="cli"
    )
    assert [_files_holding(ca.home, m) for m in material] == [[], [], []]
