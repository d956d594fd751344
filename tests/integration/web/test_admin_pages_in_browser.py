"""The administrators' pages in a real headless Chromium against a real `campusca serve`.

The use case's administrator "prompts Alice to begin enrollment by SMS": from Alice's page, the
invitation reaches the SMS gateway stand-in. Every admin page is saved at phone and desktop widths
(and checked by axe-core) on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import DESKTOP, PHONE
from tests.support.browser import screenshots as save_and_check
from tests.support.ca import CaHome, serving
from tests.support.sms_gateway import SmsGateway, sms_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DEMO = "campusca-demo"
ALICE_PHONE = "+15551230001"


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with sms_gateway() as running:
        yield running


@pytest.fixture
def site(ca: CaHome, gateway: SmsGateway) -> Iterator[str]:
    # Invitations need an https public URL; Chromium sends the then Secure cookies to http://127.0.0.1
    # (a potentially trustworthy origin), so the pages are still reached on the plain port.
    (ca.home / "campusca.toml").write_text(f'public_url = "https://127.0.0.1:{ca.port}"\n')
    with (ca.home / "campusca.toml").open("a") as toml:
        toml.writelines(f'{key} = "{value}"\n' for key, value in gateway.settings().items())
        toml.write("audit_verify_slice = 10\n")  # the verification goes through its progress pages
    with serving(ca) as url:
        yield url


def screenshots(page: Page, folder: Path, name: str) -> None:
    """Save and axe-check the page (tests/support/browser.py), and check it is no wider than a phone."""
    save_and_check(page, folder, name)
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width}px wide on a {PHONE['width']}px phone"
    page.set_viewport_size(DESKTOP)


def _log_in(page: Page, username: str) -> None:
    """The login form with the keyboard only: the username field has focus, Tab, Enter."""
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_administrator_sends_alice_her_invitation_by_sms_from_her_page(
    browser: Browser, site: str, ca: CaHome, gateway: SmsGateway, screenshot_dir: Path
) -> None:
    page = browser.new_page()
    page.goto(site + "/admin/")
    _log_in(page, "admin")
    assert page.url == site + "/admin/"
    screenshots(page, screenshot_dir, "admin-dashboard")
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="People").click()
    page.get_by_label("Name, username, e-mail or phone").fill("alice")
    page.get_by_role("button", name="Find").click()
    screenshots(page, screenshot_dir, "admin-people")
    page.get_by_role("link", name="alice", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Alice Archer"
    assert page.get_by_role("button", name="Send invitation by SMS").is_disabled()  # no phone number yet
    page.get_by_label("Mobile phone").fill(ALICE_PHONE)
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_role("status").inner_text() == "The changes were saved."
    page.get_by_role("button", name="Send invitation by SMS").click()
    assert page.get_by_role("status").inner_text() == "The enrollment invitation was sent."
    screenshots(page, screenshot_dir, "admin-person")
    [message] = gateway.messages
    assert message["To"] == ALICE_PHONE
    assert gateway.links(ALICE_PHONE)[0].startswith(f"https://127.0.0.1:{ca.port}/enroll/")
    assert gateway.links(ALICE_PHONE)[0] not in page.content()  # the link goes to Alice only
    [created] = [
        r for r in ca.cli_json("audit", "list", "--limit", "100") if r["action"] == "invitation.created"
    ]  # type: ignore[union-attr,index]
    assert created["actor"] == "person:admin"  # type: ignore[index]


def test_every_admin_page_reads_well_on_a_phone_and_a_desktop(
    browser: Browser, site: str, ca: CaHome, screenshot_dir: Path
) -> None:
    ca.cli("smime", "issue", "bob", "--out", str(ca.home / "bob.p12"))
    page = browser.new_page()
    page.goto(site + "/")
    page.get_by_label("E-mail address").fill("bob@example.edu")
    page.get_by_role("button", name="Look up").click()
    assert page.get_by_role("heading", level=2).inner_text() == "Current certificates of bob@example.edu"
    assert page.get_by_role("link", name="Download the encryption certificate as PEM").count() == 1
    screenshots(page, screenshot_dir, "directory")
    page.goto(site + "/login?next=/admin/certificates")
    _log_in(page, "admin")
    screenshots(page, screenshot_dir, "admin-certificates")
    page.locator("table tbody tr a code").first.click()
    screenshots(page, screenshot_dir, "admin-certificate")
    page.get_by_label("Reason").select_option("superseded")
    page.get_by_label("Yes, revoke this certificate").check()
    page.get_by_role("button", name="Revoke").click()
    assert "was revoked" in page.get_by_role("status").inner_text()
    page.goto(site + "/admin/people/new")
    screenshots(page, screenshot_dir, "admin-person-new")
    page.goto(site + "/admin/scep")
    page.get_by_label("Username").fill("bob")
    page.get_by_role("button", name="Issue challenge").click()
    screenshots(page, screenshot_dir, "admin-scep-challenge")
    page.goto(site + "/admin/scep")
    screenshots(page, screenshot_dir, "admin-scep")
    page.goto(site + "/admin/escrow")
    screenshots(page, screenshot_dir, "admin-escrow")
    page.goto(site + "/admin/audit")
    page.get_by_role("button", name="Verify the chain now").click()
    page.wait_for_url(site + "/admin/audit?done=verified-ok")  # after several self-refreshing progress pages
    assert "The audit chain verified" in page.get_by_role("status").inner_text()
    screenshots(page, screenshot_dir, "admin-audit")
