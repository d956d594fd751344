"""The certificate-only MDM codec: the com.apple.mdm payload, check-in and report plists, Mdm-Signature."""

from __future__ import annotations

import base64
import plistlib

import pytest

from campusca.apple import (
    CheckinType,
    MdmMessageInvalid,
    MdmSignatureInvalid,
    PayloadInvalid,
    ReportStatus,
    certificate_list_command,
    configuration_profile,
    final_profile,
    ikev2_vpn_payload,
    install_profile_command,
    mdm_payload,
    parse_checkin,
    parse_report,
    passcode_policy_payload,
    scep_payload,
    verify_mdm_signature,
)
from campusca.pki import cms
from tests.support.apple_schema import SchemaViolation, load_schemas, validate_command, validate_profile
from tests.unit.apple.conftest import Pki

TOPIC = "com.apple.mgmt.External.5b1a7c0e-2f43-4f39-9f54-0c7d2d8e1a11"
UDID = "00008110-000A1B2C3D4E5F60"


def _mdm(identity_uuid: str, **overrides: object) -> dict:
    values: dict[str, object] = {
        "identifier": "edu.example.campusca.device.x.mdm",
        "server_url": "https://ca.example.edu/mdm/server",
        "check_in_url": "https://ca.example.edu/mdm/checkin",
        "topic": TOPIC,
        "identity_payload_uuid": identity_uuid,
    } | overrides
    return mdm_payload(**values)  # type: ignore[arg-type]


def _scep() -> dict:
    return scep_payload(
        identifier="edu.example.campusca.device.x.identity",
        url="https://ca.example.edu/scep",
        subject=[[["CN", "alice"]]],
        challenge="one-time",
    )


def test_the_mdm_payload_holds_what_a_certificate_only_mdm_needs_and_validates() -> None:
    identity = _scep()
    payload = _mdm(str(identity["PayloadUUID"]))
    assert payload["AccessRights"] == 3 and payload["SignMessage"] is True
    assert (
        payload["CheckOutWhenRemoved"] is True
        and payload["IdentityCertificateUUID"] == identity["PayloadUUID"]
    )
    assert "com.apple.mdm" in load_schemas()
    profile = configuration_profile(
        payloads=[identity, payload],
        identifier="edu.example.campusca.device.x",
        display_name="d",
        organization="o",
        description="d",
    )
    validate_profile(profile)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        pytest.param({"topic": "com.example.push"}, "topic must begin with", id="fail-topic"),
        pytest.param(
            {"server_url": "http://ca.example.edu/mdm"}, "server_url must be an https", id="fail-http"
        ),
        pytest.param({"access_rights": 2}, "must include 1", id="fail-rights-2-without-1"),
        pytest.param({"access_rights": 0}, "between 1 and 8191", id="fail-rights-0"),
    ],
)
def test_the_mdm_payload_refuses_what_ios_would(overrides: dict, problem: str) -> None:
    with pytest.raises(PayloadInvalid, match=problem):
        _mdm("A1B2C3D4-0000-0000-0000-000000000001", **overrides)


def test_the_final_profile_carries_mdm_only_when_it_checks_in_with_the_identity(pki: Pki) -> None:
    identity = _scep()
    vpn = ikev2_vpn_payload(
        identifier="edu.example.campusca.device.x.vpn",
        display_name="VPN",
        remote_address="vpn.example.edu",
        remote_identifier="vpn.example.edu",
        local_identifier="alice@example.edu",
        identity_payload_uuid=str(identity["PayloadUUID"]),
    )
    passcode = passcode_policy_payload(identifier="edu.example.campusca.device.x.passcode")
    common = {
        "identifier": "edu.example.campusca.device.x",
        "display_name": "d",
        "organization": "o",
        "description": "d",
        "identity": identity,
        "passcode": passcode,
        "vpn": vpn,
        "encrypted_to": pki.enrolled,
    }
    profile = final_profile(**common, mdm=_mdm(str(identity["PayloadUUID"])))  # type: ignore[arg-type]
    content = cms.decrypt_enveloped_data(
        profile["EncryptedPayloadContent"], recipient_certificate=pki.enrolled, decrypter=pki.enrolled_key
    ).content
    types = [p["PayloadType"] for p in plistlib.loads(content)]
    assert types[-1] == "com.apple.mdm"
    with pytest.raises(PayloadInvalid, match="IdentityCertificateUUID"):
        final_profile(**common, mdm=_mdm("A1B2C3D4-0000-0000-0000-000000000001"))  # type: ignore[arg-type]


