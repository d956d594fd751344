"""The short paths (REST issuance, SCEP PKIOperation by POST) answer exactly as the FastAPI routes do, and only their own requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from campusca.services.authority import Authority
from campusca.web._short_path import write_threads
from campusca.web.api.issue_endpoint import IssueEndpoint
from campusca.web.app import create_app, create_fastapi_app
from campusca.web.scep import ScepPostEndpoint
from tests.support.ca import CaHome, make_csr


def _fastapi_only(authority: Authority) -> FastAPI:
    """The app as it was before the short path: FastAPI answers every issuance."""
    app = create_fastapi_app(authority)
    app.user_middleware = [m for m in app.user_middleware if m.cls not in (IssueEndpoint, ScepPostEndpoint)]
    return app


@pytest.fixture
def clients(ca: CaHome, authority: Authority) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    token = ca.cli("token", "create", "--role", "ra-officer", "--name", "t").stdout.strip().splitlines()[-1]
    auditor = ca.cli("token", "create", "--role", "auditor", "--name", "a").stdout.strip().splitlines()[-1]
    tokens = {"officer": f"Bearer {token}", "auditor": f"Bearer {auditor}"}
    # No `with`: the scheduler (lifespan) is not needed here.
    yield TestClient(create_app(authority)), TestClient(_fastapi_only(authority)), tokens


def _shape(answer: dict[str, object]) -> dict[str, object]:
    """What must be equal between two issuances of the same request (serials and dates differ)."""
    varying = {"serial", "not_before", "not_after", "fingerprint_sha256", "pem"}
    return {key: (type(value).__name__ if key in varying else value) for key, value in answer.items()}


def test_an_issuance_is_answered_with_fastapis_body_status_and_headers(
    clients: tuple[TestClient, TestClient, dict[str, str]],
) -> None:
    short, full, tokens = clients
    _, csr = make_csr(cn="parity-device")
    request = {"profile": "device", "csr": csr.decode(), "username": "alice"}
    ours = short.post("/api/v1/certificates", json=request, headers={"Authorization": tokens["officer"]})
    theirs = full.post("/api/v1/certificates", json=request, headers={"Authorization": tokens["officer"]})
    assert ours.status_code == theirs.status_code == 201
    assert list(ours.json()) == list(theirs.json())  # same keys, same order
    assert _shape(ours.json()) == _shape(theirs.json())
    assert ours.headers["content-type"] == theirs.headers["content-type"] == "application/json"
    assert ours.json()["pem"].startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize(
    ("case", "request_body", "authorization"),
    [
        ("no token", {"profile": "device", "username": "alice"}, None),
        ("unknown token", {"profile": "device", "username": "alice"}, "Bearer not-a-token"),
        ("basic scheme", {"profile": "device", "username": "alice"}, "Basic YWxpY2U6eA=="),
        ("wrong role", {"profile": "device", "username": "alice"}, "auditor"),
        ("unknown profile", {"profile": "no-such-profile", "username": "alice"}, "officer"),
        ("unknown person", {"profile": "device", "username": "nobody"}, "officer"),
        ("not a CSR", {"profile": "device", "username": "alice", "csr": "garbage"}, "officer"),
        ("missing csr field", {"profile": "device"}, "officer"),
        ("csr not a string", {"profile": "device", "csr": 42}, "officer"),
        ("username not a string", {"profile": "device", "username": ["alice"]}, "officer"),
        ("not an object", ["device"], "officer"),
    ],
)
def test_refusals_are_the_same_as_fastapis(
    clients: tuple[TestClient, TestClient, dict[str, str]],
    case: str,
    request_body: object,
    authorization: str | None,
) -> None:
    short, full, tokens = clients
    if isinstance(request_body, dict) and "csr" not in request_body and case != "missing csr field":
        request_body = {**request_body, "csr": make_csr()[1].decode()}
    headers = {"Authorization": tokens.get(authorization or "", authorization or "")} if authorization else {}
    ours = short.post("/api/v1/certificates", json=request_body, headers=headers)
    theirs = full.post("/api/v1/certificates", json=request_body, headers=headers)
    assert ours.status_code == theirs.status_code and ours.status_code >= 400, case
    assert ours.json() == theirs.json(), case
    assert ours.headers.get("www-authenticate") == theirs.headers.get("www-authenticate"), case


def test_only_well_formed_issuances_take_the_short_path(authority: Authority) -> None:
    passed_on: list[bytes] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        passed_on.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = TestClient(IssueEndpoint(behind, authority, write_threads(2)))
    assert (
        client.post(
            "/api/v1/certificates", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 299
    )
    assert (
        client.post(
            "/api/v1/certificates",
            content=b'{"profile": "device", "csr": "x"}',
            headers={"content-type": "text/plain"},
        ).status_code
        == 299
    )
    assert client.get("/api/v1/certificates").status_code == 299
    assert passed_on == [b"{not json", b'{"profile": "device", "csr": "x"}', b""]  # bodies passed on intact
    answered = client.post("/api/v1/certificates", json={"profile": "device", "csr": "x"})
    assert answered.status_code == 401 and len(passed_on) == 3  # answered here, not passed on


def test_scep_pkioperation_by_post_is_answered_as_the_route_does(
    clients: tuple[TestClient, TestClient, dict[str, str]],
) -> None:
    short, full, _ = clients
    for body in (b"\x30\x03\x02\x01\x01", b"not DER at all"):  # undecodable: HTTP 400, text/plain
        ours = short.post("/scep?operation=PKIOperation", content=body)
        theirs = full.post("/scep?operation=PKIOperation", content=body)
        assert ours.status_code == theirs.status_code == 400
        assert ours.text == theirs.text and ours.headers["content-type"] == theirs.headers["content-type"]
    empty = short.post("/scep?operation=PKIOperation", content=b"")
    assert empty.status_code == 400 and "needs the pkiMessage" in empty.text


def test_only_scep_pkioperation_posts_with_a_body_take_the_short_path(authority: Authority) -> None:
    passed_on: list[str] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        passed_on.append(f"{scope['method']} {scope['path']}?{scope['query_string'].decode()}")
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = TestClient(ScepPostEndpoint(behind, authority, write_threads(2)))
    assert client.post("/scep?operation=GetCACert", content=b"x").status_code == 299
    assert client.post("/scep?operation=PKIOperation", content=b"").status_code == 299
    assert client.get("/scep?operation=PKIOperation&message=x").status_code == 299
    assert client.post("/scep/other?operation=PKIOperation", content=b"x").status_code == 299
    assert len(passed_on) == 4
    answered = client.post("/scep?operation=pkioperation", content=b"not DER")
    assert answered.status_code == 400 and len(passed_on) == 4  # answered here, not passed on
