"""The login pages over plain HTTP against a real `campusca serve`: CSRF, throttling, cookie flags, `next`."""

from __future__ import annotations

import re

import httpx

from tests.support.ca import CaHome, serving

DEMO = "campusca-demo"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _form_csrf(client: httpx.Client, path: str = "/login") -> str:
    found = _CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def _login_records(ca: CaHome) -> list[object]:
    records = ca.cli_json("audit", "list", "--limit", "1000")
    return [r for r in records if str(r["action"]).startswith("login")]  # type: ignore[attr-defined,index]


def test_a_login_without_the_csrf_pair_is_refused_and_checks_no_password(ca: CaHome) -> None:
    with serving(ca) as url, httpx.Client(base_url=url) as client:
        _form_csrf(client)  # the cookie half is set, the form half is missing or forged
        for form in (
            {"username": "bob", "password": DEMO},
            {"username": "bob", "password": DEMO, "csrf": "x"},
        ):
            refused = client.post("/login", data=form)
            assert refused.status_code == 403
            assert "campusca_session" not in refused.headers.get("set-cookie", "")
        assert client.get("/my/").status_code == 303
    assert _login_records(ca) == []  # nothing was checked, nothing audited


def test_a_throttled_login_answers_429_with_retry_after_on_a_page(ca: CaHome) -> None:
    with (ca.home / "campusca.toml").open("a") as toml:
        toml.write("login_free_failures = 1\nlogin_backoff_seconds = 600\n")
    with serving(ca) as url, httpx.Client(base_url=url) as client:
        wrong = {"username": "bob", "password": "not-it"}
        assert client.post("/login", data={**wrong, "csrf": _form_csrf(client)}).status_code == 403
        throttled = client.post("/login", data={**wrong, "password": DEMO, "csrf": _form_csrf(client)})
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "text/html" in throttled.headers["content-type"] and "try again in" in throttled.text


def test_the_session_cookie_is_secure_when_the_public_url_is_https_and_next_stays_on_site(ca: CaHome) -> None:
    (ca.home / "campusca.toml").write_text('public_url = "https://ca.example.edu"\n')
    with serving(ca) as url, httpx.Client(base_url=url) as client:
        csrf = _form_csrf(client, "/login?next=https://evil.example/")
        client.cookies.set("campusca_web_login_csrf", csrf)  # a Secure cookie is not sent back over http
        answer = client.post(
            "/login",
            data={"username": "bob", "password": DEMO, "csrf": csrf, "next": "https://evil.example/"},
        )
    assert answer.status_code == 303 and answer.headers["location"] == "/my/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("campusca_session="))
    assert {"HttpOnly", "Secure", "SameSite=lax"} <= {part.strip() for part in cookie.split(";")}
