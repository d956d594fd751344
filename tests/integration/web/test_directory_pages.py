"""`/directory/certificates` over plain HTTP: HTML for browsers (with download links), JSON for programs
(explicit `application/json`, `*/*`, or no Accept header at all); the landing page names the institution."""

from __future__ import annotations

import re

import httpx
from cryptography import x509

from tests.support.ca import CaHome, serving

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def test_the_directory_answers_browsers_in_html_and_programs_in_json(ca: CaHome) -> None:
    ca.cli("smime", "issue", "mary", "--out", str(ca.home / "mary.p12"))
    query = {"email": "mary@example.edu"}
    with serving(ca) as url, httpx.Client(base_url=url) as client:
        page = client.get("/directory/certificates", params=query, headers={"Accept": BROWSER})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["vary"] == "Accept"
        links = re.findall(r'href="(/directory/certificates/[0-9a-f]+\.(?:pem|der))"', page.text)
        assert len(links) == 4 and "encryption" in page.text and "signing" in page.text
        pem = client.get(next(link for link in links if link.endswith(".pem")))
        assert "mary@example.edu" in x509.load_pem_x509_certificate(pem.content).subject.rfc4514_string()
        for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
            headers = {"Accept": accept} if accept else {}
            client.headers.pop("accept", None)  # httpx sends */* unless told otherwise
            answer = client.get("/directory/certificates", params=query, headers=headers)
            assert answer.headers["content-type"] == "application/json", accept
            assert len(answer.json()["certificates"]) == 2
        nobody = client.get(
            "/directory/certificates", params={"email": "nobody@example.edu"}, headers={"Accept": BROWSER}
        )
        assert (
            nobody.status_code == 200
            and "No current S/MIME certificate for nobody@example.edu" in nobody.text
        )
        wrong = client.get(
            "/directory/certificates", params={"email": "not an address"}, headers={"Accept": BROWSER}
        )
        assert wrong.status_code == 400 and 'role="alert"' in wrong.text
        assert client.get("/directory/certificates", params={"email": "not an address"}).status_code == 400


def test_the_landing_page_names_the_institution_and_what_a_visitor_can_do(ca: CaHome) -> None:
    with serving(ca) as url:
        home = httpx.get(url + "/").text
    assert "<h1>Example University certificate service</h1>" in home
    for link in ('href="/login"', 'action="/directory/certificates"', 'href="/ca/chain.pem"', 'href="/crl/'):
        assert link in home
