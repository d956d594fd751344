"""Re-enrollment without Alice starting it: revoked or expiring device certificates bring one new invitation."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from campusca.db.ota import JobLease
from campusca.services import scep
from campusca.services.people.registry import get_person
from tests.integration.enrollment.conftest import ALICE_PHONE, PASSWORD, EnrollmentSite, enrollment_site
from tests.support.iphone_simulator import SimulatedIPhone


def _sms_to_alice(site: EnrollmentSite) -> list[dict[str, str]]:
    return [m for m in site.gateway.messages if m["To"] == ALICE_PHONE]


def test_revoking_alices_device_brings_one_invitation_and_she_enrols_again(site: EnrollmentSite) -> None:
    phone = SimulatedIPhone()
    first = site.enrol(phone)
    old_serials = {phone.scep_certificate.serial_number, phone.vpn_certificate.serial_number}
    revoked = site.ca.cli_json("device", "revoke", phone.udid, "--reason", "keyCompromise")
    assert revoked["state"] == "revoked" and {c["status"] for c in revoked["certificates"]} == {"revoked"}

    report = site.ca.cli_json("renew", "run-once")
    assert report["ran"] is True and len(report["invitations"]) == 1
    invitation = report["invitations"][0]
    assert invitation["reason"] == "revoked" and invitation["username"] == "alice"
    assert invitation["delivery"]["status"] == "sent" and invitation["delivery"]["channel"] == "sms"
    assert "renew" in _sms_to_alice(site)[-1]["Body"]
    assert site.ca.cli_json("renew", "run-once")["invitations"] == []  # never twice for the same certificates
    assert site.ca.cli_json("device", "show", phone.udid)["state"] == "renewal_invited"

    # The renewal link works like the first one and replaces the final profile (same identifier).
    again = phone.enrol(site.gateway.links(ALICE_PHONE)[-1], "alice", PASSWORD)
    assert again["PayloadIdentifier"] == first["PayloadIdentifier"]
    assert phone.vpn_certificate.serial_number not in old_serials
    shown = site.ca.cli_json("device", "show", phone.udid)
    assert shown["state"] == "enrolled"
    assert site.ca.cli_json("renew", "run-once")["invitations"] == []  # the new certificates are fine


def test_certificates_within_the_expiry_window_bring_one_invitation(site: EnrollmentSite) -> None:
    phone = SimulatedIPhone()
    site.enrol(phone)
    assert site.ca.cli_json("renew", "run-once", "--window-days", "30")["invitations"] == []
    report = site.ca.cli_json("renew", "run-once", "--window-days", "400")
    assert [i["reason"] for i in report["invitations"]] == ["expiring"]
    assert len(report["invitations"][0]["serials"]) == 2
    assert site.ca.cli_json("renew", "run-once", "--window-days", "400")["invitations"] == []
    listed = site.ca.cli_json("invitations", "list", "--user", "alice")
    assert listed[0]["reason"] == "renewal" and listed[0]["device"] == phone.udid


def test_the_scheduler_in_serve_invites_once_with_two_workers(ca_template: Path, tmp_path: Path) -> None:
    with enrollment_site(
        ca_template, tmp_path, workers=2, renewal_enabled=True, renewal_interval_seconds=1
    ) as site:
        phone = SimulatedIPhone()
        site.enrol(phone)
        site.ca.cli("device", "revoke", phone.udid)
        holders: set[str] = set()
        renewals = _wait_for(lambda: [m for m in _sms_to_alice(site) if "renew" in m["Body"]], timeout=60)
        # Let the scheduler run several more rounds, watching who holds the lease.
        seen: set[object] = set()

        def rounds() -> bool:
            with site.authority.db.read() as session:
                lease = session.execute(select(JobLease).where(JobLease.name == "renewal")).scalar_one()
                holders.add(lease.holder)
                seen.add(lease.expires_at)
            return len(seen) >= 4

        _wait_for(rounds, timeout=60)
        assert len(renewals) == 1
        assert len([m for m in _sms_to_alice(site) if "renew" in m["Body"]]) == 1
        assert len(holders) == 1  # one process held the lease throughout


def _wait_for(condition, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)  # polling a background job's observable effect, with a deadline
    raise AssertionError("condition not met in time")


def test_a_device_enrolled_by_scep_alone_is_invited_to_renew_when_revoked(site: EnrollmentSite) -> None:
    udid = "00008110-0005CE9000A1B2C3"
    with site.authority.db.write() as session:
        challenge = scep.create_challenge(
            site.authority, session, person=get_person(session, "alice"), actor="test", device_ref=udid
        )
    phone = SimulatedIPhone(udid=udid)
    subject = [[["CN", "alice-scep-only"]]]
    payload = {"URL": f"{site.url}/scep", "Subject": subject, "Challenge": challenge, "Keysize": 2048}
    phone.enrol_scep({"PayloadContent": payload})
    assert site.ca.cli_json("renew", "run-once")["invitations"] == []  # a valid certificate: nothing to do
    site.ca.cli("device", "revoke", udid)
    report = site.ca.cli_json("renew", "run-once")
    assert [(i["device"], i["reason"]) for i in report["invitations"]] == [(udid, "revoked")]
    assert report["invitations"][0]["delivery"]["channel"] == "sms"  # alice has a phone number
    assert site.ca.cli_json("renew", "run-once")["invitations"] == []
