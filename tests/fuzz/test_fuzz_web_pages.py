"""The web pages (/login, /logout, /my/..., /agent/, /admin/): random fields, cookies, `next` values and serials never answer 5xx."""

from __future__ import annotations

import re
import string
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.site import FuzzSite, fuzz_settings

pytestmark = pytest.mark.fuzz

COOKIE_CHARACTERS = sorted(frozenset(string.printable) - frozenset(string.whitespace) - frozenset('",;\\'))
COOKIE = st.text(alphabet=COOKIE_CHARACTERS, max_size=80)
FIELDS = st.text(max_size=300) | st.sampled_from(["bob", "admin", "campusca-demo", "", "/my/", "//x.example"])
PAGES = ["/my/", "/admin/", "/my/certificates/{}.pem", "/login?next={}", "/"]
PAGES += ["/my/smime", "/my/devices?sent={}", "/my/devices/{}/lost", "/my/recovery", "/agent/recovery?id={}"]
PAGES += ["/my/devices/{}/smime-profile"]
FORMS = [
    "/my/smime",
    "/my/smime/strength",
    "/my/devices/invite",
    "/my/devices/{}/lost",
    "/my/devices/{}/smime-profile",
    "/my/recovery",
    "/my/recovery/{}/collect",
]
FORMS += ["/agent/recovery", "/agent/recovery/{}/approve", "/agent/recovery/{}/release"]


@st.composite
def web_requests(draw: st.DrawFn, session: str) -> tuple[str, str, dict[str, object]]:
    cookies = {"campusca_session": draw(st.just(session) | COOKIE)} if draw(st.booleans()) else {}
    if draw(st.booleans()):
        cookies["campusca_web_login_csrf"] = draw(COOKIE)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    kind = draw(st.sampled_from(["page", "login", "logout", "form"]))
    if kind == "page":
        path = draw(st.sampled_from(PAGES)).format(quote(draw(st.text(max_size=60)), safe=""))
        return "GET", path, {"headers": headers}
    form = {"csrf": draw(FIELDS)}
    if kind == "login":
        form |= {"username": draw(FIELDS), "password": draw(FIELDS), "next": draw(FIELDS)}
    if kind == "form":
        path = draw(st.sampled_from(FORMS)).format(quote(draw(st.text(max_size=20)), safe=""))
        fields = {"password": draw(FIELDS), "repeat": draw(FIELDS), "channel": draw(FIELDS)}
        return "POST", path, {"data": form | fields, "headers": headers}
    return "POST", f"/{kind}", {"data": form, "headers": headers}


def _session_of_bob(site: FuzzSite) -> str:
    login = site.client.get(f"{site.url}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    site.client.post(
        f"{site.url}/login", data={"username": "bob", "password": "campusca-demo", "csrf": csrf.group(1)}
    )
    return site.client.cookies["campusca_session"]


def test_web_pages_never_answer_5xx(fuzz_site: FuzzSite) -> None:
    session = _session_of_bob(fuzz_site)

    @given(request=web_requests(session))
    @fuzz_settings(2)
    def send(request: tuple[str, str, dict[str, object]]) -> None:
        method, path, options = request
        fuzz_site.client.cookies.clear()  # only the cookies drawn here are sent
        fuzz_site.send("web pages", method, path, **options)

    send()
    fuzz_site.assert_target_clean("web pages")
