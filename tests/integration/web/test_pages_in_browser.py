"""The web pages in a real headless Chromium against a real `campusca serve`: login, /my/, roles, CSRF.

Every page the tests reach is saved at phone and desktop widths into the screenshot folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from tests.support.browser import screenshots
from tests.support.ca import CaHome

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DEMO = "campusca-demo"
WRONG = "Username or password is wrong."


def _log_in(page: Page, username: str, password: str = DEMO) -> None:
    """Fill the login form with the keyboard only: the username field has focus, Tab, Enter."""
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_bob_logs_in_sees_his_certificates_and_downloads_only_his_own_pem(
    browser: Browser, site: str, ca: CaHome, tmp_path: Path, screenshot_dir: Path
) -> None:
    ca.cli("escrow", "agent", "add", "rita", "--org", "Example University")
    ca.cli("escrow", "policy", "--org", "Example University", "--enabled", "--mode", "simple")
    ca.cli("smime", "issue", "bob", "--out", str(tmp_path / "bob.p12"))
    ca.cli("smime", "issue", "mary", "--out", str(tmp_path / "mary.p12"))
    mary_serial = ca.cli_json("cert", "list", "--user", "mary")[0]["serial"]  # type: ignore[index]
    page = browser.new_page()
    page.goto(site + "/")
    screenshots(page, screenshot_dir, "home-anonymous")
    page.get_by_role("link", name="Log in").first.click()
    assert page.url == site + "/login"
    screenshots(page, screenshot_dir, "login")
    _log_in(page, "bob")
    assert page.url == site + "/my/"
    assert page.get_by_role("heading", level=1).inner_text() == "Bob Baker"
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    assert {rows.nth(i).locator(".status").inner_text() for i in range(2)} == {"valid"}
    keys = page.locator("ul.cards").last.inner_text()
    assert "escrowed by Example University (simple mode); recovery agents: rita" in keys
    screenshots(page, screenshot_dir, "my")
    link = page.get_by_role("link", name="PEM").first
    pem = page.request.get(site + str(link.get_attribute("href")))
    assert pem.status == 200
    assert x509.load_pem_x509_certificate(pem.body()).subject.rfc4514_string().find("bob") >= 0
    assert page.request.get(f"{site}/my/certificates/{mary_serial}.pem").status == 404
    page.goto(f"{site}/my/certificates/{mary_serial}.pem")
    screenshots(page, screenshot_dir, "my-certificate-not-found")


def test_a_wrong_password_is_refused_with_one_sentence_for_known_and_unknown_people(
    browser: Browser, site: str, screenshot_dir: Path
) -> None:
    page = browser.new_page()
    answers = []
    for username in ("bob", "nobody-here"):
        page.goto(site + "/login")
        _log_in(page, username, "not-the-password")
        assert page.url == site + "/login"
        answers.append(page.get_by_role("alert").inner_text())
    assert answers == [WRONG, WRONG]
    screenshots(page, screenshot_dir, "login-refused")
    assert page.context.cookies() == [c for c in page.context.cookies() if c["name"] != "campusca_session"]


def test_logout_without_the_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, site: str, screenshot_dir: Path
) -> None:
    page = browser.new_page()
    page.goto(site + "/my/")
    _log_in(page, "bob")
    cookie = next(c for c in page.context.cookies() if c["name"] == "campusca_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    refused = page.request.post(site + "/logout", form={"csrf": "forged"})
    assert refused.status == 403
    assert page.request.post(site + "/logout", form={}).status == 403
    page.goto(site + "/my/")
    assert page.url == site + "/my/"  # still logged in
    with page.expect_navigation():
        page.get_by_role("button", name="Log out bob").click()
    assert page.url == site + "/"
    screenshots(page, screenshot_dir, "home-after-logout")
    page.goto(site + "/my/")
    assert page.url == site + "/login?next=/my/"


def test_the_admin_pages_need_a_role_and_nobody_logged_in_is_sent_to_login(
    browser: Browser, site: str, screenshot_dir: Path
) -> None:
    bob = browser.new_page()
    bob.goto(site + "/admin/")
    assert bob.url == site + "/login?next=/admin/"
    _log_in(bob, "bob")
    assert bob.url == site + "/admin/"
    assert bob.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert bob.request.get(site + "/admin/").status == 403
    screenshots(bob, screenshot_dir, "admin-forbidden")
    admin = browser.new_context().new_page()
    admin.goto(site + "/login?next=//evil.example/")
    _log_in(admin, "admin")
    assert admin.url == site + "/my/"  # an off-site `next` is not followed
    admin.get_by_role("link", name="Administration").click()
    assert admin.get_by_role("heading", level=1).inner_text() == "Administration"
    assert admin.locator("dl.counts dt").all_inner_texts()[:3] == [
        "People",
        "Valid certificates",
        "Revoked certificates",
    ]
    assert admin.locator("dl.counts dd").first.inner_text() == "6"
    screenshots(admin, screenshot_dir, "admin")
