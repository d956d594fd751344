"""The services behind the people's and agents' pages: escrow outlook, password strength, the recovery queue."""

from __future__ import annotations

import pytest

from campusca.services import ota, smime
from campusca.services.authority import Authority
from campusca.services.errors import NotFound

ORG = "Example University"
STRONG = "correct horse battery staple"


def _escrow_on(authority: Authority) -> None:
    smime.add_escrow_agent(authority, username="rita", org_name=ORG, actor="test")
    smime.set_escrow_policy(authority, org_name=ORG, enabled=True, mode="simple", actor="test")


def test_the_outlook_says_before_issuing_whether_and_by_whom_the_key_is_escrowed(
    authority: Authority,
) -> None:
    off = smime.escrow_outlook(authority, "bob")
    assert (off.escrowed, off.holder, off.ready) == (False, ORG, True)
    _escrow_on(authority)
    on = smime.escrow_outlook(authority, "bob")
    assert (on.escrowed, on.mode, on.agents, on.ready) == (True, "simple", ("rita",), True)


def test_password_strength_follows_the_passphrase_policy(authority: Authority) -> None:
    assert smime.judge_pkcs12_password(authority, "", owner="bob").score == 0
    short = smime.judge_pkcs12_password(authority, "Tr0ub4dor&3", owner="bob")
    assert not short.accepted and "at least 12 characters" in (short.refusal or "") and short.score <= 2
    guessable = smime.judge_pkcs12_password(authority, "bob12345678!", owner="bob")
    assert not guessable.accepted and guessable.label in ("very weak", "weak", "not strong enough")
    strong = smime.judge_pkcs12_password(authority, STRONG, owner="bob")
    assert (strong.accepted, strong.score, strong.label) == (True, 4, "strong")


def test_agents_see_what_they_may_do_never_their_own_request_and_approve_once(authority: Authority) -> None:
    _escrow_on(authority)
    smime.issue_smime_bundle(authority, username="mary", actor="test", password=STRONG)
    asked = smime.request_recovery(
        authority, username="mary", reason="lost-key", actor="person:mary", requester="mary"
    )
    (item,) = smime.recovery_queue(authority, "rita")
    assert (item.may_approve, item.may_reject, item.may_release) == (True, True, False)
    assert smime.recovery_queue(authority, "larry") == ()  # no agent of this domain, not the requester
    (own,) = smime.own_recoveries(authority, "mary")
    assert (own.may_approve, own.may_reject, own.may_release) == (False, True, False)
    smime.approve_recovery(authority, request_id=asked.id, agent="rita", actor="person:rita")
    (item,) = smime.recovery_queue(authority, "rita")
    assert (item.may_approve, item.approved_by_me, item.request.status) == (False, True, "approved")
    (own,) = smime.own_recoveries(authority, "mary")
    assert own.may_release
    smime.release_lost_key(
        authority, request_id=asked.id, password=STRONG, actor="person:mary", releaser="mary"
    )
    (own,) = smime.own_recoveries(authority, "mary")
    assert (own.request.status, own.may_release, own.may_reject) == ("released", False, False)
    assert smime.recovery_queue(authority, "rita") == ()  # a released lost-key request is done


def test_a_confidential_legal_case_is_not_shown_to_the_person_it_concerns(authority: Authority) -> None:
    _escrow_on(authority)
    smime.issue_smime_bundle(authority, username="mary", actor="test", password=STRONG)
    smime.request_recovery(
        authority, username="mary", reason="legal", actor="person:larry", requester="larry",
        case_ref="case 7", confidential=True,
    )  # fmt: skip
    assert smime.own_recoveries(authority, "mary") == ()
    (case,) = smime.recovery_queue(authority, "larry")
    assert (case.may_reject, case.may_release, case.may_close) == (True, False, False)


def test_someone_elses_device_is_not_found(authority: Authority) -> None:
    with pytest.raises(NotFound):
        ota.own_device(authority, username="bob", device_id=1)
    with pytest.raises(NotFound):
        ota.report_lost(authority, username="bob", device_id=1, actor="person:bob")
