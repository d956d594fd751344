"""The administrators' pages and the HTML directory: random query parameters, path segments and forms
(sent by a logged-in administrator, with and without the CSRF token) never answer 5xx."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.site import FuzzSite, fuzz_settings

pytestmark = pytest.mark.fuzz

TEXT = st.text(max_size=80) | st.sampled_from(
    ["", "0", "-1", "99999999999999999999", "bob", "%", "_", "desc"]
)
LISTS = {
    "/admin/people": ("q", "role", "state", "sort", "dir", "page", "per"),
    "/admin/certificates": ("serial", "q", "profile", "status", "sort", "dir", "page", "per"),
    "/admin/audit": ("actor", "action", "target", "sort", "dir", "page", "per"),
    "/admin/audit/verify": ("after",),
    "/directory/certificates": ("email",),
}
ONE_OF = ["/admin/people/{}", "/admin/certificates/{}"]
FORMS = [
    "/admin/people/new",
    "/admin/people/{}/edit",
    "/admin/people/{}/invite",
    "/admin/certificates/{}/revoke",
    "/admin/scep/challenges",
    "/admin/scep/enrollments/{}/reject",
    "/admin/escrow/policy",
    "/admin/escrow/agents",
]
FORM_FIELDS = (
    "username",
    "email",
    "phone",
    "roles",
    "channel",
    "reason",
    "scope",
    "enabled",
    "mode",
    "approvals",
)


@st.composite
def admin_requests(draw: st.DrawFn, csrf: str) -> tuple[str, str, dict[str, object]]:
    headers = {"Accept": "text/html"}
    kind = draw(st.sampled_from(["list", "one", "form"]))
    if kind == "list":
        path = draw(st.sampled_from(sorted(LISTS)))
        params = {name: draw(TEXT) for name in LISTS[path] if draw(st.booleans())}
        return "GET", path, {"params": params, "headers": headers}
    segment = quote(draw(TEXT), safe="") or "x"
    if kind == "one":
        return "GET", draw(st.sampled_from(ONE_OF)).format(segment), {"headers": headers}
    form = {name: draw(TEXT) for name in FORM_FIELDS if draw(st.booleans())}
    form["csrf"] = csrf if draw(st.booleans()) else draw(TEXT)
    return "POST", draw(st.sampled_from(FORMS)).format(segment), {"data": form, "headers": headers}


def test_admin_pages_never_answer_5xx(fuzz_site: FuzzSite) -> None:
    login = fuzz_site.client.get(f"{fuzz_site.url}/login")
    found = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert found is not None
    fuzz_site.client.post(
        f"{fuzz_site.url}/login",
        data={"username": "admin", "password": "campusca-demo", "csrf": found.group(1)},
    )
    page = fuzz_site.client.get(f"{fuzz_site.url}/admin/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf is not None

    @given(request=admin_requests(csrf.group(1)))
    @fuzz_settings(2)
    def send(request: tuple[str, str, dict[str, object]]) -> None:
        method, path, options = request
        fuzz_site.send("admin pages", method, path, **options)

    send()
    fuzz_site.assert_target_clean("admin pages")
