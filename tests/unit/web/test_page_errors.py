"""Errors on page paths answer an HTML page (page_error.html), never the REST problem JSON.

Busy (the database's write lock is saturated) is the one planned 5xx: a 503 page with Retry-After,
the back-pressure answer the REST API gives too. A bug is still a 500, but a page.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from campusca.errors import Busy
from campusca.services.authority import Authority
from campusca.services.errors import Conflict
from campusca.web.app import create_app


def _client(authority: Authority) -> TestClient:
    app = create_app(authority)

    def busy() -> None:
        raise Busy("the database is busy; try again shortly")

    def conflict() -> None:
        raise Conflict("recovery request 1 is released; a request can be released once")

    def bug() -> None:
        raise RuntimeError("a bug")

    for prefix in ("/my", "/api/v1"):
        app.add_api_route(f"{prefix}/busy-test", busy)
        app.add_api_route(f"{prefix}/conflict-test", conflict)
        app.add_api_route(f"{prefix}/bug-test", bug)
    return TestClient(app, raise_server_exceptions=False)


def test_busy_on_a_page_is_a_503_page_with_retry_after(authority: Authority) -> None:
    client = _client(authority)
    page = client.get("/my/busy-test")
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"
    assert "text/html" in page.headers["content-type"] and "Please wait" in page.text
    api = client.get("/api/v1/busy-test")
    assert api.status_code == 503 and api.json()["code"] == "busy"


def test_domain_errors_and_bugs_on_a_page_are_html_with_the_status_of_the_table(authority: Authority) -> None:
    client = _client(authority)
    conflict = client.get("/my/conflict-test")
    assert conflict.status_code == 409 and "a request can be released once." in conflict.text
    assert conflict.headers["Content-Security-Policy"].startswith("default-src 'none'")
    bug = client.get("/my/bug-test")
    assert bug.status_code == 500 and "text/html" in bug.headers["content-type"] and "request id" in bug.text
    assert client.get("/api/v1/conflict-test").json()["code"] == "conflict"
