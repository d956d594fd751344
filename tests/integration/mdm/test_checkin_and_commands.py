"""Alice's iPhone checks in over MDM: signed messages only, from the identity campusca issued to that UDID,
and a durable command queue with at most one command outstanding."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from campusca.apple import certificate_list_command
from campusca.db.mdm import MdmDevice
from campusca.db.ota import Device
from campusca.services import mdm as mdm_service
from campusca.services.mdm.commands import enqueue
from tests.integration.mdm.conftest import MdmSite
from tests.support.iphone import issue_test_certificate
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.mdm_client import MdmClient

BOB_UDID = "00008110-000B0B0B0B0B0B0B"


def _enrolled(site: MdmSite, phone: SimulatedIPhone | None = None, username: str = "alice") -> MdmClient:
    phone = phone or SimulatedIPhone()
    client = MdmClient.from_final_profile(phone, site.site.enrol(phone, username))
    client.enrol()
    return client


def _mdm_row(site: MdmSite, udid: str) -> MdmDevice:
    with site.site.authority.db.read() as session:
        device = session.execute(select(Device).where(Device.udid == udid)).scalar_one()
        row = session.execute(select(MdmDevice).where(MdmDevice.device_id == device.id)).scalar_one()
        session.expunge(row)
        return row


def _queue_certificate_list(site: MdmSite, udid: str) -> str:
    authority = site.site.authority
    with authority.db.write() as session:
        device = session.execute(select(Device).where(Device.udid == udid)).scalar_one()
        command = enqueue(session, device, "CertificateList", authority.now())
        command.body = certificate_list_command(command.command_uuid)
        return command.command_uuid


def test_alices_iphone_authenticates_and_sends_its_push_token(mdm: MdmSite) -> None:
    client = _enrolled(mdm)
    row = _mdm_row(mdm, client.phone.udid)
    assert row.enrolled and row.topic == mdm.push.topic
    assert row.push_token_hex == client.token.hex() and row.push_magic == client.push_magic
    assert row.identity_serial_hex.lstrip("0") == format(client.identity.serial_number, "x")
    assert client.report("Idle") is None  # nothing queued: an empty 200


def test_forged_tampered_unsigned_and_foreign_signatures_are_refused(mdm: MdmSite) -> None:
    alice = _enrolled(mdm)
    bob = _enrolled(mdm, SimulatedIPhone(udid=BOB_UDID), "bob")
    body = alice.report_body("Idle")
    server = alice.payload["ServerURL"]

    assert alice.put(server, body, signature=None).status_code == 401  # unsigned
    tampered = alice.signature(body)
    assert alice.put(server, body.replace(b"Idle", b"Idla"), signature=tampered).status_code == 401
    # Forged: Alice's key, but a certificate campusca never issued (self-signed, same subject).
    forged = issue_test_certificate(subject="alice", key=alice.identity_key)
    assert alice.put(server, body, signature=alice.signature(body, certificate=forged)).status_code == 401
    # Foreign: Bob's genuine identity speaking for Alice's UDID.
    foreign = alice.signature(body, key=bob.identity_key, certificate=bob.identity)
    refused = alice.put(server, body, signature=foreign)
    assert refused.status_code == 401 and "not issued for this UDID" in refused.text
    checkin = alice.checkin_body("TokenUpdate")
    assert alice.put(alice.payload["CheckInURL"], checkin, signature=foreign).status_code == 401
    assert alice.put(server, body).status_code == 200  # the genuine message still goes through


def test_a_command_is_outstanding_until_answered_and_not_now_brings_it_again_later(mdm: MdmSite) -> None:
    client = _enrolled(mdm)
    first = _queue_certificate_list(mdm, client.phone.udid)
    second = _queue_certificate_list(mdm, client.phone.udid)

    command = client.report("Idle")
    assert command is not None and command["CommandUUID"] == first
    again = client.report("Idle")  # the answer was lost: the same command, never the second one
    assert again is not None and again["CommandUUID"] == first
    assert client.report("NotNow", first) is None  # left alone for now
    later = client.report("Idle")
    assert later is not None and later["CommandUUID"] == first
    following = client.perform(later)
    assert following is not None and following["CommandUUID"] == second
    assert client.perform(following) is None

    listed = {
        c.command_uuid: c for c in mdm_service.list_commands(mdm.site.authority, udid=client.phone.udid)
    }
    assert listed[first].status == "acknowledged" and listed[first].not_now_count == 1
    assert listed[first].attempts == 3 and listed[second].status == "acknowledged"


def test_a_checkout_leaves_the_device_unenrolled(mdm: MdmSite) -> None:
    client = _enrolled(mdm)
    assert client.check_in("CheckOut").status_code == 200
    assert not _mdm_row(mdm, client.phone.udid).enrolled
    response = client.put(client.payload["ServerURL"], client.report_body("Idle"))
    assert response.status_code == 401


def test_a_malformed_report_is_a_400(mdm: MdmSite) -> None:
    client = _enrolled(mdm)
    body = plistlib.dumps({"Status": "Sleeping", "UDID": client.phone.udid})
    assert client.put(client.payload["ServerURL"], body).status_code == 400
