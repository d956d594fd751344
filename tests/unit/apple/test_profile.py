"""Top-level profiles: plain, encrypted to a device, signed; checked with openssl and the phone's side."""

from __future__ import annotations

import plistlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from campusca.apple import (
    PayloadInvalid,
    configuration_profile,
    final_profile,
    ikev2_vpn_payload,
    passcode_policy_payload,
    scep_payload,
    serialize_profile,
    sign_profile,
)
from tests.support.apple_schema import validate_profile
from tests.support.iphone import open_final_profile
from tests.support.peers import require_peer

PREFIX = "org.campus.device.00008110"


def final_parts(**vpn_overrides: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    identity = scep_payload(
        identifier=f"{PREFIX}.scep",
        url="https://ca.campus.test/scep",
        name="campus",
        subject=[[["O", "Campus"]], [["CN", "alice iPhone"]]],
        challenge="fresh-one-time-challenge",
        subject_alt_names={"rfc822Name": "alice@campus.test"},
    )
    passcode = passcode_policy_payload(identifier=f"{PREFIX}.passcode", max_failed_attempts=10)
    vpn_arguments: dict[str, Any] = {
        "identifier": f"{PREFIX}.vpn",
        "display_name": "Campus VPN",
        "remote_address": "vpn.campus.test",
        "remote_identifier": "vpn.campus.test",
        "local_identifier": "alice-iphone",
        "identity_payload_uuid": identity["PayloadUUID"],
    }
    vpn = ikev2_vpn_payload(**(vpn_arguments | vpn_overrides))
    return identity, passcode, vpn


def build_final(pki: Any, *, expiration: datetime | None = None) -> dict[str, Any]:
    identity, passcode, vpn = final_parts()
    return final_profile(
        identifier=PREFIX,
        display_name="Campus policy",
        organization="Campus",
        description="Passcode and VPN for Alice's iPhone",
        identity=identity,
        passcode=passcode,
        vpn=vpn,
        encrypted_to=pki.enrolled,
        ca_certificates=[pki.root, pki.issuing_ca],
        expiration_date=expiration,
    )


def write_pem(tmp_path: Path, pki: Any) -> tuple[Path, Path]:
    key = tmp_path / "device.key"
    key.write_bytes(pki.enrolled_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert = tmp_path / "device.pem"
    cert.write_bytes(pki.enrolled.public_bytes(Encoding.PEM))
    return key, cert


def test_plain_profile_validates_and_round_trips_through_xml_plist() -> None:
    identity, passcode, vpn = final_parts()
    expires = datetime(2031, 5, 4, 12, 0, tzinfo=UTC) + timedelta(hours=2)
    profile = configuration_profile(
        payloads=[identity, passcode, vpn],
        identifier=PREFIX,
        display_name="Campus",
        organization="Campus",
        description="d",
        expiration_date=expires,
    )
    validate_profile(profile)
    xml = serialize_profile(profile)
    assert xml.startswith(b"<?xml") and b"<key>PayloadExpirationDate</key>" in xml
    loaded = plistlib.loads(xml)
    assert loaded["PayloadExpirationDate"] == datetime(2031, 5, 4, 14, 0)  # plist dates are UTC
    assert [p["PayloadType"] for p in loaded["PayloadContent"]] == [
        "com.apple.security.scep",
        "com.apple.mobiledevice.passwordpolicy",
        "com.apple.vpn.managed",
    ]


def test_configuration_profile_rejects_dangling_certificate_reference() -> None:
    identity, passcode, _ = final_parts()
    _, _, vpn = final_parts()  # a VPN pointing at another profile's identity
    with pytest.raises(PayloadInvalid, match="PayloadCertificateUUID"):
        configuration_profile(
            payloads=[identity, passcode, vpn],
            identifier=PREFIX,
            display_name="x",
            organization="x",
            description="x",
        )


def test_configuration_profile_rejects_duplicate_identifier_and_naive_date() -> None:
    identity, passcode, _ = final_parts()
    arguments: dict[str, Any] = {
        "identifier": PREFIX,
        "display_name": "x",
        "organization": "x",
        "description": "x",
    }
    with pytest.raises(PayloadInvalid, match="appears twice"):
        configuration_profile(payloads=[passcode, dict(passcode, PayloadUUID="other")], **arguments)
    with pytest.raises(PayloadInvalid, match="PayloadExpirationDate"):
        configuration_profile(payloads=[identity], expiration_date=datetime(2031, 1, 1), **arguments)
    with pytest.raises(PayloadInvalid, match="payloads"):
        configuration_profile(payloads=[], **arguments)


def test_encrypted_profile_hides_payloads_and_sets_is_encrypted(pki: Any) -> None:
    profile = build_final(pki)
    validate_profile(profile)
    assert "PayloadContent" not in profile
    assert profile["IsEncrypted"] is True
    assert isinstance(profile["EncryptedPayloadContent"], bytes)
    assert b"fresh-one-time-challenge" not in serialize_profile(profile)


def test_final_profile_opens_on_the_phone_with_vpn_pointing_at_its_identity(pki: Any) -> None:
    expires = datetime.now(UTC) + timedelta(days=300)
    signed = sign_profile(
        build_final(pki, expiration=expires),
        signer=pki.signer_key,
        signer_certificate=pki.signer,
        chain=[pki.issuing_ca],
    )
    opened = open_final_profile(signed, device_key=pki.enrolled_key, device_certificate=pki.enrolled)
    validate_profile(opened)
    by_type = {p["PayloadType"]: p for p in opened["PayloadContent"]}
    assert list(by_type) == [
        "com.apple.security.root",
        "com.apple.security.pkcs1",
        "com.apple.security.scep",
        "com.apple.mobiledevice.passwordpolicy",
        "com.apple.vpn.managed",
    ]
    vpn, identity = by_type["com.apple.vpn.managed"], by_type["com.apple.security.scep"]
    assert vpn["IKEv2"]["PayloadCertificateUUID"] == identity["PayloadUUID"]
    assert identity["PayloadContent"]["Challenge"] == "fresh-one-time-challenge"
    assert by_type["com.apple.mobiledevice.passwordpolicy"]["forcePIN"] is True
    assert opened["PayloadExpirationDate"] == expires.replace(microsecond=0, tzinfo=None)


def test_final_profile_refuses_vpn_that_names_another_identity(pki: Any) -> None:
    identity, passcode, _ = final_parts()
    _, _, foreign_vpn = final_parts(identity_payload_uuid="0F0F0F0F-0000-4000-8000-000000000000")
    with pytest.raises(PayloadInvalid, match="vpn PayloadCertificateUUID"):
        final_profile(
            identifier=PREFIX,
            display_name="x",
            organization="x",
            description="x",
            identity=identity,
            passcode=passcode,
            vpn=foreign_vpn,
            encrypted_to=pki.enrolled,
        )
    with pytest.raises(PayloadInvalid, match="identity"):
        final_profile(
            identifier=PREFIX,
            display_name="x",
            organization="x",
            description="x",
            identity=passcode,
            passcode=passcode,
            vpn=foreign_vpn,
            encrypted_to=pki.enrolled,
        )


@pytest.mark.interop
def test_signed_profile_verifies_with_openssl_and_carries_the_xml_plist(pki: Any, tmp_path: Path) -> None:
    require_peer("openssl")
    profile = build_final(pki)
    signed = sign_profile(
        profile, signer=pki.signer_key, signer_certificate=pki.signer, chain=[pki.issuing_ca]
    )
    (tmp_path / "profile.mobileconfig").write_bytes(signed)
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-noverify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "profile.mobileconfig"),
        ],
        capture_output=True,
        check=True,
    )
    assert result.stdout == serialize_profile(profile)
    assert b"Verification successful" in result.stderr
    certs = subprocess.run(
        [
            "openssl",
            "pkcs7",
            "-inform",
            "DER",
            "-print_certs",
            "-noout",
            "-in",
            str(tmp_path / "profile.mobileconfig"),
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "Campus Profile Signing" in certs and "Campus Issuing CA" in certs


@pytest.mark.interop
def test_encrypted_payloads_decrypt_with_openssl_and_the_device_key(pki: Any, tmp_path: Path) -> None:
    require_peer("openssl")
    profile = build_final(pki)
    (tmp_path / "payloads.p7m").write_bytes(profile["EncryptedPayloadContent"])
    key, cert = write_pem(tmp_path, pki)
    result = subprocess.run(
        ["openssl", "cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "payloads.p7m"),
         "-inkey", str(key), "-recip", str(cert)],
        capture_output=True,
        check=True,
    )  # fmt: skip
    payloads = plistlib.loads(result.stdout)
    assert isinstance(payloads, list)
    assert [p["PayloadType"] for p in payloads][-1] == "com.apple.vpn.managed"
    info = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "payloads.p7m")],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "aes-128-cbc" in info and "rsaEncryption" in info