def _body(**keys: object) -> bytes:
    return plistlib.dumps(keys, fmt=plistlib.FMT_XML)


def test_check_ins_decode_and_a_token_update_needs_token_and_push_magic() -> None:
    authenticate = parse_checkin(_body(MessageType="Authenticate", UDID=UDID, Topic=TOPIC, DeviceName="x"))
    assert authenticate.message_type is CheckinType.AUTHENTICATE and authenticate.udid == UDID
    update = parse_checkin(
        _body(MessageType="TokenUpdate", UDID=UDID, Topic=TOPIC, Token=b"\x01\x02", PushMagic="m")
    )
    assert update.token == b"\x01\x02" and update.push_magic == "m"
    with pytest.raises(MdmMessageInvalid, match="Token"):
        parse_checkin(_body(MessageType="TokenUpdate", UDID=UDID, Topic=TOPIC, PushMagic="m"))
    with pytest.raises(MdmMessageInvalid, match="MessageType"):
        parse_checkin(_body(MessageType="UserAuthenticate", UDID=UDID, Topic=TOPIC))
    with pytest.raises(MdmMessageInvalid, match="not a property list"):
        parse_checkin(b"{not a plist")


def test_reports_decode_and_only_idle_may_omit_the_command_uuid() -> None:
    assert parse_report(_body(Status="Idle", UDID=UDID)).status is ReportStatus.IDLE
    acknowledged = parse_report(_body(Status="Acknowledged", UDID=UDID, CommandUUID="c1", CertificateList=[]))
    assert acknowledged.command_uuid == "c1" and acknowledged.fields == {"CertificateList": []}
    with pytest.raises(MdmMessageInvalid, match="CommandUUID"):
        parse_report(_body(Status="NotNow", UDID=UDID))
    with pytest.raises(MdmMessageInvalid, match="Status"):
        parse_report(_body(Status="Busy", UDID=UDID, CommandUUID="c1"))


def test_commands_are_the_plist_apple_defines() -> None:
    install = plistlib.loads(install_profile_command("c1", b"signed"))
    assert install == {
        "CommandUUID": "c1",
        "Command": {"RequestType": "InstallProfile", "Payload": b"signed"},
    }
    listing = plistlib.loads(certificate_list_command("c2"))
    assert listing["Command"]["RequestType"] == "CertificateList"


def _signature(pki: Pki, body: bytes) -> str:
    der = cms.build_signed_data(body, signer=pki.enrolled_key, signer_certificate=pki.enrolled, detached=True)
    return base64.b64encode(der).decode()


def test_an_mdm_signature_proves_the_signer_of_the_exact_body(pki: Pki) -> None:
    body = _body(Status="Idle", UDID=UDID)
    assert verify_mdm_signature(_signature(pki, body), body) == pki.enrolled
    with pytest.raises(MdmSignatureInvalid, match="does not verify"):
        verify_mdm_signature(_signature(pki, body), body.replace(b"Idle", b"Idla"))
    with pytest.raises(MdmSignatureInvalid, match="missing"):
        verify_mdm_signature(None, body)
    with pytest.raises(MdmSignatureInvalid, match="not base64"):
        verify_mdm_signature("***", body)
    attached = cms.build_signed_data(b"other", signer=pki.enrolled_key, signer_certificate=pki.enrolled)
    with pytest.raises(MdmSignatureInvalid):
        verify_mdm_signature(base64.b64encode(attached).decode(), body)


def test_commands_validate_against_apples_command_schemas() -> None:
    validate_command(plistlib.loads(install_profile_command("c1", b"signed")))
    validate_command(plistlib.loads(certificate_list_command("c2")), {"CertificateList": []})
    with pytest.raises(SchemaViolation, match="required key Payload"):
        validate_command({"CommandUUID": "c3", "Command": {"RequestType": "InstallProfile"}})
    with pytest.raises(SchemaViolation, match="CertificateList"):
        validate_command(plistlib.loads(certificate_list_command("c4")), {})
