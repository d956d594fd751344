"""S/MIME, escrow, directory and recovery over the REST API of a real `campusca serve`."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography import x509

from campusca.config import load_settings
from campusca.pki.certificates import openssl_serial
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.authority import open_authority
from campusca.services.people.registry import add_person, set_password
from campusca.services.people.tokens import create_token
from campusca.services.smime.messages import decrypt, encrypt
from tests.integration.escrow.helpers import mail
from tests.support.ca import CaHome, serving

ORG = "Example University"
DEMO = "campusca-demo"


@dataclass(frozen=True)
class Api:
    ca: CaHome
    url: str
    admin: dict[str, str]
    auditor: dict[str, str]

    def post(self, path: str, body: object, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=60)


def login(username: str, password: str = DEMO) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def api(ca: CaHome) -> Iterator[Api]:
    authority = open_authority(load_settings(ca.home))
    with authority.db.write() as session:
        add_person(authority, session, username="quentin", email="quentin@example.edu",
                   dept_name="Computing Services", roles=("recovery-agent",), actor="test")  # fmt: skip
        set_password(authority, session, "quentin", DEMO, actor="test")
        admin = create_token(authority, session, name="admin", role="admin", actor="test")
        auditor = create_token(authority, session, name="auditor", role="auditor", actor="test")
    authority.db.dispose()
    with serving(ca) as url:
        yield Api(ca, url, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {auditor}"})


def _escrow_on(api: Api) -> None:
    for agent in ("rita", "quentin"):
        added = api.post("/api/v1/escrow/agents", {"username": agent, "organisation": ORG}, api.admin)
        assert added.status_code == 201, added.text
    policy = httpx.put(
        f"{api.url}/api/v1/escrow/policy", json={"organisation": ORG, "enabled": True}, headers=api.admin
    )
    assert policy.status_code == 200 and policy.json()["key"]["mode"] == "simple"


def test_people_issue_their_own_pair_and_anyone_finds_it_in_the_directory(api: Api) -> None:
    _escrow_on(api)
    issued = api.post("/api/v1/smime/certificates", {"username": "bob"}, login("bob"))
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["escrowed"] is True and body["password"] and base64.b64decode(body["pkcs12"])
    found = httpx.get(f"{api.url}/directory/certificates", params={"email": "bob@example.edu"}).json()
    by_purpose = {c["purpose"]: c for c in found["certificates"]}
    assert by_purpose["encryption"]["serial"] == body["encryption"]["serial"]
    der = httpx.get(by_purpose["encryption"]["der_url"]).content
    assert x509.load_der_x509_certificate(der).serial_number == int(body["encryption"]["serial"], 16)
    pem = httpx.get(by_purpose["signing"]["pem_url"])
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN CERTIFICATE-----")
    assert httpx.get(f"{api.url}/directory/certificates", params={"email": "nobody@example.edu"}).json() == {
        "email": "nobody@example.edu",
        "certificates": [],
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "status"),
    [
        pytest.param(
            "post", "/api/v1/smime/certificates", {"username": "mary"}, "bob", 403, id="fail-others-pair"
        ),
        pytest.param(
            "post", "/api/v1/smime/certificates", {"username": "bob"}, "bob:wrong", 401, id="fail-password"
        ),
        pytest.param(
            "post", "/api/v1/smime/certificates", {"username": "bob"}, None, 401, id="fail-anonymous"
        ),
        pytest.param(
            "put",
            "/api/v1/escrow/policy",
            {"organisation": ORG, "enabled": True},
            "auditor",
            403,
            id="fail-role",
        ),
        pytest.param(
            "put",
            "/api/v1/escrow/policy",
            {"organisation": ORG, "enabled": True, "mode": "x"},
            "admin",
            400,
            id="fail-mode",
        ),  # fmt: skip
        pytest.param("get", "/directory/certificates/zz.pem", None, None, 400, id="fail-serial"),
        pytest.param("get", "/directory/certificates/1234.der", None, None, 404, id="fail-unknown-serial"),
        pytest.param(
            "post",
            "/api/v1/recovery/requests",
            {"username": "alice", "reason": "lost-key"},
            "alice",
            409,
            id="fail-escrow-off",
        ),
        pytest.param("get", "/api/v1/recovery/requests", None, "bob", 403, id="fail-nosy-colleague"),
    ],
)
def test_refusals_are_problem_documents(
    api: Api, method: str, path: str, body: object, who: str | None, status: int
) -> None:
    headers = {"admin": api.admin, "auditor": api.auditor}.get(who or "", {})
    if who and who not in ("admin", "auditor"):
        name, _, password = who.partition(":")
        headers = login(name, password or DEMO)
    response = httpx.request(method, f"{api.url}{path}", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "message"}


def test_help_desk_recovers_marys_key_with_another_agents_approval(api: Api) -> None:
    _escrow_on(api)
    assert api.post(
        "/api/v1/smime/certificates",
        {"username": "mary", "password": "mary picks a long passphrase"},
        login("mary"),
    ).is_success
    assert api.post("/api/v1/smime/certificates", {"username": "bob"}, login("bob")).is_success
    authority = open_authority(load_settings(api.ca.home))
    try:
        archived, _ = encrypt(authority, mail())
    finally:
        authority.db.dispose()
    requested = api.post(
        "/api/v1/recovery/requests", {"username": "mary", "reason": "lost-key"}, login("rita")
    )
    assert requested.status_code == 201, requested.text
    rid = requested.json()["id"]
    own = api.post(f"/api/v1/recovery/requests/{rid}/approve", {}, login("rita"))
    assert own.status_code == 403 and "own request" in own.json()["message"]
    early = api.post(
        f"/api/v1/recovery/requests/{rid}/release",
        {"password": "recovered keys travel safely"},
        login("rita"),
    )
    assert early.status_code == 422
    approved = api.post(f"/api/v1/recovery/requests/{rid}/approve", {}, login("quentin"))
    assert approved.json()["status"] == "approved"
    stranger = api.post(
        f"/api/v1/recovery/requests/{rid}/release", {"password": "recovered keys travel safely"}, login("bob")
    )
    assert stranger.status_code == 403
    released = api.post(
        f"/api/v1/recovery/requests/{rid}/release",
        {"password": "recovered keys travel safely", "reissue_signing": True},
        login("rita"),
    )
    assert released.status_code == 200, released.text
    p12 = base64.b64decode(released.json()["pkcs12"])
    assert b"the minutes are attached" in decrypt(
        archived, pkcs12=p12, password="recovered keys travel safely"
    )
    # Mary lost her signing key too: the release replaced that certificate, and its new key is in the file.
    new_signing = released.json()["new_signing_certificate"]
    assert new_signing and len(released.json()["revoked_signing"]) == 1
    assert released.json()["signing_still_valid"] == []
    contents = load_pkcs12(p12, b"recovered keys travel safely")
    serials = {
        openssl_serial(c.serial_number) for c in (contents.certificate, *(c for _, c in contents.extra))
    }
    assert new_signing in serials
    again = api.post(
        f"/api/v1/recovery/requests/{rid}/release",
        {"password": "recovered keys travel safely"},
        login("rita"),
    )
    assert again.status_code == 409
    listed = httpx.get(f"{api.url}/api/v1/recovery/requests", headers=api.auditor).json()
    assert listed[0]["status"] == "released" and listed[0]["approvals"] == ["quentin"]


def test_a_person_reissues_their_own_signing_certificate(api: Api) -> None:
    assert api.post("/api/v1/smime/certificates", {"username": "bob"}, login("bob")).is_success
    other = api.post(
        "/api/v1/smime/signing-certificates",
        {"username": "mary", "password": "new signing key file"},
        login("bob"),
    )
    assert other.status_code == 403
    reissued = api.post(
        "/api/v1/smime/signing-certificates",
        {"username": "bob", "password": "new signing key file"},
        login("bob"),
    )
    assert reissued.status_code == 201, reissued.text
    body = reissued.json()
    assert len(body["revoked"]) == 1 and body["new_signing_certificate"] not in body["revoked"]
    key = load_pkcs12(base64.b64decode(body["pkcs12"]), b"new signing key file").certificate
    assert openssl_serial(key.serial_number) == body["new_signing_certificate"]


def test_legal_officer_gets_plaintext_for_a_case(api: Api) -> None:
    _escrow_on(api)
    for name in ("mary", "bob"):
        assert api.post("/api/v1/smime/certificates", {"username": name}, login(name)).is_success
    authority = open_authority(load_settings(api.ca.home))
    try:
        archived, _ = encrypt(authority, mail())
    finally:
        authority.db.dispose()
    body = {"username": "mary", "reason": "legal", "case": "SUBPOENA-9"}
    rid = api.post("/api/v1/recovery/requests", body, login("larry")).json()["id"]
    api.post(f"/api/v1/recovery/requests/{rid}/approve", {}, login("rita"))
    bad = api.post(f"/api/v1/recovery/requests/{rid}/release", {"messages": ["not base64!"]}, login("larry"))
    assert bad.status_code == 400 and bad.json()["message"] == "messages must be base64-encoded"
    messages = {"messages": [base64.b64encode(archived).decode()]}
    released = api.post(f"/api/v1/recovery/requests/{rid}/release", messages, login("larry"))
    assert released.status_code == 200, released.text
    assert b"the minutes are attached" in base64.b64decode(released.json()["plaintexts"][0])
    assert released.json()["revoked"] and released.json()["new_certificate"]
