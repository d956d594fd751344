"""Alice's iPhone renews its own certificate over MDM: revoked or expiring, pushed, replaced, confirmed —
and a keyCompromise, a silent phone or a restart never take the wrong path."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import update

from campusca.db.mdm import MdmDevice
from tests.integration.enrollment.conftest import ALICE_PHONE, prepare_home, write_settings
from tests.integration.mdm.conftest import MdmSite
from tests.support.apns import apns_stand_in, make_push_certificate
from tests.support.apple_schema import validate_command, validate_profile
from tests.support.ca import serving
from tests.support.iphone_simulator import SimulatedIPhone, strip_private
from tests.support.mdm_client import MdmClient
from tests.support.sms_gateway import sms_gateway


def _ocsp_status(url: str, issuer: x509.Certificate, certificate: x509.Certificate) -> ocsp.OCSPCertStatus:
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
    response = httpx.post(
        f"{url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    return ocsp.load_der_ocsp_response(response.content).certificate_status


def _renew_over_mdm(client: MdmClient) -> dict:
    """The phone wakes up, answers Idle, installs the replacement, acknowledges, lists its certificates."""
    command = client.report("Idle")
    assert command is not None and command["Command"]["RequestType"] == "InstallProfile"
    validate_command(command)
    listing = client.perform(command)
    assert listing is not None and listing["Command"]["RequestType"] == "CertificateList"
    validate_command(listing, {"CertificateList": client.certificate_list()})
    assert client.perform(listing) is None
    return client.installed[-1]


def test_a_revoked_certificate_is_replaced_over_mdm_without_alice_doing_anything(mdm: MdmSite) -> None:
    phone = SimulatedIPhone()
    first = mdm.site.enrol(phone)
    client = MdmClient.from_final_profile(phone, first)
    client.enrol()
    old_key, old = client.identity_key, client.identity
    mdm.site.ca.cli("device", "revoke", phone.udid)  # reason unspecified: MDM may repair it

    report = mdm.site.ca.cli_json("renew", "run-once")
    assert report["invitations"] == [] and [r["push"] for r in report["mdm"]] == ["sent"]
    (push,) = mdm.apns.pushes
    assert push["path"] == f"/3/device/{client.token.hex()}" and push["http_version"] == "2"
    assert push["topic"] == mdm.push.topic and push["push_type"] == "mdm"
    assert json.loads(push["body"]) == {"mdm": client.push_magic}
    again = mdm.site.ca.cli_json("renew", "run-once")
    assert again["mdm"] == [] and again["invitations"] == [] and len(mdm.apns.pushes) == 1  # never twice

    # NotNow: the same command comes again at the next Idle.
    command = client.report("Idle")
    assert command is not None and command["Command"]["RequestType"] == "InstallProfile"
    assert client.report("NotNow", command["CommandUUID"]) is None
    replacement = _renew_over_mdm(client)

    assert replacement["PayloadIdentifier"] == first["PayloadIdentifier"]
    validate_profile(strip_private(replacement))
    payloads = {p["PayloadType"]: p for p in replacement["PayloadContent"]}
    identity_uuid = payloads["com.apple.security.scep"]["PayloadUUID"]
    assert payloads["com.apple.mdm"]["IdentityCertificateUUID"] == identity_uuid
    assert payloads["com.apple.vpn.managed"]["IKEv2"]["PayloadCertificateUUID"] == identity_uuid
    assert (
        identity_uuid
        != {p["PayloadType"]: p for p in first["PayloadContent"]}["com.apple.security.scep"]["PayloadUUID"]
    )

    issuer = mdm.site.authority.chain()[0]
    assert client.identity.serial_number != old.serial_number
    assert _ocsp_status(mdm.site.plain_url, issuer, client.identity) is ocsp.OCSPCertStatus.GOOD
    assert _ocsp_status(mdm.site.plain_url, issuer, old) is ocsp.OCSPCertStatus.REVOKED
    body = client.report_body("Idle")
    stale = client.put(
        client.payload["ServerURL"], body, signature=client.signature(body, key=old_key, certificate=old)
    )
    assert stale.status_code == 401  # the old identity is refused on the MDM channel
    shown = mdm.site.ca.cli_json("device", "show", phone.udid)
    assert shown["state"] == "enrolled"
    assert mdm.site.ca.cli_json("renew", "run-once")["invitations"] == []
    assert not [m for m in mdm.site.gateway.messages if m["To"] == ALICE_PHONE and "renew" in m["Body"]]


def test_a_certificate_entering_the_renewal_window_is_replaced_and_the_old_one_superseded(
    mdm: MdmSite,
) -> None:
    phone = SimulatedIPhone()
    client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
    client.enrol()
    old = client.identity
    assert mdm.site.ca.cli_json("renew", "run-once", "--window-days", "30")["mdm"] == []
    report = mdm.site.ca.cli_json("renew", "run-once", "--window-days", "800")
    assert [(r["reason"], r["push"]) for r in report["mdm"]] == [("expiring", "sent")]
    assert report["invitations"] == []  # the phase-2 certificate does not bring an invitation either
    _renew_over_mdm(client)
    issuer = mdm.site.authority.chain()[0]
    assert _ocsp_status(mdm.site.plain_url, issuer, old) is ocsp.OCSPCertStatus.REVOKED
    assert _ocsp_status(mdm.site.plain_url, issuer, client.identity) is ocsp.OCSPCertStatus.GOOD
    commands = mdm.site.ca.cli_json("mdm", "commands", "--device", phone.udid)
    assert [(c["request_type"], c["status"]) for c in commands] == [
        ("CertificateList", "acknowledged"),
        ("InstallProfile", "acknowledged"),
    ]


def test_a_key_compromise_brings_an_invitation_and_never_a_push(mdm: MdmSite) -> None:
    phone = SimulatedIPhone()
    client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
    client.enrol()
    mdm.site.ca.cli("device", "revoke", phone.udid, "--reason", "keyCompromise")
    report = mdm.site.ca.cli_json("renew", "run-once")
    assert report["mdm"] == [] and mdm.apns.pushes == []
    assert [i["reason"] for i in report["invitations"]] == ["revoked"]
    refused = client.put(client.payload["ServerURL"], client.report_body("Idle"))
    assert refused.status_code == 401 and "revoked" in refused.text  # whoever holds the key gets nothing


def test_a_phone_that_has_not_checked_in_for_too_long_gets_an_invitation(mdm: MdmSite) -> None:
    phone = SimulatedIPhone()
    client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
    client.enrol()
    with mdm.site.authority.db.write() as session:  # the phone was last seen three weeks ago
        session.execute(
            update(MdmDevice).values(last_checkin_at=mdm.site.authority.now() - timedelta(days=21))
        )
    mdm.site.ca.cli("device", "revoke", phone.udid)
    report = mdm.site.ca.cli_json("renew", "run-once")
    assert report["mdm"] == [] and mdm.apns.pushes == []
    assert [i["reason"] for i in report["invitations"]] == ["revoked"]


def test_a_restart_between_push_and_check_in_loses_nothing(ca_template: Path, tmp_path: Path) -> None:
    push = make_push_certificate(tmp_path / "push")
    ca = prepare_home(ca_template, tmp_path)
    with sms_gateway() as gateway, apns_stand_in(tmp_path / "apns", push.issuer_file) as apns:
        write_settings(ca.home, ca.port, {"renewal_enabled": False, **gateway.settings(), **apns.settings()})
        phone = SimulatedIPhone()
        with serving(ca):
            ca.cli("mdm", "push-cert", "import", str(push.cert), str(push.key))
            ca.cli("invite", "alice", "--via", "sms")
            client = MdmClient.from_final_profile(
                phone, phone.enrol(gateway.links()[-1], "alice", "campusca-demo")
            )
            client.enrol()
            ca.cli("device", "revoke", phone.udid)
            assert [r["push"] for r in ca.cli_json("renew", "run-once")["mdm"]] == ["sent"]
        with serving(ca):  # a new process: the queue and the renewal come from the database
            _renew_over_mdm(client)
            shown = ca.cli_json("device", "show", phone.udid)
            assert shown["state"] == "enrolled"
        assert len(apns.pushes) == 1  # the phone needed no second push
