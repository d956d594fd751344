"""Web-page sessions: login through the one login service, idle and absolute expiry, logout with CSRF only."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from campusca.services import ca, people, smime
from campusca.services.authority import Authority
from campusca.services.errors import NotAuthorized, NotFound

DEMO = "campusca-demo"


def _later(authority: Authority, **delta: float) -> Authority:
    return replace(authority, clock=lambda: authority.now() + timedelta(**delta))


def _log_in(authority: Authority, username: str = "bob") -> str:
    return people.log_in_web(authority, username=username, password=DEMO, address="192.0.2.1").token


def test_a_session_names_its_person_with_roles_and_a_csrf_token(authority: Authority) -> None:
    me = people.web_identity(authority, _log_in(authority, "rita"))
    assert me is not None
    assert (me.username, me.display_name) == ("rita", "Rita Recovery")
    assert set(me.roles) == {"recovery-agent", "helpdesk"}
    assert len(me.csrf_token) == 64


def test_every_wrong_login_is_refused_with_one_sentence(authority: Authority) -> None:
    answers = []
    for username, password in (("bob", "wrong-password"), ("nobody", DEMO), ("", "")):
        with pytest.raises(NotAuthorized) as refused:
            people.log_in_web(authority, username=username, password=password, address="192.0.2.2")
        answers.append(str(refused.value))
    assert set(answers) == {"username or password is wrong"}


def test_an_idle_session_ends_and_a_visited_one_lives_until_the_absolute_limit(authority: Authority) -> None:
    token = _log_in(authority)
    assert people.web_identity(_later(authority, minutes=31), token) is None  # idle for 31 minutes
    for minutes in range(20, 12 * 60, 20):  # a visit every 20 minutes keeps it alive ...
        assert people.web_identity(_later(authority, minutes=minutes), token) is not None
    assert people.web_identity(_later(authority, hours=12, minutes=1), token) is None  # ... for 12 hours


def test_logout_needs_the_csrf_token_and_then_ends_the_session(authority: Authority) -> None:
    token = _log_in(authority)
    with pytest.raises(NotAuthorized):
        people.log_out_web(authority, token, "not-the-token")
    me = people.web_identity(authority, token)
    assert me is not None  # nothing changed
    people.log_out_web(authority, token, me.csrf_token)
    assert people.web_identity(authority, token) is None


def test_an_enrollment_session_token_opens_no_web_page(authority: Authority) -> None:
    assert people.web_identity(authority, "a-token-nobody-issued") is None
    assert people.web_identity(authority, None) is None


def test_a_person_gets_only_their_own_certificate_and_sees_their_key_custody(authority: Authority) -> None:
    before = ca.certificate_counts(authority)
    bundle = smime.issue_smime_bundle(authority, username="bob", actor="test")
    serials = [c.serial for c in ca.list_certificates(authority, username="bob")[0]]
    assert len(serials) == 2
    assert ca.certificate_of_person(authority, serials[0], "bob").person == "bob"
    with pytest.raises(NotFound):
        ca.certificate_of_person(authority, serials[0], "mary")
    custody = smime.key_custody_of(authority, "bob")
    assert len(custody) == 1 and custody[0].serial in serials
    assert not custody[0].escrowed and custody[0].agents == ()  # escrow is off in the demo
    assert bundle is not None
    after = ca.certificate_counts(authority)
    assert (after.people, after.valid - before.valid, after.revoked) == (6, 2, 0)


def test_an_escrowed_key_names_its_scope_and_the_agents_who_can_recover_it(authority: Authority) -> None:
    organisation = people.main_organisation(authority)
    assert organisation is not None
    smime.add_escrow_agent(authority, username="rita", org_name=organisation.name, actor="test")
    smime.set_escrow_policy(authority, org_name=organisation.name, enabled=True, actor="test")
    smime.issue_smime_bundle(authority, username="mary", actor="test")
    [key] = smime.key_custody_of(authority, "mary")
    assert key.escrowed and key.mode == "simple" and key.agents == ("rita",)
    assert key.scope == f"organisation:{organisation.name}"


def test_roles_are_read_at_each_request_and_a_deactivated_person_is_logged_out(authority: Authority) -> None:
    token = _log_in(authority)
    people.change_person(authority, "bob", actor="test", roles=("ra-officer",))
    me = people.web_identity(authority, token)
    assert me is not None and me.has_any("admin", "ra-officer")
    people.change_person(authority, "bob", actor="test", active=False)
    assert people.web_identity(authority, token) is None
