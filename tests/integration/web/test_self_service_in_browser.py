"""The people's S/MIME and recovery pages and the agents' queue in a real headless Chromium.

Bob issues his own S/MIME pair and `openssl pkcs12` reads both identities; Mary asks for recovery of her
lost key, two recovery agents approve with their share passphrases (quorum mode), Mary collects the file
once. Every page the tests reach is saved at phone and desktop widths.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from campusca.config import load_settings
from campusca.services import audit, smime
from campusca.services.authority import Authority, open_authority
from campusca.services.people.registry import add_person, set_password
from tests.support.browser import screenshots
from tests.support.ca import CaHome

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DEMO = "campusca-demo"
ORG = "Example University"
P12_PASSWORD = "correct horse battery staple"
PASSPHRASES = {"rita": "rita keeps the first share safe", "quentin": "quentin guards the second share"}


@pytest.fixture
def authority(ca: CaHome) -> Iterator[Authority]:
    """The served home's authority in the test process, to set up escrow through the services."""
    opened = open_authority(load_settings(ca.home))
    yield opened
    opened.db.dispose()


def _log_in(page: Page, site: str, username: str, path: str) -> None:
    page.goto(f"{site}/login?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.url == site + path


def _openssl_pkcs12(path: Path, password: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", "pkcs12", "-info", "-nodes", "-in", str(path), "-passin", f"pass:{password}"],
        capture_output=True,
        check=False,
    )


def test_bob_downloads_his_pkcs12_and_openssl_reads_both_identities(
    browser: Browser, site: str, authority: Authority, tmp_path: Path, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect  # here: without playwright the browser fixture skips first

    smime.add_escrow_agent(authority, username="rita", org_name=ORG, actor="test")
    smime.set_escrow_policy(authority, org_name=ORG, enabled=True, mode="simple", actor="test")
    page = browser.new_page()
    _log_in(page, site, "bob", "/my/smime")
    assert "script-src 'self'" in str(page.request.get(site + "/my/smime").headers["content-security-policy"])
    assert "script-src" not in str(page.request.get(site + "/my/").headers["content-security-policy"])
    notice = page.locator("#escrow-notice").inner_text()
    assert "will be escrowed by Example University (simple mode)" in notice and "rita" in notice
    assert page.locator("#current").inner_text() == "None yet."
    screenshots(page, screenshot_dir, "my-smime")

    page.get_by_label("Password for the file").fill("bob12345678!")
    page.get_by_label("Password again").fill("bob12345678!")
    with page.expect_navigation():
        page.get_by_role("button", name="Issue and download").click()
    assert "PKCS#12 password is too weak" in page.get_by_role("alert").inner_text()
    assert page.locator("#strength strong").inner_text() in ("very weak", "weak", "not strong enough")
    screenshots(page, screenshot_dir, "my-smime-weak-password")
    assert smime.key_custody_of(authority, "bob") == ()  # nothing was issued

    page.get_by_label("Password for the file").fill(P12_PASSWORD)
    expect(page.locator("#live-strength strong")).to_have_text("strong")  # the script asked the same judge
    expect(page.locator("#strength")).to_be_hidden()
    page.get_by_label("Password again").fill(P12_PASSWORD)
    with page.expect_download() as download:
        page.get_by_role("button", name="Issue and download").click()
    target = tmp_path / "bob.p12"
    download.value.save_as(target)
    assert download.value.suggested_filename == "bob-smime.p12"
    opened = _openssl_pkcs12(target, P12_PASSWORD)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.count(b"-----BEGIN PRIVATE KEY-----") == 2  # signing and encryption identities
    assert opened.stdout.count(b"friendlyName: bob@example.edu") >= 2
    assert b"AES-256-CBC" in opened.stderr

    page.goto(site + "/my/smime")  # after: the page says where the new key is
    assert (
        "its key is escrowed by Example University (simple mode); recovery agents: rita"
        in page.locator("#current").inner_text()
    )
    page.get_by_label("Password for the file").fill(P12_PASSWORD)
    page.get_by_label("Password again").fill(P12_PASSWORD)
    page.get_by_label("Legacy format for older clients").check()
    with page.expect_download() as legacy:
        page.get_by_role("button", name="Issue and download").click()
    legacy.value.save_as(tmp_path / "bob-legacy.p12")
    opened = _openssl_pkcs12(tmp_path / "bob-legacy.p12", P12_PASSWORD)
    assert opened.returncode == 0 and b"3-KeyTripleDES" in opened.stderr
    assert opened.stdout.count(b"-----BEGIN PRIVATE KEY-----") == 2
    issued = audit.recent_records(authority, limit=1000, action="certificate.issued")
    assert [r.actor for r in issued[:4]] == ["person:bob"] * 4  # audited with the acting person
    assert all(r.actor != "person:bob" for r in issued[4:])


def _quorum_escrow_with_two_agents(authority: Authority) -> None:
    """Quentin joins Rita as a recovery agent; escrow for the organisation in quorum mode, 2 of 2."""
    with authority.db.write() as session:
        add_person(authority, session, username="quentin", email="quentin@example.edu",
                   dept_name="Computing Services", roles=("recovery-agent",), actor="test")  # fmt: skip
        set_password(authority, session, "quentin", DEMO, actor="test")
    for agent in PASSPHRASES:
        smime.add_escrow_agent(authority, username=agent, org_name=ORG, actor="test")
    smime.set_escrow_policy(
        authority,
        org_name=ORG,
        enabled=True,
        mode="quorum",
        approvals=2,
        passphrases=PASSPHRASES,
        actor="test",
    )


def _approve(page: Page, request_id: int, passphrase: str) -> None:
    item = page.locator(f"#request-{request_id}")
    item.get_by_label("Your share passphrase").fill(passphrase)
    with page.expect_navigation():
        item.get_by_role("button", name=f"Approve request {request_id}").click()


def test_mary_asks_for_recovery_two_agents_approve_and_mary_collects_the_file_once(
    browser: Browser, site: str, authority: Authority, tmp_path: Path, screenshot_dir: Path
) -> None:
    _quorum_escrow_with_two_agents(authority)
    lost = smime.issue_smime_bundle(authority, username="mary", actor="test", password=P12_PASSWORD)
    mary = browser.new_context().new_page()
    _log_in(mary, site, "mary", "/my/recovery")
    with mary.expect_navigation():
        mary.get_by_role("button", name="Ask for recovery of my keys").click()
    release_code = mary.locator("#release-code").inner_text()
    request_id = smime.own_recoveries(authority, "mary")[0].request.id
    assert "waiting for approval (0 of 2)" in mary.locator(f"#request-{request_id}").inner_text()
    screenshots(mary, screenshot_dir, "my-recovery-requested")
    assert mary.request.get(site + "/agent/recovery").status == 403  # Mary is no agent

    rita = browser.new_context().new_page()
    _log_in(rita, site, "rita", "/agent/recovery")
    screenshots(rita, screenshot_dir, "agent-recovery")
    _approve(rita, request_id, "not rita's passphrase at all")
    assert rita.get_by_role("alert").inner_text().startswith(f"Request {request_id}:")
    _approve(rita, request_id, PASSPHRASES["rita"])
    assert rita.locator("#done").inner_text() == f"Your approval of request {request_id} is recorded."
    assert "You approved it" in rita.locator(f"#request-{request_id}").inner_text()
    assert rita.get_by_role("button", name=f"Approve request {request_id}").count() == 0
    screenshots(rita, screenshot_dir, "agent-recovery-approved-once")
    csrf = rita.locator("input[name=csrf]").first.get_attribute("value") or ""
    again = rita.request.post(
        f"{site}/agent/recovery/{request_id}/approve", form={"csrf": csrf, "passphrase": PASSPHRASES["rita"]}
    )
    assert again.status == 409 and "already approved" in again.text()  # distinct agents

    quentin = browser.new_context().new_page()
    _log_in(quentin, site, "quentin", "/agent/recovery")
    _approve(quentin, request_id, PASSPHRASES["quentin"])
    assert quentin.locator(f"#request-{request_id} .status").inner_text() == "approved"
    assert quentin.get_by_role("button", name=f"Approve request {request_id}").count() == 0

    mary.goto(site + "/my/recovery")
    item = mary.locator(f"#request-{request_id}")
    assert "approved" in item.locator(".status").inner_text()
    item.get_by_label("New password for the recovered file").fill(P12_PASSWORD)
    item.get_by_label("Password again").fill(P12_PASSWORD)
    item.get_by_label("Release code").fill(release_code)
    screenshots(mary, screenshot_dir, "my-recovery-approved")
    with mary.expect_download() as download:
        item.get_by_role("button", name="Collect my keys").click()
    download.value.save_as(tmp_path / "mary-recovered.p12")
    opened = _openssl_pkcs12(tmp_path / "mary-recovered.p12", P12_PASSWORD)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.count(b"-----BEGIN PRIVATE KEY-----") == 2  # the new key and the lost one
    with mary.expect_navigation():
        item.get_by_role("button", name="Collect my keys").click()  # the same form a second time
    assert "a request can be released once" in mary.get_by_role("alert").inner_text()
    assert "released" in mary.locator(f"#request-{request_id} .status").inner_text()
    screenshots(mary, screenshot_dir, "my-recovery-collected")
    actors = [
        (r.action, r.actor)
        for r in audit.recent_records(authority, limit=50)
        if r.action.startswith("recovery.")
    ]
    assert ("recovery.requested", "person:mary") in actors and ("recovery.released", "person:mary") in actors
    assert {a for action, a in actors if action == "recovery.approved"} == {"person:rita", "person:quentin"}
    revoked = audit.recent_records(authority, limit=50, action="certificate.revoked")
    assert f"certificate:{lost.encryption.serial_hex}" in {r.target for r in revoked}  # the lost key


def test_larry_opens_a_legal_case_rita_approves_larry_decrypts_a_message_once_and_closes_the_case(
    browser: Browser, site: str, authority: Authority, tmp_path: Path, screenshot_dir: Path
) -> None:
    smime.add_escrow_agent(authority, username="rita", org_name=ORG, actor="test")
    smime.set_escrow_policy(authority, org_name=ORG, enabled=True, mode="simple", actor="test")
    smime.issue_smime_bundle(authority, username="mary", actor="test", password=P12_PASSWORD)
    smime.issue_smime_bundle(authority, username="bob", actor="test", password=P12_PASSWORD)
    plain = (
        b"From: Bob <bob@example.edu>\r\nTo: Mary <mary@example.edu>\r\nSubject: minutes\r\n\r\nSee you.\r\n"
    )
    encrypted, _ = smime.encrypt_message(authority, plain, include_sender=False)
    (tmp_path / "minutes.eml").write_bytes(encrypted)

    larry = browser.new_context().new_page()
    _log_in(larry, site, "larry", "/agent/recovery")
    larry.get_by_label("Username of the person").fill("mary")
    larry.get_by_label("Case reference").fill("case 2026-17")
    with larry.expect_navigation():
        larry.get_by_role("button", name="Open the case").click()
    assert "Legal case “case 2026-17” opened" in larry.locator("#requested").inner_text()
    (case,) = smime.recovery_queue(authority, "larry")
    assert smime.own_recoveries(authority, "mary") == ()  # a legal case is not on Mary's page

    rita = browser.new_context().new_page()
    _log_in(rita, site, "rita", "/agent/recovery")
    with rita.expect_navigation():
        rita.get_by_role("button", name=f"Approve request {case.request.id}").click()

    larry.goto(site + "/agent/recovery")
    screenshots(larry, screenshot_dir, "agent-recovery-legal-approved")
    item = larry.locator(f"#request-{case.request.id}")
    item.get_by_label("Encrypted messages to decrypt").set_input_files(str(tmp_path / "minutes.eml"))
    with larry.expect_download() as download:
        item.get_by_role("button", name="Release: decrypt the messages").click()
    download.value.save_as(tmp_path / "case.zip")
    with zipfile.ZipFile(tmp_path / "case.zip") as archive:
        assert archive.namelist() == ["001-minutes.eml"]
        assert archive.read("001-minutes.eml").endswith(b"See you.\r\n")
    again = larry.request.post(
        f"{site}/agent/recovery/{case.request.id}/release",
        multipart={
            "csrf": larry.locator("input[name=csrf]").first.get_attribute("value") or "",
            "messages": {"name": "minutes.eml", "mimeType": "message/rfc822", "buffer": encrypted},
        },
    )
    assert again.status == 409 and "released once" in again.text()  # one release
    larry.goto(site + "/agent/recovery")
    with larry.expect_navigation():
        larry.get_by_role("button", name="Close case case 2026-17").click()
    assert larry.locator("#done").inner_text() == f"The case of request {case.request.id} is closed."
    closed = audit.recent_records(authority, limit=5, action="recovery.case_closed")
    assert [r.actor for r in closed] == ["person:larry"]
