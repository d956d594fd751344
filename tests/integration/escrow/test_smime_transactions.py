"""The S/MIME functions adapters call own their transaction: committed when they return, nothing when they raise."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from campusca.db.escrow import KeyCustody
from campusca.db.models import Certificate
from campusca.services import smime
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput
from tests.integration.escrow.helpers import ORG, PASSWORD, add_agents, enable_escrow


def _certificate_count(authority: Authority) -> int:
    with authority.db.read() as session:
        return session.execute(select(func.count(Certificate.id))).scalar_one()


def test_bobs_pair_and_its_escrowed_key_are_committed_when_issuance_returns(authority: Authority) -> None:
    enable_escrow(authority)
    bundle = smime.issue_smime_bundle(authority, username="bob", actor="test", password=PASSWORD)
    with authority.db.read() as session:  # a new transaction sees both certificates and the archive
        custody = session.execute(
            select(KeyCustody).join(Certificate).where(Certificate.id == bundle.encryption.id)
        ).scalar_one()
        assert custody.escrowed and custody.archive_record is not None
    found = {entry.serial for entry in smime.directory_entries(authority, "bob@example.edu")}
    assert found == {bundle.signing.serial, bundle.encryption.serial}
    der = smime.directory_certificate_der(authority, bundle.encryption.serial)
    assert der == bundle.encryption.certificate.public_bytes(serialization.Encoding.DER)


def test_a_refused_issuance_leaves_bobs_current_pair_valid_and_issues_nothing(authority: Authority) -> None:
    first = smime.issue_smime_bundle(authority, username="bob", actor="test", password=PASSWORD)
    before = _certificate_count(authority)
    # Escrow is off, so an encryption CSR is allowed; this one is broken, and is read only after the old
    # pair was superseded and the new signing certificate made: all of that must roll back.
    with pytest.raises(InvalidInput, match="smime-encryption CSR"):
        smime.issue_smime_bundle(
            authority, username="bob", actor="test", password=PASSWORD, encryption_csr=b"not a CSR"
        )
    assert _certificate_count(authority) == before
    found = {entry.serial for entry in smime.directory_entries(authority, "bob@example.edu")}
    assert found == {first.signing.serial, first.encryption.serial}


def test_escrow_views_say_what_was_committed(authority: Authority) -> None:
    add_agents(authority, ("quentin",))
    view = smime.add_escrow_agent(authority, username="quentin", org_name=ORG, actor="test")
    assert view.agents == ("quentin",) and view.key is None
    assert smime.agent_passphrases_needed(authority, org_name=ORG, mode="quorum") == ["quentin"]
    on = smime.set_escrow_policy(authority, org_name=ORG, enabled=True, actor="test")
    assert on.enabled and on.mode == "simple" and on.key is not None
    [overview] = [v for v in smime.escrow_overview(authority) if v.scope == on.scope]
    assert overview == on
    with pytest.raises(InvalidInput, match="exactly one of an organisation or a department"):
        smime.set_escrow_policy(authority, enabled=True, actor="test")