def test_configuration_profile_rejects_malformed_payload_lists(pki: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.support.iphone import issue_test_certificate

    identity, passcode, _ = final_parts()
    arguments: dict[str, Any] = {
        "identifier": PREFIX,
        "display_name": "x",
        "organization": "x",
        "description": "x",
    }
    cases: list[tuple[list[Any], str]] = [
        (["not a dict"], "dictionaries"),
        ([{"PayloadIdentifier": "org.x.y"}], "PayloadUUID string"),
        ([passcode, dict(identity, PayloadUUID=passcode["PayloadUUID"])], "PayloadUUID .* appears twice"),
        ([dict(passcode, Extra=None)], "cannot represent"),
    ]
    for payloads, message in cases:
        with pytest.raises(PayloadInvalid, match=message):
            serialize_profile(configuration_profile(payloads=payloads, **arguments))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_cert = issue_test_certificate(subject="ec", key=ec_key)  # type: ignore[arg-type]
    with pytest.raises(PayloadInvalid, match="encrypted_to must carry an RSA key"):
        configuration_profile(payloads=[passcode], encrypted_to=ec_cert, **arguments)


def test_profile_service_payload_needs_attributes() -> None:
    from campusca.apple import profile_service_payload

    with pytest.raises(PayloadInvalid, match="attributes"):
        profile_service_payload(
            url="https://x.test/ps", challenge="c", identifier="org.x.ps", display_name="x", organization="x",
            attributes=(),
        )  # fmt: skip


def test_final_profile_checks_passcode_and_vpn_payload_types(pki: Any) -> None:
    identity, passcode, vpn = final_parts()
    arguments: dict[str, Any] = {
        "identifier": PREFIX, "display_name": "x", "organization": "x", "description": "x",
        "identity": identity, "encrypted_to": pki.enrolled,
    }  # fmt: skip
    with pytest.raises(PayloadInvalid, match="passcode must be"):
        final_profile(passcode=vpn, vpn=vpn, **arguments)
    with pytest.raises(PayloadInvalid, match="vpn must be"):
        final_profile(passcode=passcode, vpn=passcode, **arguments)
