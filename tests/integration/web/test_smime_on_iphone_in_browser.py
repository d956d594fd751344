"""`/my/devices/{id}/smime-profile` in a real headless Chromium: refused while escrow is off, then downloaded.

Screenshots at phone and desktop widths, each checked by axe-core; the simulated iPhone enrols through
the proxy, the browser talks to the plain port (as in test_my_devices_in_browser).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from campusca.services import audit, smime
from tests.integration.enrollment.conftest import PASSWORD, EnrollmentSite, enrollment_site
from tests.support.browser import screenshots
from tests.support.iphone_simulator import SimulatedIPhone

if TYPE_CHECKING:
    from playwright.sync_api import Browser

MAIL = {"mail_incoming_host": "imap.example.edu", "mail_outgoing_host": "smtp.example.edu"}


@pytest.fixture
def enrolment(ca_template: Path, tmp_path: Path) -> Iterator[EnrollmentSite]:
    with enrollment_site(ca_template, tmp_path, **MAIL) as served:
        yield served


def test_alice_downloads_her_smime_profile_for_her_iphone_once_escrow_is_on(
    browser: Browser, enrolment: EnrollmentSite, screenshot_dir: Path
) -> None:
    base, authority = enrolment.plain_url, enrolment.authority
    enrolment.enrol(SimulatedIPhone())
    smime.issue_smime_bundle(authority, username="alice", actor="test")
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(f"{base}/login?next=/my/devices")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()

    with page.expect_navigation():
        page.get_by_role("link", name="E-mail certificates on this phone…").click()
    assert "Escrow is off for Example University" in page.locator("#refusal").inner_text()
    assert page.get_by_role("button", name="Download the profile").count() == 0
    screenshots(page, screenshot_dir, "my-device-smime-refused")

    smime.set_escrow_policy(
        authority, org_name="Example University", enabled=True, mode="simple", actor="test"
    )
    smime.issue_smime_bundle(authority, username="alice", actor="test")
    page.reload()
    contents = page.locator("#contents").inner_text()
    assert "encryption certificate" in contents and "imap.example.edu" in contents
    screenshots(page, screenshot_dir, "my-device-smime")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the profile").click()
    assert download.value.suggested_filename == "alice-smime.mobileconfig"
    (issued,) = audit.recent_records(authority, limit=50, action="smime.device_profile_issued")
    assert issued.actor == "person:alice"
