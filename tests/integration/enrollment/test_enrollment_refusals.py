"""What the enrollment flow refuses, clearly and without issuing anything."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from campusca.db.models import Certificate
from campusca.db.ota import Device
from campusca.db.scep import ScepChallenge
from campusca.services.ota.invitations import create_invitation
from tests.integration.enrollment.conftest import PASSWORD, EnrollmentSite, enrollment_site
from tests.support.iphone import (
    issue_test_certificate,
    make_device_identity,
    new_rsa_key,
    sign_device_attributes,
)
from tests.support.iphone_simulator import SimulatedIPhone


@pytest.fixture(scope="module")
def strict_site(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnrollmentSite]:
    """Three free failures per (account, address), then a ten-minute back-off: none passes during a test."""
    workdir = tmp_path_factory.mktemp("refusals")
    with enrollment_site(ca_template, workdir, login_free_failures=3, login_backoff_seconds=600) as served:
        yield served


def _counts(site: EnrollmentSite) -> tuple[int, int, int]:
    with site.authority.db.read() as session:
        return (
            session.execute(select(func.count(Certificate.id))).scalar_one(),
            session.execute(select(func.count(ScepChallenge.id))).scalar_one(),
            session.execute(select(func.count(Device.id))).scalar_one(),
        )


def _actions(site: EnrollmentSite) -> list[str]:
    return [row["action"] for row in site.ca.cli_json("audit", "list", "--limit", "1000")]


def test_a_used_link_is_refused_to_anyone_else(strict_site: EnrollmentSite) -> None:
    link = strict_site.invite("alice")
    assert SimulatedIPhone().log_in(link, "alice", PASSWORD).status_code == 303
    other = SimulatedIPhone()
    page = other.open_link(link)
    assert page.status_code == 410 and "already been used" in page.text
    again = other.browser.post(f"{link}/login", data={"username": "alice", "password": PASSWORD, "csrf": "x"})
    assert again.status_code in (403, 410)


def test_an_expired_link_is_refused(strict_site: EnrollmentSite) -> None:
    authority = strict_site.authority
    past = replace(authority, clock=lambda: authority.now() - timedelta(hours=2))
    with authority.db.write() as session:
        created = create_invitation(
            past, session, username="alice", channel="sms", actor="test", ttl_seconds=3600
        )
    link = created.link
    page = SimulatedIPhone().open_link(link)
    assert page.status_code == 410 and "expired" in page.text


def test_a_stranger_guessing_bobs_password_is_held_back_but_bob_still_gets_in(
    strict_site: EnrollmentSite,
) -> None:
    bob_link = strict_site.invite("bob")
    stranger = SimulatedIPhone()
    stranger.browser.headers["X-Forwarded-For"] = "203.0.113.40"
    tries = [stranger.log_in(bob_link, "bob", "not-the-password") for _ in range(5)]
    assert [t.status_code for t in tries] == [403, 403, 403, 429, 429]
    assert "username or password is wrong" in tries[0].text and "too many failed logins" in tries[3].text
    assert stranger.log_in(bob_link, "bob", PASSWORD).status_code == 429  # the right one waits there too
    bob = SimulatedIPhone()
    bob.browser.headers["X-Forwarded-For"] = "192.0.2.41"
    assert bob.log_in(bob_link, "bob", PASSWORD).status_code == 303  # from his own address he gets in
    actions = _actions(strict_site)
    assert "login.throttled" in actions and "login.succeeded" in actions


def _form_answer(response: httpx.Response) -> tuple[int, str]:
    """Status and page without the per-page CSRF token, so two answers can be compared."""
    return response.status_code, re.sub(r'name="csrf" value="[^"]*"', "", response.text)


def test_someone_elses_correct_password_on_alices_link_is_answered_like_a_wrong_one(
    strict_site: EnrollmentSite,
) -> None:
    link = strict_site.invite("alice")
    mallory = SimulatedIPhone()
    mallory.browser.headers["X-Forwarded-For"] = "192.0.2.50"
    marys_password = mallory.log_in(link, "mary", PASSWORD)
    wrong = mallory.log_in(link, "mary", "not-marys-password")
    assert _form_answer(marys_password) == _form_answer(wrong)
    assert marys_password.status_code == 403 and "username or password is wrong" in marys_password.text
    assert "another person" not in marys_password.text
    alice = SimulatedIPhone()
    alice.browser.headers["X-Forwarded-For"] = "192.0.2.51"
    assert alice.log_in(link, "alice", PASSWORD).status_code == 303  # the link still works for Alice


def test_a_non_ascii_csrf_field_is_refused_not_an_error(strict_site: EnrollmentSite) -> None:
    link = strict_site.invite("alice")
    phone = SimulatedIPhone()
    assert phone.open_link(link).status_code == 200  # sets the login CSRF cookie
    form = {"username": "alice", "password": PASSWORD}
    for csrf in ("\u00e9t\u00e9", "\u2603" * 40, "\U0001f511"):
        answer = phone.browser.post(f"{link}/login", data={**form, "csrf": csrf})
        assert answer.status_code == 403 and "form had expired" in answer.text


def _enrolling_phone(site: EnrollmentSite, address: str) -> tuple[SimulatedIPhone, dict]:
    phone = SimulatedIPhone()
    phone.browser.headers["X-Forwarded-For"] = address
    link = site.invite("alice")
    assert phone.log_in(link, "alice", PASSWORD).status_code == 303
    return phone, phone.download_profile_service(link)


def _last_link(site: EnrollmentSite) -> str:
    return site.gateway.links()[-1]


def test_a_tampered_phase_2_plist_is_refused_and_nothing_is_recorded(strict_site: EnrollmentSite) -> None:
    phone, profile_service = _enrolling_phone(strict_site, "192.0.2.60")
    body = phone.phase2_body(profile_service)
    # Change a reported value in place (the BER content is chunked, so pick one no chunk boundary splits).
    value = next(
        v.encode() for v in (phone.serial, phone.product, phone.udid, phone.imei) if v.encode() in body
    )
    tampered = body.replace(value, b"X" * len(value), 1)
    before = _counts(strict_site)
    answer = phone.post_attributes(profile_service["PayloadContent"]["URL"], tampered)
    assert answer.status_code == 400 and "signature does not verify" in answer.text
    assert _counts(strict_site) == before


def test_a_phase_2_challenge_works_once(strict_site: EnrollmentSite) -> None:
    phone, profile_service = _enrolling_phone(strict_site, "192.0.2.61")
    phone.phase2(profile_service)
    before = _counts(strict_site)
    replay = phone.post_attributes(
        profile_service["PayloadContent"]["URL"], phone.phase2_body(profile_service)
    )
    # A wrong (or spent: it is not kept) phase-2 challenge is refused as in REST; 410 is for dead links.
    assert replay.status_code == 403 and "challenge" in replay.text
    assert _counts(strict_site) == before


def _through_scep(site: EnrollmentSite, address: str, udid: str) -> tuple[SimulatedIPhone, dict]:
    phone, profile_service = _enrolling_phone(site, address)
    phone.udid = udid
    enrollment_profile = phone.phase2(profile_service)
    scep = next(
        p for p in enrollment_profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep"
    )
    phone.scep_key, phone.scep_certificate = phone.enrol_scep(scep)
    return phone, profile_service


def test_phase_3_signed_by_a_foreign_certificate_is_refused(strict_site: EnrollmentSite) -> None:
    phone, profile_service = _through_scep(strict_site, "192.0.2.62", "00008110-00000000000F0E16")
    # A look-alike CA with our issuing CA's name, and a certificate it issued for the phone's key.
    issuing = strict_site.authority.chain()[0]
    impostor_key = new_rsa_key()
    impostor = _self_signed_ca(issuing.subject, impostor_key)
    forged = issue_test_certificate(
        subject="forged", key=phone.scep_key, issuer=impostor, issuer_key=impostor_key
    )
    body = sign_device_attributes(phone.attributes(None), key=phone.scep_key, certificate=forged)
    before = _counts(strict_site)
    answer = phone.post_attributes(profile_service["PayloadContent"]["URL"], body)
    assert answer.status_code == 403 and "not issued by this CA" in answer.text
    # A certificate of a wholly unrelated CA is treated as phase 2 and has no valid challenge.
    stranger = make_device_identity()
    body = sign_device_attributes(
        phone.attributes(profile_service["PayloadContent"]["Challenge"]),
        key=stranger.device_key,
        certificate=stranger.device_certificate,
    )
    assert phone.post_attributes(profile_service["PayloadContent"]["URL"], body).status_code == 403
    assert _counts(strict_site) == before


def _self_signed_ca(name: x509.Name, key: rsa.RSAPrivateKey) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_phase_3_with_a_mismatched_udid_or_serial_is_refused(strict_site: EnrollmentSite) -> None:
    phone, profile_service = _through_scep(strict_site, "192.0.2.63", "00008110-0000000000AB0C01")
    url = profile_service["PayloadContent"]["URL"]
    before = _counts(strict_site)
    other_udid = replace_attribute(phone, "UDID", "00008110-0000000000FFFF99")
    answer = phone.post_attributes(url, other_udid)
    assert answer.status_code == 403 and "UDID" in answer.text
    other_serial = replace_attribute(phone, "SERIAL", "ZZZZZZZZZZZZ")
    answer = phone.post_attributes(url, other_serial)
    assert answer.status_code == 403 and "SERIAL" in answer.text
    assert _counts(strict_site) == before
    refusals = [
        r
        for r in strict_site.ca.cli_json("audit", "list", "--limit", "1000")
        if r["action"] == "enrollment.refused"
    ]
    assert any("UDID" in json.dumps(r) for r in refusals)
    final = phone.phase3(url, None)  # the genuine request still gets its final profile
    assert final["PayloadType"] == "Configuration"


def replace_attribute(phone: SimulatedIPhone, key: str, value: str) -> bytes:
    assert phone.scep_key is not None and phone.scep_certificate is not None
    attributes = {**phone.attributes(None), key: value}
    return sign_device_attributes(attributes, key=phone.scep_key, certificate=phone.scep_certificate)


def test_phase_2_must_chain_to_apple_when_the_device_ca_is_configured(
    ca_template: Path, tmp_path: Path
) -> None:
    apple = make_device_identity()
    roots = tmp_path / "apple-device-ca.pem"
    roots.write_bytes(apple.root_certificate.public_bytes(serialization.Encoding.PEM))
    with enrollment_site(ca_template, tmp_path, apple_device_ca_file=str(roots)) as site:
        genuine = SimulatedIPhone(identity=apple)
        assert genuine.log_in(site.invite("alice"), "alice", PASSWORD).status_code == 303
        genuine.phase2(genuine.download_profile_service(_last_link(site)))  # chains through the expired CA
        fake = SimulatedIPhone(identity=make_device_identity(), udid="00008110-0000000000000FAE")
        assert fake.log_in(site.invite("alice"), "alice", PASSWORD).status_code == 303
        body = fake.phase2_body(fake.download_profile_service(_last_link(site)))
        answer = fake.post_attributes(f"{site.url}/enroll/ota", body)
        assert answer.status_code == 403 and "trusted device CA" in answer.text


def test_garbage_and_unknown_links_get_clear_answers_not_errors(strict_site: EnrollmentSite) -> None:
    phone = SimulatedIPhone()
    garbage = phone.post_attributes(f"{strict_site.url}/enroll/ota", b"not a cms message")
    assert garbage.status_code == 400 and "CMS SignedData" in garbage.text
    unknown = phone.open_link(f"{strict_site.url}/enroll/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert unknown.status_code == 403 and "not valid" in unknown.text  # never valid, so not "gone"
    no_session = phone.browser.get(f"{strict_site.url}/enroll/AAAA/profile")
    assert no_session.status_code == 403 and "log in" in no_session.text
