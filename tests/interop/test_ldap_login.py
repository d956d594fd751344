"""Institutional login against a real OpenLDAP slapd: search-then-bind, groups to roles, StartTLS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from campusca.identity import DirectoryUnavailable, InvalidCredentials, LdapOptions, LdapProvider
from tests.integration.enrollment.conftest import enrollment_site
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.peers import require_peer
from tests.support.slapd import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd, running_slapd

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    require_peer("slapd")
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


@pytest.fixture(scope="module")
def slapd_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    require_peer("slapd")
    with running_slapd(tmp_path_factory.mktemp("slapd-tls"), tls=True) as server:
        yield server


def _provider(server: Slapd, **changes: object) -> LdapProvider:
    values: dict[str, object] = {
        "url": server.url,
        "user_base": f"ou=people,{SUFFIX}",
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "group_base": f"ou=groups,{SUFFIX}",
        "group_roles": {"ca-admins": "admin", f"cn=helpdesk,ou=groups,{SUFFIX}": "helpdesk"},
        "timeout_seconds": 5.0,
    }
    return LdapProvider(LdapOptions(**{**values, **changes}))  # type: ignore[arg-type]


def test_alice_logs_in_by_search_then_bind_and_her_groups_become_roles(slapd: Slapd) -> None:
    user = _provider(slapd).authenticate("Alice", PEOPLE["alice"][2])
    assert user.username == "alice" and user.source == "ldap"
    assert user.display_name == "Alice Archer" and user.email == "alice@example.edu"
    assert user.roles == ("admin", "helpdesk")  # by group cn (groupOfNames) and by DN (groupOfUniqueNames)
    assert _provider(slapd).authenticate("bob", PEOPLE["bob"][2]).roles == ("helpdesk",)
    assert _provider(slapd).authenticate("mary", PEOPLE["mary"][2]).roles == ()


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("alice", "wrong-password", id="fail-wrong-password"),
        pytest.param("nobody", "whatever-it-is", id="fail-unknown-user"),
        pytest.param("alice", "", id="fail-empty-password-is-never-an-unauthenticated-bind"),
        pytest.param("*", PEOPLE["alice"][2], id="fail-filter-wildcard-is-escaped"),
        pytest.param("alice)(uid=*", PEOPLE["alice"][2], id="fail-filter-injection-is-escaped"),
    ],
)
def test_wrong_credentials_are_one_error(slapd: Slapd, username: str, password: str) -> None:
    with pytest.raises(InvalidCredentials, match="username or password is wrong"):
        _provider(slapd).authenticate(username, password)


def test_a_broken_service_account_or_a_dead_server_is_directory_unavailable(
    slapd: Slapd, tmp_path: Path
) -> None:
    with pytest.raises(DirectoryUnavailable, match="service account"):
        _provider(slapd, bind_password="not-the-reader-password").authenticate("alice", PEOPLE["alice"][2])
    from tests.support.ca import free_port

    with pytest.raises(DirectoryUnavailable):
        _provider(slapd, url=f"ldap://127.0.0.1:{free_port()}").authenticate("alice", PEOPLE["alice"][2])


def test_start_tls_checks_the_server_certificate_against_the_configured_ca(slapd_tls: Slapd) -> None:
    assert slapd_tls.ca_file is not None
    secured = _provider(slapd_tls, start_tls=True, ca_file=str(slapd_tls.ca_file))
    assert secured.authenticate("alice", PEOPLE["alice"][2]).username == "alice"
    with pytest.raises(DirectoryUnavailable):  # the test CA is not in the system store
        _provider(slapd_tls, start_tls=True).authenticate("alice", PEOPLE["alice"][2])
    unchecked = _provider(slapd_tls, start_tls=True, verify_tls=False)
    assert unchecked.authenticate("bob", PEOPLE["bob"][2]).username == "bob"


def test_alice_enrols_with_her_ldap_password_and_her_roles_follow_the_directory(
    slapd: Slapd, ca_template: Path, tmp_path: Path
) -> None:
    with enrollment_site(ca_template, tmp_path, ldap={"Example University": slapd.settings()}) as site:
        link = site.invite("alice")
        phone = SimulatedIPhone()
        local = phone.log_in(link, "alice", "campusca-demo")  # the local password is not the directory's
        assert local.status_code == 403
        assert phone.log_in(link, "alice", PEOPLE["alice"][2]).status_code == 303
        person = site.ca.cli_json("user", "show", "alice")
        assert sorted(person["roles"]) == ["admin", "helpdesk"]
        actions = [r["action"] for r in site.ca.cli_json("audit", "list", "--limit", "300")]
        assert "person.roles_synced" in actions and "login.succeeded" in actions and "login.failed" in actions


def test_http_basic_on_the_rest_api_checks_the_ldap_password(
    slapd: Slapd, ca_template: Path, tmp_path: Path
) -> None:
    with enrollment_site(ca_template, tmp_path, ldap={"Example University": slapd.settings()}) as site:
        requests = f"{site.plain_url}/api/v1/recovery/requests"
        local = httpx.get(requests, auth=("alice", "campusca-demo"))  # the local hash is not consulted
        assert local.status_code == 401
        directory = httpx.get(requests, auth=("alice", PEOPLE["alice"][2]))
        assert directory.status_code == 200, directory.text  # helpdesk, from her LDAP group
        logins = [
            r for r in site.ca.cli_json("audit", "list", "--limit", "300") if r["action"] == "login.succeeded"
        ]
        assert logins[0]["details"]["source"] == "ldap" and logins[0]["details"]["purpose"] == "api"
