"""Alice enrols her iPhone from the SMS link to the decrypted final profile, against a real `campusca serve`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.integration.enrollment.conftest import ALICE_PHONE, PASSWORD, EnrollmentSite
from tests.support.apple_schema import validate_profile
from tests.support.iphone_simulator import SimulatedIPhone, strip_private


def _payload(profile: dict, payload_type: str) -> dict:
    return next(p for p in profile["PayloadContent"] if p["PayloadType"] == payload_type)


def test_alice_enrols_her_iphone_from_the_sms_link_to_the_final_profile(site: EnrollmentSite) -> None:
    link = site.invite("alice")
    assert site.gateway.messages[-1]["To"] == ALICE_PHONE
    assert link.startswith(f"{site.url}/enroll/") and len(link.rsplit("/", 1)[1]) >= 22  # >= 128 bits
    phone = SimulatedIPhone()

    final = phone.enrol(link, "alice", PASSWORD)

    profile_service, enrollment_profile = phone.profiles[0], phone.profiles[1]
    for profile in phone.profiles:
        validate_profile(strip_private(profile))
    assert profile_service["PayloadType"] == "Profile Service"
    assert set(profile_service["PayloadContent"]["DeviceAttributes"]) >= {
        "UDID", "IMEI", "MEID", "SERIAL", "PRODUCT", "VERSION", "MAC_ADDRESS_EN0", "DEVICE_NAME",
    }  # fmt: skip
    assert profile_service["PayloadContent"]["URL"] == f"{site.url}/enroll/ota"
    assert profile_service["_signer"] == site.authority.identity("profile-signing").certificate
    scep = _payload(enrollment_profile, "com.apple.security.scep")["PayloadContent"]
    assert scep["Keysize"] == 2048 and scep["Key Usage"] == 5 and scep["URL"] == f"{site.url}/scep"
    assert ["CN", f"alice {phone.udid}"] in [rdn[0] for rdn in scep["Subject"]]

    # The final profile: encrypted to the phase-2 certificate, passcode + VPN + the identity the VPN names.
    assert final["PayloadIdentifier"].endswith(f".device.{phone.udid}")
    passcode = _payload(final, "com.apple.mobiledevice.passwordpolicy")
    assert passcode["forcePIN"] is True and passcode["minLength"] == 6
    vpn = _payload(final, "com.apple.vpn.managed")
    identity = _payload(final, "com.apple.security.scep")
    assert vpn["VPNType"] == "IKEv2"
    assert vpn["IKEv2"]["PayloadCertificateUUID"] == identity["PayloadUUID"]
    assert vpn["IKEv2"]["AuthenticationMethod"] == "Certificate"
    assert vpn["IKEv2"]["EnableCertificateRevocationCheck"] == 1
    assert vpn["IKEv2"]["RemoteAddress"] == "vpn.example.edu"
    assert vpn["IKEv2"]["LocalIdentifier"] == "alice@example.edu"
    assert final["PayloadExpirationDate"].replace(tzinfo=UTC) < phone.vpn_certificate.not_valid_after_utc

    # Both device certificates are client-auth certificates naming Alice and the device.
    for certificate in (phone.scep_certificate, phone.vpn_certificate):
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
        assert f"alice {phone.udid}" in certificate.subject.rfc4514_string()

    # The administrator sees the device, its owner, certificates and history.
    shown = site.ca.cli_json("device", "show", phone.udid)
    assert shown["owner"] == "alice" and shown["state"] == "enrolled"
    assert shown["serial"] == phone.serial and shown["product"] == phone.product
    assert {c["role"] for c in shown["certificates"]} == {"enrollment", "vpn"}
    events = [h["event"] for h in shown["history"]]
    assert events[0] == "recorded" and "final_profile_sent" in events
    actions = [json.loads(line)["action"] for line in _audit_lines(site)]
    for action in ("invitation.created", "invitation.delivered", "login.succeeded", "enrollment.started",
                   "enrollment.profile_service_sent", "device.recorded", "enrollment.scep_profile_sent",
                   "enrollment.final_profile_sent"):  # fmt: skip
        assert action in actions, action


def _audit_lines(site: EnrollmentSite) -> list[str]:
    rows = site.ca.cli_json("audit", "list", "--limit", "500")
    return [json.dumps(r) for r in rows]


def test_session_cookie_is_secure_httponly_and_pages_are_phone_sized(site: EnrollmentSite) -> None:
    link = site.invite("alice")
    phone = SimulatedIPhone()
    page = phone.open_link(link)
    assert page.status_code == 200
    assert 'name="viewport" content="width=device-width' in page.text and "<script" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    login = phone.log_in(link, "alice", PASSWORD)
    assert login.status_code == 303
    cookie = next(v for k, v in login.headers.multi_items() if k == "set-cookie" and "campusca_enroll=" in v)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    status = phone.open_link(link)
    assert "Download profile" in status.text and "Decline" in status.text


def test_alice_declines_and_the_administrator_sees_it(site: EnrollmentSite) -> None:
    link = site.invite("alice")
    phone = SimulatedIPhone()
    assert phone.log_in(link, "alice", PASSWORD).status_code == 303
    profile_service = phone.download_profile_service(link)
    phone.phase2(profile_service)
    assert phone.decline(link).status_code == 303
    shown = site.ca.cli_json("device", "show", phone.udid)
    assert shown["state"] == "declined"
    assert "You declined" in phone.open_link(link).text
    assert "enrollment.declined" in [json.loads(line)["action"] for line in _audit_lines(site)]


@pytest.mark.parametrize("via", ["email"])
def test_invitation_by_email_uses_the_same_link_shape(site: EnrollmentSite, via: str) -> None:
    result = site.ca.cli("invite", "bob", "--via", via, "--show")
    link = result.stdout.strip().splitlines()[-1]
    assert link.startswith(f"{site.url}/enroll/")
    listed = site.ca.cli_json("invitations", "list", "--user", "bob")
    assert listed[0]["channel"] == "email" and listed[0]["delivery"]["status"] == "sent"
    assert listed[0]["status"] == "open" and datetime.fromisoformat(listed[0]["expires_at"]) > datetime.now(
        UTC
    )
