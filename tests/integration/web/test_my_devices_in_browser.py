"""`/my/devices` in a real headless Chromium: Alice sends herself an enrollment link, enrols her iPhone, reports it lost.

The site is the enrollment tests' one (https public URL behind a TLS-terminating proxy, a local SMS
gateway); the browser talks to the plain port, the simulated iPhone through the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from campusca.services import audit, ota
from tests.integration.enrollment.conftest import ALICE_PHONE, PASSWORD, EnrollmentSite, enrollment_site
from tests.support.browser import screenshots
from tests.support.iphone_simulator import SimulatedIPhone

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def enrolment(ca_template: Path, tmp_path: Path) -> Iterator[EnrollmentSite]:
    with enrollment_site(ca_template, tmp_path) as served:
        yield served


def _log_in(page: Page, base: str, username: str, path: str) -> None:
    page.goto(f"{base}/login?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.url == base + path


def test_alice_sends_herself_the_link_enrols_her_iphone_and_reports_it_lost(
    browser: Browser, enrolment: EnrollmentSite, screenshot_dir: Path
) -> None:
    base, authority = enrolment.plain_url, enrolment.authority
    page = browser.new_context().new_page()
    _log_in(page, base, "alice", "/my/devices")
    assert "No enrolled devices yet." in page.inner_text("main")
    screenshots(page, screenshot_dir, "my-devices-empty")
    with page.expect_navigation():
        page.get_by_role("button", name="Send me the link").click()
    assert page.url == base + "/my/devices?sent=sms"
    assert "on its way to you by SMS" in page.locator("#sent").inner_text()
    assert [m["To"] for m in enrolment.gateway.messages] == [ALICE_PHONE]
    assert "delivered" in page.locator("#invitations").inner_text()
    (invited,) = audit.recent_records(authority, limit=20, action="invitation.created")
    assert invited.actor == "person:alice" and invited.target == "person:alice"

    iphone = SimulatedIPhone()
    iphone.enrol(enrolment.gateway.links(ALICE_PHONE)[-1], "alice", PASSWORD)
    page.goto(base + "/my/devices")
    devices = page.locator("#devices")
    assert "Alice's iPhone" in devices.inner_text() and "enrolled" in devices.inner_text()
    screenshots(page, screenshot_dir, "my-devices")
    (device,) = ota.list_devices(authority, username="alice")
    valid = [c.serial for c in device.certificates if c.status == "valid"]
    assert valid

    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert page.request.post(f"{base}/my/devices/{device.id}/lost", form={}).status == 403
    assert page.request.post(f"{base}/my/devices/{device.id}/lost", form={"csrf": "forged"}).status == 403
    assert [
        c.serial for c in ota.show_device(authority, device.udid).certificates if c.status == "valid"
    ] == valid

    bob = browser.new_context().new_page()
    _log_in(bob, base, "bob", "/my/devices")
    assert bob.request.get(f"{base}/my/devices/{device.id}/lost").status == 404  # not his
    bob_csrf = bob.locator("input[name=csrf]").first.get_attribute("value") or ""
    assert bob.request.post(f"{base}/my/devices/{device.id}/lost", form={"csrf": bob_csrf}).status == 404

    page.get_by_role("link", name="Report Alice's iPhone lost").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Report Alice's iPhone lost?"
    screenshots(page, screenshot_dir, "my-device-lost-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, revoke its certificates").click()
    assert page.url == f"{base}/my/devices?lost={device.id}"
    assert page.locator("#lost").is_visible() and "retired" in page.locator("#devices").inner_text()
    screenshots(page, screenshot_dir, "my-devices-lost")
    after = ota.show_device(authority, device.udid)
    assert after.state == "retired"
    assert {c.status for c in after.certificates if c.serial in valid} == {"revoked"}
    (retired,) = audit.recent_records(authority, limit=20, action="device.retired")
    assert retired.actor == "person:alice" and retired.details["reason"] == "keyCompromise"
    assert csrf  # the page's own token was there all along
