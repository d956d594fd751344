"""The people's and agents' forms over plain HTTP against a real `campusca serve`: CSRF, HTML errors.

Every state-changing form refuses a POST without its session's CSRF token (403) before anything runs,
so the audit trail (which every change writes) does not move; page paths answer HTML, never JSON.
"""

from __future__ import annotations

import re

import httpx

from campusca.config import load_settings
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services import audit, smime
from campusca.services.authority import open_authority
from campusca.services.people.registry import add_person, set_password
from tests.support.ca import CaHome, serving

DEMO = "campusca-demo"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
STRONG = "correct horse battery staple"
ORG = "Example University"
PEOPLE_FORMS = {
    "/my/smime": {"password": STRONG, "repeat": STRONG},
    "/my/smime/strength": {"password": STRONG},
    "/my/recovery": {},
    "/my/recovery/1/collect": {"password": STRONG, "repeat": STRONG},
    "/my/recovery/1/withdraw": {},
    "/my/devices/invite": {"channel": "email"},
    "/my/devices/1/lost": {},
    "/my/devices/1/smime-profile": {},
}
AGENT_FORMS = {
    "/agent/recovery": {"username": "mary", "case": "case 7"},
    "/agent/recovery/1/approve": {"passphrase": "whatever it is"},
    "/agent/recovery/1/reject": {"note": "no"},
    "/agent/recovery/1/release": {"password": STRONG},
    "/agent/recovery/1/close": {},
}


def _log_in(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    found = _CSRF.search(client.get("/login").text)
    assert found is not None
    answer = client.post("/login", data={"username": username, "password": DEMO, "csrf": found.group(1)})
    assert answer.status_code == 303
    return client


def _audit_length(ca: CaHome) -> int:
    authority = open_authority(load_settings(ca.home))
    try:
        return len(audit.recent_records(authority, limit=10_000))
    finally:
        authority.db.dispose()


def test_every_form_without_its_csrf_token_is_refused_and_changes_nothing(ca: CaHome) -> None:
    with serving(ca) as url:
        bob, larry = _log_in(url, "bob"), _log_in(url, "larry")
        before = _audit_length(ca)
        for client, forms in ((bob, PEOPLE_FORMS), (larry, AGENT_FORMS)):
            for path, form in forms.items():
                for token in ({}, {"csrf": "forged"}):
                    refused = client.post(path, data={**form, **token})
                    assert refused.status_code == 403, (path, refused.text[:200])
                    assert "text/html" in refused.headers["content-type"]
                    assert "did not come from this site" in refused.text
        assert _audit_length(ca) == before


ERRORS = {
    "/my/nothing-here": 404,
    "/agent/nothing-here": 404,
    "/admin/nothing-here": 404,
    "/login/nothing-here": 404,
    "/my/devices/not-a-number/lost": 422,
    "/my/devices/999/lost": 404,
    "/my/devices/999/smime-profile": 404,
}


def test_page_paths_answer_errors_as_html_pages(ca: CaHome) -> None:
    with serving(ca) as url:
        bob = _log_in(url, "bob")
        for path, status in ERRORS.items():
            answer = bob.get(path)
            assert answer.status_code == status, path
            assert "text/html" in answer.headers["content-type"] and "<h1>" in answer.text
            assert "Log out bob" in answer.text  # the error page knows who is logged in
        assert bob.put("/my/smime").status_code == 405
        too_long = bob.post("/login", data={"username": "x" * 300, "password": "p", "csrf": "c"})
        assert too_long.status_code == 422 and "text/html" in too_long.headers["content-type"]
        api = httpx.get(f"{url}/api/v1/nothing-here")
        assert api.status_code == 404 and api.json()["code"] == "not_found"  # REST keeps its JSON


def test_the_agent_queue_is_for_recovery_agents_and_legal_officers(ca: CaHome) -> None:
    with serving(ca) as url:
        assert httpx.get(f"{url}/agent/recovery").status_code == 303  # nobody logged in: to /login
        assert _log_in(url, "bob").get("/agent/recovery").status_code == 403
        rita = _log_in(url, "rita").get("/agent/recovery")
        assert rita.status_code == 200 and "Nothing is waiting for you." in rita.text
        larry = _log_in(url, "larry").get("/agent/recovery")
        assert larry.status_code == 200 and "Open a legal case" in larry.text


def _form_token(client: httpx.Client, path: str) -> str:
    found = _CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def test_a_help_desk_agent_releases_the_lost_key_they_asked_for_once_after_another_agent_approved(
    ca: CaHome,
) -> None:
    authority = open_authority(load_settings(ca.home))
    try:
        with authority.db.write() as session:
            add_person(authority, session, username="quentin", email="quentin@example.edu",
                       dept_name="Computing Services", roles=("recovery-agent",), actor="test")  # fmt: skip
            set_password(authority, session, "quentin", DEMO, actor="test")
        for agent in ("rita", "quentin"):
            smime.add_escrow_agent(authority, username=agent, org_name=ORG, actor="test")
        smime.set_escrow_policy(authority, org_name=ORG, enabled=True, mode="simple", actor="test")
        smime.issue_smime_bundle(authority, username="mary", actor="test", password=STRONG)
        asked = smime.request_recovery(
            authority, username="mary", reason="lost-key", actor="person:rita", requester="rita"
        )
    finally:
        authority.db.dispose()
    with serving(ca) as url:
        rita, quentin = _log_in(url, "rita"), _log_in(url, "quentin")
        page = rita.get("/agent/recovery").text
        assert f"Approve request {asked.id}" not in page  # never one's own request
        token = _form_token(rita, "/agent/recovery")
        own = rita.post(f"/agent/recovery/{asked.id}/approve", data={"csrf": token})
        assert own.status_code == 403 and "cannot approve their own request" in own.text
        approved = quentin.post(
            f"/agent/recovery/{asked.id}/approve", data={"csrf": _form_token(quentin, "/agent/recovery")}
        )
        assert approved.status_code == 303
        released = rita.post(f"/agent/recovery/{asked.id}/release", data={"csrf": token, "password": STRONG})
        assert released.status_code == 200 and released.headers["content-type"] == "application/x-pkcs12"
        assert load_pkcs12(released.content, STRONG.encode()).certificate is not None
        again = rita.post(f"/agent/recovery/{asked.id}/release", data={"csrf": token, "password": STRONG})
        assert again.status_code == 409 and "released once" in again.text
