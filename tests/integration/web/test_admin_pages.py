"""The administrators' pages over plain HTTP against a real `campusca serve`: roles, CSRF, changes and
their audit records (the acting person), search, sorting and pages, revocation, escrow, SCEP, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from campusca.db.models import Person
from campusca.db.ota import Device
from campusca.scep import PkiStatus
from campusca.services.authority import Authority
from tests.support.ca import CaHome, serving
from tests.support.scep_server import pkcs_req, read_reply, scep_server

DEMO = "campusca-demo"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ADMIN_PAGES = (
    "/admin/",
    "/admin/people",
    "/admin/people/new",
    "/admin/people/alice",
    "/admin/certificates",
    "/admin/scep",
    "/admin/escrow",
    "/admin/audit",
)


def csrf_of(client: httpx.Client, path: str) -> str:
    found = _CSRF.search(client.get(path).text)
    assert found is not None, f"no form on {path}"
    return found.group(1)


@contextmanager
def logged_in(url: str, username: str) -> Iterator[httpx.Client]:
    # A generous timeout: turning quorum escrow on makes a domain key, slow on a busy machine.
    with httpx.Client(base_url=url, timeout=120) as client:
        token = csrf_of(client, "/login")
        answer = client.post("/login", data={"username": username, "password": DEMO, "csrf": token})
        assert answer.status_code == 303, answer.text
        yield client


def audit_of(ca: CaHome, action: str) -> list[dict[str, object]]:
    records = ca.cli_json("audit", "list", "--limit", "1000")
    return [r for r in records if r["action"] == action]  # type: ignore[index,union-attr]


@pytest.fixture
def site(ca: CaHome) -> Iterator[str]:
    with serving(ca) as url:
        yield url


def test_every_admin_page_sends_strangers_to_login_refuses_people_without_the_role_and_opens_for_staff(
    ca: CaHome, site: str
) -> None:
    ca.cli("smime", "issue", "bob", "--out", str(ca.home / "bob.p12"))
    with httpx.Client(base_url=site) as stranger:
        for path in ADMIN_PAGES:
            answer = stranger.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=/admin/")
    with logged_in(site, "bob") as bob:
        token = csrf_of(bob, "/my/")
        assert {bob.get(path).status_code for path in ADMIN_PAGES} == {403}
        posts = ("/admin/people/alice/invite", "/admin/people/alice/edit", "/admin/audit/verify")
        assert {bob.post(path, data={"csrf": token, "channel": "email"}).status_code for path in posts} == {
            403
        }
    with logged_in(site, "admin") as admin:
        for path in ADMIN_PAGES:
            page = admin.get(path)
            assert page.status_code == 200, path
            assert "text/html" in page.headers["content-type"] and "<h1>" in page.text
    assert audit_of(ca, "invitation.created") == [] and audit_of(ca, "person.updated") == []


def test_a_change_posted_without_the_csrf_token_is_refused_and_changes_nothing(ca: CaHome, site: str) -> None:
    with logged_in(site, "admin") as admin:
        for token in ("", "forged"):
            answer = admin.post("/admin/people/bob/active", data={"csrf": token, "active": "false"})
            assert answer.status_code == 403
        assert "deactivated" not in admin.get("/admin/people/bob").text
    assert audit_of(ca, "person.updated") == []


def test_the_administrator_adds_edits_and_deactivates_a_person_and_each_change_names_them(
    ca: CaHome, site: str
) -> None:
    with logged_in(site, "admin") as admin:
        token = csrf_of(admin, "/admin/people/new")
        form = {
            "csrf": token,
            "username": "erin",
            "name": "Erin Example",
            "email": "erin@example.edu",
            "phone": "",
            "department": "Example University/Physics",
            "roles": ["ra-officer"],
        }
        added = admin.post("/admin/people/new", data=form)
        assert (
            added.status_code == 303 and added.headers["location"] == "/admin/people/erin?done=person-added"
        )
        again = admin.post("/admin/people/new", data=form)
        assert again.status_code == 400 and "already exists" in again.text  # the form again, with the reason
        edit = {"csrf": token, "name": "Erin E.", "email": "erin@example.edu", "phone": "+15550002222"}
        assert admin.post("/admin/people/erin/edit", data={**edit, "roles": ["auditor"]}).status_code == 303
        assert (
            admin.post("/admin/people/erin/active", data={"csrf": token, "active": "false"}).status_code
            == 303
        )
        page = admin.get("/admin/people/erin").text
        assert "Erin E." in page and "+15550002222" in page and "auditor" in page and "deactivated" in page
        own = {"csrf": token, "email": "admin@example.edu", "roles": ["auditor"]}
        assert admin.post("/admin/people/admin/edit", data=own).status_code == 400  # no locking oneself out
        assert (
            admin.post("/admin/people/admin/active", data={"csrf": token, "active": "false"}).status_code
            == 400
        )
        found = admin.get("/admin/people", params={"q": "ERIN", "state": "inactive"}).text
        assert 'href="/admin/people/erin"' in found and "1–1 of 1 people" in found
    assert [r["actor"] for r in audit_of(ca, "person.added") if r["target"] == "person:erin"] == [
        "person:admin"
    ]
    updates = [r for r in audit_of(ca, "person.updated") if r["target"] == "person:erin"]
    assert {r["actor"] for r in updates} == {"person:admin"} and len(updates) == 2


def test_an_ra_officer_may_revoke_and_invite_but_not_change_people(ca: CaHome, site: str) -> None:
    with logged_in(site, "admin") as admin:
        token = csrf_of(admin, "/admin/people/rita")
        roles = {"csrf": token, "email": "rita@example.edu", "roles": ["ra-officer", "recovery-agent"]}
        assert admin.post("/admin/people/rita/edit", data=roles).status_code == 303
    with logged_in(site, "rita") as rita:
        token = csrf_of(rita, "/admin/people/bob")
        assert rita.get("/admin/").status_code == 200
        assert (
            rita.post("/admin/people/bob/active", data={"csrf": token, "active": "false"}).status_code == 403
        )
        assert rita.get("/admin/people/new").status_code == 403
        # The role lets her invite: on this plain-http site the answer is the https rule (Apple enrollment
        # needs it), not 403. Sending on an https site is the browser test's (test_admin_pages_in_browser).
        sent = rita.post("/admin/people/bob/invite", data={"csrf": token, "channel": "email"})
        assert sent.status_code == 422 and "https" in sent.text
    assert audit_of(ca, "invitation.created") == []


def test_a_certificate_is_found_by_its_openssl_serial_and_revoked_only_with_an_end_entity_reason(
    ca: CaHome, site: str
) -> None:
    ca.cli("smime", "issue", "bob", "--out", str(ca.home / "bob.p12"))
    serial = str(ca.cli_json("cert", "list", "--user", "bob")[0]["serial"])  # type: ignore[index]
    printed = format(int(serial, 16), "X")
    printed = printed.zfill(len(printed) + len(printed) % 2)
    with logged_in(site, "admin") as admin:
        found = admin.get("/admin/certificates", params={"serial": printed.lower()}).text
        assert f'href="/admin/certificates/{printed}"' in found and "1–1 of 1 certificates" in found
        bad = admin.get("/admin/certificates", params={"serial": "xyz"})
        assert bad.status_code == 200 and "Serial must be hexadecimal" in bad.text
        token = csrf_of(admin, f"/admin/certificates/{printed}")
        refused = admin.post(
            f"/admin/certificates/{printed}/revoke",
            data={"csrf": token, "reason": "certificateHold", "confirm": "yes"},
        )
        assert refused.status_code == 400 and "not allowed for end-entity certificates" in refused.text
        unconfirmed = admin.post(
            f"/admin/certificates/{printed}/revoke", data={"csrf": token, "reason": "keyCompromise"}
        )
        assert unconfirmed.status_code == 400
        revoked = admin.post(
            f"/admin/certificates/{printed}/revoke",
            data={"csrf": token, "reason": "keyCompromise", "confirm": "yes"},
        )
        assert revoked.status_code == 303
        page = admin.get(revoked.headers["location"]).text
        assert "was revoked" in page and "keyCompromise" in page
    [record] = audit_of(ca, "certificate.revoked")
    assert record["actor"] == "person:admin" and record["details"]["reason"] == "keyCompromise"  # type: ignore[index]


def test_lists_sort_and_page_with_links(ca: CaHome, site: str) -> None:
    with logged_in(site, "admin") as admin:
        page = admin.get("/admin/people", params={"sort": "email", "dir": "desc"}).text
        usernames = re.findall(r'<td data-label="Username"><a href="/admin/people/([a-z]+)"', page)
        assert usernames == sorted(usernames, reverse=True)
        assert 'aria-sort="descending"' in page and 'href="/admin/people?sort=email&amp;dir=asc"' in page
        audit = admin.get("/admin/audit", params={"per": "10"}).text
        assert 'rel="next"' in audit and "page 1 of" in audit and audit.count('<td data-label="#">') == 10
        second = admin.get("/admin/audit", params={"per": "10", "page": "2"}).text
        assert 'rel="prev"' in second and "page 2 of" in second and "11–20 of" in second
        assert admin.get("/admin/people", params={"page": "zero", "sort": "nonsense"}).status_code == 200


def test_audit_verification_runs_to_the_end_and_the_dashboard_shows_the_result(ca: CaHome, site: str) -> None:
    with logged_in(site, "admin") as admin:
        answer = admin.post("/admin/audit/verify", data={"csrf": csrf_of(admin, "/admin/audit")})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/audit?done=verified-ok"
        assert "Verified</span>" in admin.get("/admin/").text
    [record] = audit_of(ca, "audit.verified")
    assert record["actor"] == "person:admin" and record["details"]["ok"] is True  # type: ignore[index]


def test_a_long_verification_shows_progress_and_cannot_be_skipped_to_the_end(ca: CaHome) -> None:
    with (ca.home / "campusca.toml").open("a") as toml:
        toml.write("audit_verify_slice = 10\n")
    refresh = re.compile(
        r'http-equiv="refresh" content="0; url=(/admin/audit/verify\?after=(\d+)&amp;proof=[0-9a-f]+)"'
    )
    with serving(ca) as site, logged_in(site, "admin") as admin:
        answer = admin.post("/admin/audit/verify", data={"csrf": csrf_of(admin, "/admin/audit")})
        steps = []
        while answer.status_code == 200:
            found = refresh.search(answer.text)
            assert found is not None and "<progress" in answer.text
            steps.append(int(found.group(2)))
            answer = admin.get(found.group(1).replace("&amp;", "&"))
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/audit?done=verified-ok"
        assert steps[:2] == [10, 20] and len(steps) >= 2
        for forged in ({"after": "100000"}, {"after": "100000", "proof": "0" * 64}):
            assert admin.get("/admin/audit/verify", params=forged).status_code == 403
        with logged_in(site, "admin") as other:  # another session's link does not work either
            assert other.get(found.group(1).replace("&amp;", "&")).status_code == 403
    [record] = audit_of(ca, "audit.verified")
    assert record["details"]["records"] > steps[-1] and record["details"]["ok"] is True  # type: ignore[index,operator]


def test_escrow_policy_and_agents_are_set_from_the_page(ca: CaHome, site: str) -> None:
    with logged_in(site, "admin") as admin:
        token = csrf_of(admin, "/admin/escrow")
        scope = {"csrf": token, "scope": "department:Example University/Law"}
        assert admin.post("/admin/escrow/agents", data={**scope, "username": "rita"}).status_code == 303
        on = admin.post(
            "/admin/escrow/policy", data={**scope, "enabled": "on", "mode": "simple", "approvals": "1"}
        )
        assert on.status_code == 303
        quorum = {**scope, "enabled": "on", "mode": "quorum", "approvals": "1"}
        asked = admin.post("/admin/escrow/policy", data=quorum)
        assert asked.status_code == 200 and 'name="passphrase-rita"' in asked.text
        done = admin.post(
            "/admin/escrow/policy", data={**quorum, "passphrase-rita": "rita's long passphrase"}
        )
        assert done.status_code == 303
        assert "quorum mode" in admin.get("/admin/escrow").text
    records = audit_of(ca, "escrow.policy_set")
    assert {r["actor"] for r in records} == {"person:admin"} and len(records) == 2
    assert "rita's long passphrase" not in (ca.home / "serve.log").read_text()


def test_a_scep_challenge_is_shown_once_and_unknown_enrollments_are_not_found(ca: CaHome, site: str) -> None:
    with logged_in(site, "admin") as admin:
        token = csrf_of(admin, "/admin/scep")
        made = admin.post(
            "/admin/scep/challenges", data={"csrf": token, "username": "alice", "device_ref": "ipad-1"}
        )
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        secret = re.search(r'<code class="secret">([0-9a-f]{40})</code>', made.text)
        assert secret is not None
        listing = admin.get("/admin/scep").text
        assert "ipad-1" in listing and secret.group(1) not in listing
        assert admin.post("/admin/scep/enrollments/999/approve", data={"csrf": token}).status_code == 404
    [record] = audit_of(ca, "scep.challenge.created")
    assert record["actor"] == "person:admin" and secret.group(1) not in str(record)


def test_pending_scep_requests_are_counted_approved_and_rejected_from_the_page(
    ca_template: Path, tmp_path: Path
) -> None:
    with scep_server(ca_template, tmp_path, scep_approval_profiles=["server"]) as server:
        devices = [
            pkcs_req(server, challenge=server.challenge("bob", profile="server"), cn=name, dns=(name,))
            for name in ("vpn.example.edu", "gw.example.edu")
        ]
        for device in devices:
            assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.PENDING
        before = server.certificate_count()
        with logged_in(server.url, "admin") as admin:
            assert re.search(
                r"SCEP requests awaiting approval</dt><dd><a [^>]+>2<", admin.get("/admin/").text
            )
            page = admin.get("/admin/scep").text
            ids = re.findall(r'action="/admin/scep/enrollments/(\d+)/approve"', page)
            assert len(ids) == 2
            token = csrf_of(admin, "/admin/scep")
            approved = admin.post(f"/admin/scep/enrollments/{ids[0]}/approve", data={"csrf": token})
            assert approved.status_code == 303 and approved.headers["location"] == "/admin/scep?done=approved"
            rejected = admin.post(
                f"/admin/scep/enrollments/{ids[1]}/reject", data={"csrf": token, "reason": "unknown gateway"}
            )
            assert rejected.status_code == 303
            again = admin.post(f"/admin/scep/enrollments/{ids[0]}/approve", data={"csrf": token})
            assert again.status_code == 409 and "not pending" in again.text
            assert "No enrollment is waiting." in admin.get("/admin/scep").text
        assert server.certificate_count() == before + 1
        decisions = [
            r
            for r in server.ca.cli_json("audit", "list", "--limit", "200")
            if r["action"].startswith("scep.enrollment.")
        ]  # type: ignore[union-attr,index]
        assert {
            ("scep.enrollment.approved", "person:admin"),
            ("scep.enrollment.rejected", "person:admin"),
        } <= {(r["action"], r["actor"]) for r in decisions}


def test_a_lost_device_is_revoked_from_its_owners_page(ca: CaHome, authority: Authority) -> None:
    with authority.db.write() as session:
        alice = session.execute(select(Person).where(Person.username == "alice")).scalar_one()
        session.add(Device(udid="UDID-LOST", person_id=alice.id, state="enrolled", channel="sms"))
    with serving(ca) as site, logged_in(site, "admin") as admin:
        page = admin.get("/admin/people/alice").text
        assert 'action="/admin/people/alice/devices/UDID-LOST/revoke"' in page
        token = csrf_of(admin, "/admin/people/alice")
        form = {"csrf": token, "reason": "keyCompromise", "confirm": "yes"}
        assert (
            admin.post("/admin/people/bob/devices/UDID-LOST/revoke", data=form).status_code == 400
        )  # not bob's
        unconfirmed = {**form, "confirm": ""}
        assert admin.post("/admin/people/alice/devices/UDID-LOST/revoke", data=unconfirmed).status_code == 400
        revoked = admin.post("/admin/people/alice/devices/UDID-LOST/revoke", data=form)
        assert revoked.status_code == 303 and revoked.headers["location"].endswith("done=device-revoked")
        after = admin.get(revoked.headers["location"]).text
        assert '<span class="status">revoked</span>' in after and "UDID-LOST/revoke" not in after
    [record] = audit_of(ca, "device.revoked")
    assert record["actor"] == "person:admin" and record["details"]["reason"] == "keyCompromise"  # type: ignore[index]
