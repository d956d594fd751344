"""Scripts drive campusca over its REST API on a real `campusca serve` process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.ca import CaHome, make_csr, serving


@pytest.fixture
def api(ca: CaHome) -> Iterator[tuple[CaHome, str]]:
    with serving(ca) as url:
        yield ca, url


def _token(ca: CaHome, role: str) -> dict[str, str]:
    value = (
        ca.cli("token", "create", "--role", role, "--name", f"{role}-test").stdout.strip().splitlines()[-1]
    )
    return {"Authorization": f"Bearer {value}"}


def test_ra_officer_issues_lists_and_revokes(api: tuple[CaHome, str]) -> None:
    ca, url = api
    officer = _token(ca, "ra-officer")
    _, csr = make_csr(cn="vpn.example.edu", dns=("vpn.example.edu",))
    issued = httpx.post(
        f"{url}/api/v1/certificates", json={"profile": "server", "csr": csr.decode()}, headers=officer
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["status"] == "valid" and body["pem"].startswith("-----BEGIN CERTIFICATE-----")
    serial = body["serial"]
    page = httpx.get(
        f"{url}/api/v1/certificates", params={"profile": "server", "limit": 1}, headers=officer
    ).json()
    assert page["total"] == 1 and page["items"][0]["serial"] == serial
    everything = httpx.get(
        f"{url}/api/v1/certificates", params={"limit": 1, "offset": 1}, headers=officer
    ).json()
    assert everything["total"] >= 3 and len(everything["items"]) == 1
    revoked = httpx.post(
        f"{url}/api/v1/certificates/{serial}/revoke", json={"reason": "superseded"}, headers=officer
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = httpx.post(
        f"{url}/api/v1/certificates/{serial}/revoke", json={"reason": "superseded"}, headers=officer
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_tokens_and_roles_are_enforced(api: tuple[CaHome, str]) -> None:
    ca, url = api
    _, csr = make_csr()
    request = {"profile": "device", "csr": csr.decode(), "username": "alice"}
    missing = httpx.post(f"{url}/api/v1/certificates", json=request)
    assert missing.status_code == 401 and missing.json()["code"] == "unauthenticated"
    wrong = httpx.post(
        f"{url}/api/v1/certificates", json=request, headers={"Authorization": "Bearer cca_wrong"}
    )
    assert wrong.status_code == 401
    auditor = _token(ca, "auditor")
    forbidden = httpx.post(f"{url}/api/v1/certificates", json=request, headers=auditor)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "not_authorized"
    assert httpx.get(f"{url}/api/v1/certificates", headers=auditor).status_code == 200
    assert ca.cli_json("cert", "list", "--profile", "device") == []


def test_bad_input_gets_clear_errors_and_the_server_keeps_serving(api: tuple[CaHome, str]) -> None:
    ca, url = api
    admin = _token(ca, "admin")
    cases = [
        ({"profile": "device", "csr": "garbage"}, 400, "invalid_input"),
        ({"profile": "nonsense", "csr": make_csr()[1].decode()}, 400, "invalid_input"),
        ({"profile": "device"}, 422, "invalid_input"),
        ({"profile": "device", "csr": make_csr()[1].decode(), "username": "nobody"}, 404, "not_found"),
    ]
    for body, status, code in cases:
        response = httpx.post(f"{url}/api/v1/certificates", json=body, headers=admin)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
        assert response.json()["message"]
    not_json = httpx.post(
        f"{url}/api/v1/certificates",
        content=b"{not json",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    unknown = httpx.get(f"{url}/api/v1/certificates/abcdef", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    huge = httpx.post(f"{url}/api/v1/certificates", content=b"x" * (3 * 1024 * 1024), headers=admin)
    assert huge.status_code == 413
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    assert ca.cli_json("cert", "list", "--profile", "device") == []


def test_people_and_departments_crud(api: tuple[CaHome, str]) -> None:
    ca, url = api
    admin = _token(ca, "admin")
    assert (
        httpx.post(
            f"{url}/api/v1/departments",
            json={"name": "History", "organisation": "Example University"},
            headers=admin,
        ).status_code
        == 201
    )
    created = httpx.post(
        f"{url}/api/v1/people",
        json={
            "username": "hank",
            "email": "hank@example.edu",
            "department": "History",
            "phone": "+15551234567",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    patched = httpx.patch(
        f"{url}/api/v1/people/hank", json={"name": "Hank Hill", "roles": ["helpdesk"]}, headers=admin
    )
    assert patched.json()["name"] == "Hank Hill" and patched.json()["roles"] == ["helpdesk"]
    gone = httpx.delete(f"{url}/api/v1/people/hank", headers=admin)
    assert gone.json()["active"] is False
    people = httpx.get(f"{url}/api/v1/people", params={"department": "History"}, headers=admin).json()
    assert [p["username"] for p in people["items"]] == ["hank"]
    dup = httpx.post(
        f"{url}/api/v1/people",
        json={"username": "hank", "email": "h@example.edu", "department": "History"},
        headers=admin,
    )
    assert dup.status_code == 409


def test_openapi_health_and_metrics(api: tuple[CaHome, str]) -> None:
    ca, url = api
    spec = httpx.get(f"{url}/api/v1/openapi.json").json()
    assert "/api/v1/certificates" in spec["paths"] and "/api/v1/people" in spec["paths"]
    httpx.get(f"{url}/crl/issuing.crl")
    metrics = httpx.get(f"{url}/metrics").text
    assert "campusca_http_requests_total" in metrics and 'route="/crl/{slug}.crl"' in metrics


def test_landing_page_points_a_newcomer_at_everything(api: tuple[CaHome, str]) -> None:
    _, url = api
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for link in (
        "/ca/issuing.crt",
        "/crl/root.crl",
        "/api/v1/docs",
        "/directory/certificates",
        "Example University",
    ):
        assert link in page.text
