"""The iPhone S/MIME profile: two PKCS#12 identities and a Mail account, encrypted, valid by Apple's schemas."""

from __future__ import annotations

import plistlib
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from campusca.apple import (
    MailServers,
    PayloadInvalid,
    mail_payload,
    pkcs12_payload,
    serialize_profile,
    smime_profile,
)
from campusca.pki import cms
from campusca.pki.pkcs12 import export_pkcs12
from tests.support.apple_schema import profile_problems, validate_profile
from tests.unit.apple.conftest import Pki

SERVERS = MailServers(incoming_host="imap.example.edu", outgoing_host="smtp.example.edu", outgoing_port=587)


def _identities(pki: Pki) -> tuple[dict[str, Any], dict[str, Any]]:
    p12 = export_pkcs12(key=pki.enrolled_key, certificate=pki.enrolled, password=b"s3cret-one", legacy=True)
    signing = pkcs12_payload(
        p12, password="s3cret-one", identifier="edu.example.smime.signing", display_name="S"
    )
    encryption = pkcs12_payload(
        p12, password="s3cret-one", identifier="edu.example.smime.encryption", display_name="E"
    )
    return signing, encryption


def _mail(
    signing: dict[str, Any], encryption: dict[str, Any], servers: MailServers = SERVERS
) -> dict[str, Any]:
    return mail_payload(
        servers,
        identifier="edu.example.smime.mail",
        email="alice@example.edu",
        account_name="Alice Archer",
        username="alice",
        signing_identity_uuid=str(signing["PayloadUUID"]),
        encryption_identity_uuid=str(encryption["PayloadUUID"]),
    )


def _decrypted(profile: dict[str, Any], pki: Pki) -> dict[str, Any]:
    opened = dict(profile)
    envelope = opened.pop("EncryptedPayloadContent")
    content = cms.decrypt_enveloped_data(
        envelope, recipient_certificate=pki.enrolled, decrypter=pki.enrolled_key
    )
    opened.pop("IsEncrypted")
    opened["PayloadContent"] = plistlib.loads(content.content)
    return opened


def test_smime_profile_is_encrypted_and_its_payloads_satisfy_apples_schemas(pki: Pki) -> None:
    signing, encryption = _identities(pki)
    profile = smime_profile(
        identifier="edu.example.smime",
        display_name="S/MIME",
        organization="Example University",
        description="Mail signing and encryption",
        signing=signing,
        encryption=encryption,
        mail=_mail(signing, encryption),
        encrypted_to=pki.enrolled,
    )
    assert profile["IsEncrypted"] is True and "PayloadContent" not in profile
    assert b"s3cret-one" not in serialize_profile(profile)  # passwords travel inside the envelope only
    validate_profile(profile)

    opened = _decrypted(profile, pki)
    validate_profile(opened)
    types = [p["PayloadType"] for p in opened["PayloadContent"]]
    assert types == ["com.apple.security.pkcs12", "com.apple.security.pkcs12", "com.apple.mail.managed"]
    first = opened["PayloadContent"][0]
    key, certificate, _ = pkcs12.load_key_and_certificates(
        first["PayloadContent"], first["Password"].encode()
    )
    assert certificate == pki.enrolled and key is not None
    mail = opened["PayloadContent"][2]
    assert mail["SMIMESigningCertificateUUID"] == signing["PayloadUUID"]
    assert mail["SMIMEEncryptionCertificateUUID"] == encryption["PayloadUUID"]
    assert mail["EmailAccountType"] == "EmailTypeIMAP" and mail["OutgoingMailServerPortNumber"] == 587
    assert "IncomingPassword" not in mail  # the phone asks for it when the profile is installed


def test_smime_profile_without_mail_servers_has_only_the_two_identities(pki: Pki) -> None:
    signing, encryption = _identities(pki)
    profile = smime_profile(
        identifier="edu.example.smime",
        display_name="S/MIME",
        organization="Example University",
        description="Mail signing and encryption",
        signing=signing,
        encryption=encryption,
        mail=None,
        encrypted_to=pki.enrolled,
    )
    opened = _decrypted(profile, pki)
    assert [p["PayloadType"] for p in opened["PayloadContent"]] == ["com.apple.security.pkcs12"] * 2
    validate_profile(opened)


def test_schema_check_finds_a_mail_payload_naming_a_missing_identity(pki: Pki) -> None:
    signing, encryption = _identities(pki)
    mail = _mail(signing, encryption)
    mail["SMIMESigningCertificateUUID"] = "00000000-0000-0000-0000-000000000000"
    problems = profile_problems({"PayloadType": "Configuration", "PayloadVersion": 1,
                                 "PayloadIdentifier": "edu.example.x", "PayloadUUID": "U",
                                 "PayloadDisplayName": "x", "PayloadContent": [signing, encryption, mail]})  # fmt: skip
    assert any("names no payload" in p for p in problems)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"incoming_protocol": "exchange"}, "incoming_protocol", id="fail-protocol"),
        pytest.param({"incoming_host": "imap example"}, "incoming_host", id="fail-host"),
        pytest.param({"outgoing_port": 70000}, "OutgoingMailServerPortNumber", id="fail-port"),
    ],
)
def test_mail_payload_refuses_bad_servers_by_name(pki: Pki, change: dict[str, Any], message: str) -> None:
    signing, encryption = _identities(pki)
    with pytest.raises(PayloadInvalid, match=message):
        _mail(signing, encryption, replace(SERVERS, **change))


def test_smime_profile_refuses_a_mail_payload_pointing_elsewhere(pki: Pki) -> None:
    signing, encryption = _identities(pki)
    other, _ = _identities(pki)
    with pytest.raises(PayloadInvalid, match="must name the signing and encryption"):
        smime_profile(
            identifier="edu.example.smime",
            display_name="S/MIME",
            organization="Example University",
            description="d",
            signing=other,
            encryption=encryption,
            mail=_mail(signing, encryption),
            encrypted_to=pki.enrolled,
        )


def test_pkcs12_payload_needs_a_password() -> None:
    with pytest.raises(PayloadInvalid, match="password"):
        pkcs12_payload(b"\x30\x00", password="", identifier="edu.example.p12", display_name="x")


def test_schema_check_finds_a_mail_certificate_uuid_of_the_wrong_format(pki: Pki) -> None:
    signing, encryption = _identities(pki)
    mail = _mail(signing, encryption)
    mail["SMIMEEncryptionCertificateUUID"] = encryption["PayloadUUID"] = "not-a-uuid"
    profile = {"PayloadType": "Configuration", "PayloadVersion": 1, "PayloadIdentifier": "edu.example.x",
               "PayloadUUID": "U", "PayloadDisplayName": "x", "PayloadContent": [signing, encryption, mail]}  # fmt: skip
    assert any("does not match the format" in p for p in profile_problems(profile))
