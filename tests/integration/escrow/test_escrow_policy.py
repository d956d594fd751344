"""Escrow policy per organisation and department, domains, agents, quorum splitting and mode changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from campusca.db.escrow import EscrowAgent, EscrowDomainKeyRow, KeyCustody
from campusca.db.models import AuditRecord
from campusca.keys import KeyNotFound
from campusca.services.authority import Authority
from campusca.services.errors import Conflict, InvalidInput, PolicyViolation
from campusca.services.people.registry import get_person
from campusca.services.smime import escrow_policy
from campusca.services.smime.escrow_keys import active_key, domain_decrypter, recover_key
from campusca.services.smime.recovery import escrowed_custody
from tests.integration.escrow.helpers import AGENT_PASSPHRASES, ORG, add_agents, enable_escrow, issue


def _policy_of(authority: Authority, username: str) -> escrow_policy.EffectivePolicy:
    with authority.db.read() as session:
        policy = escrow_policy.effective_policy(get_person(session, username).department)
        return policy


def test_department_inherits_the_organisation_policy_until_it_sets_its_own(authority: Authority) -> None:
    assert not _policy_of(authority, "mary").enabled
    enable_escrow(authority)
    inherited = _policy_of(authority, "mary")
    assert inherited.enabled and inherited.inherited and inherited.scope == f"organisation:{ORG}"
    with authority.db.write() as session:
        escrow_policy.set_policy(authority, session, dept_name="Law", enabled=False, actor="test")
    assert not _policy_of(authority, "mary").enabled
    assert _policy_of(authority, "bob").enabled  # Physics still inherits
    with authority.db.write() as session:
        escrow_policy.set_policy(authority, session, dept_name="Law", enabled=None, actor="test")
    assert _policy_of(authority, "mary").enabled


def test_show_lists_every_scope_with_its_key_and_agents(authority: Authority) -> None:
    enable_escrow(authority)
    with authority.db.read() as session:
        views = {v.scope: v.to_json() for v in escrow_policy.scope_views(session)}
    org = views[f"organisation:{ORG}"]
    assert org["enabled"] is True and org["agents"] == ["rita"] and org["key"]["mode"] == "simple"  # type: ignore[index]
    law = views[f"department:{ORG}/Law"]
    assert (
        law["own_policy"] is False
        and law["enabled"] is True
        and law["inherits_from"] == f"organisation:{ORG}"
    )


def test_quorum_mode_needs_enough_agents_and_every_passphrase(authority: Authority) -> None:
    with authority.db.write() as session:
        escrow_policy.add_agent(authority, session, username="rita", dept_name="Law", actor="test")
    with (
        pytest.raises(PolicyViolation, match="needs at least 2 recovery agents"),
        authority.db.write() as session,
    ):
        escrow_policy.set_policy(
            authority, session, dept_name="Law", enabled=True, mode="quorum", approvals=2, actor="t"
        )
    add_agents(authority)
    with authority.db.write() as session:
        for name in ("quentin", "victor"):
            escrow_policy.add_agent(authority, session, username=name, dept_name="Law", actor="test")
    with pytest.raises(InvalidInput, match="missing: victor"), authority.db.write() as session:
        escrow_policy.set_policy(
            authority,
            session,
            dept_name="Law",
            enabled=True,
            mode="quorum",
            approvals=2,
            passphrases={"rita": "a", "quentin": "b"},
            actor="test",
        )
    # Nothing was half-written: the department still has no policy and no key.
    assert not _policy_of(authority, "mary").enabled
    with authority.db.read() as session:
        assert session.execute(select(func.count(EscrowDomainKeyRow.id))).scalar_one() == 0


def test_quorum_split_seals_one_share_per_agent_and_stores_no_domain_key(authority: Authority) -> None:
    add_agents(authority)
    view = enable_escrow(
        authority, dept="Law", mode="quorum", approvals=2, agents=("rita", "quentin", "victor")
    )
    assert view["key"]["mode"] == "quorum" and view["key"]["threshold"] == 2  # type: ignore[index]
    with authority.db.read() as session:
        agents = list(session.execute(select(EscrowAgent)).scalars())
        assert len(agents) == 3 and all(a.sealed_share for a in agents)
        key = session.execute(select(EscrowDomainKeyRow)).scalar_one()
        assert key.key_label is None and key.encrypted_domain_key
    assert not any(p.name.startswith("escrow-") for p in authority.settings.keys_dir.iterdir())


def test_adding_an_agent_in_quorum_mode_resplits_with_everyones_passphrase(authority: Authority) -> None:
    add_agents(authority, ("quentin", "victor", "wanda"))
    enable_escrow(authority, dept="Law", mode="quorum", approvals=2, agents=("rita", "quentin", "victor"))
    with pytest.raises(InvalidInput, match="missing: wanda"), authority.db.write() as session:
        escrow_policy.add_agent(
            authority, session, username="wanda", dept_name="Law", passphrases=AGENT_PASSPHRASES, actor="t"
        )
    everyone = {**AGENT_PASSPHRASES, "wanda": "wanda's passphrase"}
    with authority.db.write() as session:
        scope = escrow_policy.add_agent(
            authority, session, username="wanda", dept_name="Law", passphrases=everyone, actor="t"
        )
        view = escrow_policy.escrow_scope_view(session, scope).to_json()
    assert view["agents"] == ["rita", "quentin", "victor", "wanda"]
    with authority.db.read() as session:
        actions = [r.action for r in session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()]
    assert actions[-2:] == ["escrow.agent_added", "escrow.quorum_split"]


def test_agent_needs_the_recovery_agent_role_and_is_added_once(authority: Authority) -> None:
    with (
        pytest.raises(PolicyViolation, match="not an active recovery agent"),
        authority.db.write() as session,
    ):
        escrow_policy.add_agent(authority, session, username="alice", org_name=ORG, actor="test")
    with authority.db.write() as session:
        escrow_policy.add_agent(authority, session, username="rita", org_name=ORG, actor="test")
    with pytest.raises(Conflict), authority.db.write() as session:
        escrow_policy.add_agent(authority, session, username="rita", org_name=ORG, actor="test")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"org_name": ORG, "dept_name": "Law"}, "exactly one", id="fail-both-scopes"),
        pytest.param({}, "exactly one", id="fail-no-scope"),
        pytest.param({"org_name": ORG, "mode": "paranoid"}, "simple or quorum", id="fail-mode"),
        pytest.param({"org_name": ORG, "approvals": 0}, "between 1 and 255", id="fail-approvals"),
    ],
)
def test_bad_policy_input_is_a_clear_error(
    authority: Authority, options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message), authority.db.write() as session:
        escrow_policy.set_policy(authority, session, enabled=True, actor="test", **options)  # type: ignore[arg-type]


def test_switching_simple_to_quorum_rewraps_every_archived_key(authority: Authority) -> None:
    add_agents(authority)
    enable_escrow(authority, agents=("rita", "quentin"))
    issue(authority, "mary")
    with authority.db.write() as session:
        escrow_policy.add_agent(authority, session, username="victor", org_name=ORG, actor="test")
        escrow_policy.set_policy(
            authority,
            session,
            org_name=ORG,
            enabled=True,
            mode="quorum",
            approvals=2,
            passphrases=AGENT_PASSPHRASES,
            actor="test",
        )
    with authority.db.read() as session:
        mary = get_person(session, "mary")
        policy = escrow_policy.effective_policy(mary.department)
        domain = escrow_policy.find_domain(session, policy)
        assert domain is not None
        key = active_key(domain)
        assert key is not None and key.mode == "quorum"
        custody = escrowed_custody(session, mary, domain.id)
        assert [c.domain_key_id for c in custody] == [key.id]
        old = next(k for k in domain.keys if not k.active)
        # The record was re-wrapped to the quorum key, and the retired simple key is gone for good.
        assert old.key_label is not None and not authority.keys.exists(old.key_label)
        with pytest.raises(KeyNotFound):
            recover_key(custody[0], domain_decrypter(authority, old))
        assert session.execute(select(func.count(KeyCustody.id))).scalar_one() == 1


@pytest.mark.parametrize(
    ("passphrase", "rule"),
    [
        pytest.param("a", "must be at least 12 characters", id="fail-one-character"),
        pytest.param("sunflowersunflower", "is too weak", id="fail-dictionary-word"),
    ],
)
def test_a_weak_agent_passphrase_is_refused_before_any_share_is_sealed(
    authority: Authority, passphrase: str, rule: str
) -> None:
    add_agents(authority)
    with authority.db.write() as session:
        for name in ("rita", "quentin"):
            escrow_policy.add_agent(authority, session, username=name, dept_name="Law", actor="test")
    weak = {"rita": AGENT_PASSPHRASES["rita"], "quentin": passphrase}
    refused = pytest.raises(InvalidInput, match=f"passphrase of recovery agent 'quentin' {rule}")
    with refused, authority.db.write() as session:
        escrow_policy.set_policy(
            authority, session, dept_name="Law", enabled=True, mode="quorum", approvals=2,
            passphrases=weak, actor="test",
        )  # fmt: skip
    with authority.db.read() as session:
        assert session.execute(select(func.count(EscrowDomainKeyRow.id))).scalar_one() == 0
        assert all(a.sealed_share is None for a in session.execute(select(EscrowAgent)).scalars())
