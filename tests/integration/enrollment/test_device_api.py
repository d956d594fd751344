"""Administrators see and revoke devices over REST and set the passcode policy the final profile enforces."""

from __future__ import annotations

import httpx

from tests.integration.enrollment.conftest import EnrollmentSite
from tests.support.apple_schema import validate_profile
from tests.support.iphone_simulator import SimulatedIPhone


def _token(site: EnrollmentSite, role: str) -> dict[str, str]:
    value = (
        site.ca.cli("token", "create", "--role", role, "--name", f"{role}-devices")
        .stdout.strip()
        .splitlines()[-1]
    )
    return {"Authorization": f"Bearer {value}"}


def test_the_organisation_policy_reaches_the_phone_and_devices_are_managed_over_rest(
    site: EnrollmentSite,
) -> None:
    admin, auditor = _token(site, "admin"), _token(site, "auditor")
    api = f"{site.plain_url}/api/v1"
    policy = httpx.put(
        f"{api}/organisations/Example University/device-policy",
        json={"min_length": 8, "require_alphanumeric": True, "max_failed_attempts": 10},
        headers=admin,
    )
    assert policy.status_code == 200 and policy.json()["min_length"] == 8
    bad = httpx.put(
        f"{api}/organisations/Example University/device-policy", json={"min_length": 40}, headers=admin
    )
    assert bad.status_code == 400 and "min_length must be between 0 and 16" in bad.json()["message"]

    phone = SimulatedIPhone()
    final = site.enrol(phone)
    validate_profile(final)
    passcode = next(
        p for p in final["PayloadContent"] if p["PayloadType"] == "com.apple.mobiledevice.passwordpolicy"
    )
    assert (
        passcode["minLength"] == 8
        and passcode["requireAlphanumeric"] is True
        and passcode["maxFailedAttempts"] == 10
    )

    listed = httpx.get(f"{api}/devices", params={"username": "alice"}, headers=auditor)
    assert listed.status_code == 200 and [d["udid"] for d in listed.json()] == [phone.udid]
    shown = httpx.get(f"{api}/devices/{phone.udid}", headers=auditor).json()
    assert shown["owner"] == "alice" and shown["imei"] == phone.imei and len(shown["certificates"]) == 2
    assert httpx.post(f"{api}/devices/{phone.udid}/revoke", json={}, headers=auditor).status_code == 403
    retired = httpx.post(
        f"{api}/devices/{phone.udid}/revoke", json={"reason": "superseded", "retire": True}, headers=admin
    )
    assert retired.status_code == 200 and retired.json()["state"] == "retired"
    assert site.ca.cli_json("renew", "run-once")["invitations"] == []  # a retired device is not re-invited
    assert httpx.get(f"{api}/devices/nope", headers=auditor).status_code == 404
    (listed_by_cli,) = site.ca.cli_json("device", "list", "--state", "retired")
    assert listed_by_cli["udid"] == phone.udid
    assert "retired" in site.ca.cli("device", "list").stdout
