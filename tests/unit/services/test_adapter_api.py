"""The people, ca and scep APIs adapters call: one transaction per call, committed on return, views out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from campusca.config import load_settings
from campusca.services import ca, people, scep, storage
from campusca.services.authority import Authority, open_authority
from campusca.services.errors import Conflict, NotAuthorized, NotFound
from tests.support.ca import make_csr


@pytest.fixture
def other_process(authority: Authority) -> Iterator[Authority]:
    """A second Authority on the same data directory, as another `campusca` process would open it."""
    other = open_authority(load_settings(authority.settings.home))
    yield other
    other.db.dispose()


def test_a_registered_person_is_committed_when_the_call_returns(
    authority: Authority, other_process: Authority
) -> None:
    added = people.register_person(
        authority, username="hank", email="hank@example.edu", department="Physics", actor="test"
    )
    assert dataclasses.is_dataclass(added) and added.department == "Physics"
    assert people.view_person(other_process, "hank") == added
    changed = people.change_person(authority, "hank", actor="test", roles=("helpdesk",), active=False)
    assert people.view_person(other_process, "hank") == changed
    assert changed.roles == ("helpdesk",) and changed.active is False
    with pytest.raises(Conflict):
        people.register_person(
            authority, username="hank", email="h@example.edu", department="Physics", actor="test"
        )


def test_people_pages_count_what_the_filter_matches(authority: Authority) -> None:
    everyone, total = people.list_people(authority, limit=1000)
    physics, physics_total = people.list_people(authority, department="Physics", limit=1)
    assert total == len(everyone) and len(physics) == 1
    assert physics_total == sum(1 for p in everyone if p.department == "Physics") < total


def test_organisations_and_departments_have_one_listing_each(authority: Authority) -> None:
    org = people.register_organisation(authority, name="Second College", domain="second.edu", actor="test")
    assert org.departments == ()
    people.register_department(authority, name="Arts", organisation="Second College", actor="test")
    assert [o.name for o in people.list_organisations(authority)] == ["Example University", "Second College"]
    assert people.view_organisation(authority, "Second College").departments == ("Arts",)
    main = people.main_organisation(authority)
    assert main is not None and main.name == "Example University"
    arts = people.list_departments(authority, organisation="Second College")
    assert [(d.name, d.organisation, d.people) for d in arts] == [("Arts", "Second College", 0)]
    with pytest.raises(NotFound):
        people.view_department(authority, "No Such Department")


def test_a_minted_token_identifies_its_holder_until_revoked(authority: Authority) -> None:
    secret = people.mint_token(authority, name="ci", role="auditor", actor="test")
    identity = people.identify_token(authority, secret)
    assert (identity.name, identity.role) == ("ci", "auditor")
    (listed,) = [t for t in people.list_tokens(authority) if t.name == "ci"]
    assert secret not in repr(listed)
    people.revoke_token(authority, listed.id, actor="test")
    with pytest.raises(NotAuthorized):
        people.identify_token(authority, secret)


def test_an_issued_certificate_is_listed_and_revocable_at_once(
    authority: Authority, other_process: Authority
) -> None:
    _, csr = make_csr(cn="alice-laptop")
    issued = ca.issue_from_csr(
        authority, profile_name="device", csr_bytes=csr, username="alice", actor="test"
    )
    assert issued.status == "valid" and issued.person == "alice"
    assert ca.get_certificate(other_process, issued.serial) == issued
    result = ca.revoke_by_serial(
        other_process, serial=issued.serial, reason=ca.parse_reason("superseded"), actor="test"
    )
    assert result.crl_number >= 1
    assert ca.get_certificate(authority, issued.serial).status == "revoked"
    with pytest.raises(Conflict):
        ca.revoke_by_serial(authority, serial=issued.serial, reason=ca.parse_reason("superseded"), actor="t")


def test_a_new_challenge_is_listed_without_its_secret(authority: Authority) -> None:
    created = scep.issue_challenge(authority, username="alice", actor="test", device_ref="udid-1")
    assert created.secret not in repr(created) and created.url.endswith("/scep")
    (listed,) = scep.list_challenges(authority)
    assert (listed.username, listed.device_ref, listed.expires_at) == ("alice", "udid-1", created.expires_at)
    assert scep.list_enrollments(authority, device_ref="udid-1") == []
    with pytest.raises(NotFound):
        scep.approve_pending(authority, 12345, actor="test")


def test_ping_reaches_the_database(authority: Authority) -> None:
    storage.ping(authority)
