"""The administrator sees a device's MDM state: enrolled, last check-in, current certificate, commands."""

from __future__ import annotations

import httpx

from tests.integration.enrollment.test_device_api import _token
from tests.integration.mdm.conftest import MdmSite
from tests.integration.mdm.test_checkin_and_commands import _queue_certificate_list
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.mdm_client import MdmClient


def test_device_show_and_rest_report_the_mdm_state_and_the_command_queue(mdm: MdmSite) -> None:
    phone = SimulatedIPhone()
    client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
    before = mdm.site.ca.cli_json("device", "show", phone.udid)["mdm"]
    assert before == {"enrolled": False, "last_checkin": None, "current_certificate": None, "commands": []}

    client.enrol()
    queued = _queue_certificate_list(mdm, phone.udid)
    shown = mdm.site.ca.cli_json("device", "show", phone.udid)["mdm"]
    assert shown["enrolled"] is True and shown["last_checkin"] is not None
    assert shown["current_certificate"]["serial"] == format(client.identity.serial_number, "x")
    assert shown["current_certificate"]["not_after"].startswith(
        str(client.identity.not_valid_after_utc.date())
    )
    assert [(c["request_type"], c["command_uuid"], c["status"]) for c in shown["commands"]] == [
        ("CertificateList", queued, "queued")
    ]

    over_rest = httpx.get(
        f"{mdm.site.plain_url}/api/v1/devices/{phone.udid}", headers=_token(mdm.site, "auditor")
    )
    assert over_rest.status_code == 200 and over_rest.json()["mdm"] == shown

    client.perform(client.report("Idle"))
    listed = mdm.site.ca.cli_json("mdm", "commands")
    assert [(c["device"], c["status"]) for c in listed] == [(phone.udid, "acknowledged")]
    table = mdm.site.ca.cli("mdm", "commands", "--device", phone.udid).stdout
    assert "MDM commands (1)" in table
