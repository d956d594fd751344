"""When MDM cannot replace Alice's certificate — the phone refuses the profile or never comes back — she
gets an invitation instead, once, and MDM does not try the same certificate again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from campusca.db.mdm import MdmRenewal
from tests.integration.mdm.conftest import MdmSite
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.mdm_client import MdmClient


def _revoked_and_pushed(mdm: MdmSite) -> MdmClient:
    phone = SimulatedIPhone()
    client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
    client.enrol()
    mdm.site.ca.cli("device", "revoke", phone.udid, "--reason", "superseded")
    assert [r["push"] for r in mdm.site.ca.cli_json("renew", "run-once")["mdm"]] == ["sent"]
    return client


def test_a_phone_that_refuses_the_replacement_profile_brings_an_invitation(mdm: MdmSite) -> None:
    client = _revoked_and_pushed(mdm)
    command = client.report("Idle")
    assert command is not None and command["Command"]["RequestType"] == "InstallProfile"
    refused = client.report(
        "Error",
        command["CommandUUID"],
        ErrorChain=[{"ErrorCode": 4001, "LocalizedDescription": "profile refused"}],
    )
    assert refused is None  # nothing else queued
    report = mdm.site.ca.cli_json("renew", "run-once")
    assert report["mdm"] == [] and [i["reason"] for i in report["invitations"]] == ["revoked"]
    assert mdm.site.ca.cli_json("renew", "run-once")["invitations"] == []  # once
    assert len(mdm.apns.pushes) == 1
    (listed,) = mdm.site.ca.cli_json("mdm", "commands", "--device", client.phone.udid)
    assert listed["status"] == "error" and "profile refused" in listed["error"]


def test_a_renewal_the_phone_never_collects_falls_back_to_an_invitation(mdm: MdmSite) -> None:
    client = _revoked_and_pushed(mdm)
    with mdm.site.authority.db.write() as session:  # pushed three weeks ago; the phone never came back
        session.execute(update(MdmRenewal).values(created_at=mdm.site.authority.now() - timedelta(days=21)))
    report = mdm.site.ca.cli_json("renew", "run-once")
    assert report["mdm"] == [] and [i["reason"] for i in report["invitations"]] == ["revoked"]
    (listed,) = mdm.site.ca.cli_json("mdm", "commands", "--device", client.phone.udid)
    assert listed["status"] == "cancelled"
    # No renewal in flight any more: the revoked identity is refused, the InstallProfile never handed out.
    assert client.put(client.payload["ServerURL"], client.report_body("Idle")).status_code == 401
