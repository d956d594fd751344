"""Payload builders: every output satisfies Apple's YAML schemas; bad inputs are refused by name."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from campusca.apple import (
    EncryptionAlgorithm,
    PayloadInvalid,
    SecurityAssociationParameters,
    certificate_payloads,
    configuration_profile,
    ikev2_vpn_payload,
    passcode_policy_payload,
    pkcs1_certificate_payload,
    profile_service_payload,
    root_certificate_payload,
    scep_payload,
    subject_from_name,
)
from tests.support.apple_schema import validate_profile

SUBJECT = [[["C", "CH"]], [["O", "Campus"]], [["CN", "alice iPhone"]], [["2.5.4.5", "F2LXK0ABCD12"]]]


def wrap(*payloads: dict[str, Any]) -> dict[str, Any]:
    return configuration_profile(
        payloads=list(payloads),
        identifier="org.campus.test",
        display_name="Test",
        organization="Campus",
        description="Test profile",
    )


def make_scep(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "identifier": "org.campus.test.scep",
        "url": "https://ca.campus.test/scep",
        "name": "campus",
        "subject": SUBJECT,
        "challenge": "one-time-7f3a",
    }
    return scep_payload(**(arguments | overrides))


def test_profile_service_payload_has_apple_shape_and_validates() -> None:
    profile = profile_service_payload(
        url="https://ca.campus.test/enroll/abc/profile-service",
        challenge="c-123",
        identifier="org.campus.enroll",
        display_name="Campus enrollment",
        organization="Campus",
    )
    validate_profile(profile)
    assert profile["PayloadType"] == "Profile Service"
    assert profile["PayloadContent"] == {
        "URL": "https://ca.campus.test/enroll/abc/profile-service",
        "DeviceAttributes": ["UDID", "IMEI", "ICCID", "VERSION", "PRODUCT", "SERIAL", "MAC_ADDRESS_EN0",
                             "DEVICE_NAME", "MEID"],
        "Challenge": "c-123",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"url": "http://ca.campus.test/x"}, "url", id="fail-plain-http"),
        pytest.param({"challenge": ""}, "challenge", id="fail-empty-challenge"),
        pytest.param({"attributes": ("UDID", "SHOE_SIZE")}, "attributes", id="fail-unknown-attribute"),
        pytest.param({"identifier": "no dots here"}, "identifier", id="fail-identifier-not-reverse-dns"),
    ],
)
def test_profile_service_payload_rejects_bad_input(overrides: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "url": "https://ca.campus.test/ps",
        "challenge": "c",
        "identifier": "org.campus.enroll",
        "display_name": "Enrol",
        "organization": "Campus",
    }
    with pytest.raises(PayloadInvalid, match=field):
        profile_service_payload(**(arguments | overrides))


def test_scep_payload_validates_and_uses_spaced_key_names() -> None:
    payload = make_scep(
        ca_fingerprint=hashlib.sha1(b"ca").digest(), subject_alt_names={"rfc822Name": "alice@campus.test"}
    )
    validate_profile(wrap(payload))
    content = payload["PayloadContent"]
    assert content["Subject"] == SUBJECT
    assert (content["Keysize"], content["Key Type"], content["Key Usage"]) == (2048, "RSA", 5)
    assert content["Challenge"] == "one-time-7f3a"
    assert "KeyUsage" not in content and "KeyType" not in content


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"key_size": 1024}, "key_size", id="fail-1024-bit"),
        pytest.param({"key_usage": 2}, "key_usage", id="fail-key-usage-2"),
        pytest.param({"subject": [["CN", "flat"]]}, "subject", id="fail-two-level-nesting"),
        pytest.param({"subject": [[["CN", "x", "y"]]]}, "subject", id="fail-triple"),
        pytest.param({"subject": [[["commonName", "x"]]]}, "subject attribute type", id="fail-long-name"),
        pytest.param(
            {"ca_fingerprint": hashlib.sha256(b"ca").digest()}, "ca_fingerprint", id="fail-sha256-print"
        ),
        pytest.param(
            {"subject_alt_names": {"iPAddress": "10.0.0.1"}}, "subject_alt_names", id="fail-san-key"
        ),
        pytest.param({"retries": -1}, "retries", id="fail-negative-retries"),
        pytest.param({"url": "ftp://ca/scep"}, "url", id="fail-url-scheme"),
    ],
)
def test_scep_payload_rejects_bad_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid, match=field):
        make_scep(**overrides)


def test_subject_from_name_gives_three_level_nesting_in_der_order() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Campus"),
            x509.NameAttribute(NameOID.COMMON_NAME, "alice"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "F2LX"),
        ]
    )
    assert subject_from_name(name) == [
        [["C", "CH"]],
        [["O", "Campus"]],
        [["CN", "alice"]],
        [["2.5.4.5", "F2LX"]],
    ]
    validate_profile(wrap(make_scep(subject=subject_from_name(name))))


def test_certificate_payloads_carry_der_and_pick_root_or_pkcs1(pki: Any) -> None:
    payloads = certificate_payloads([pki.root, pki.issuing_ca], identifier_prefix="org.campus.test")
    validate_profile(wrap(*payloads))
    assert [p["PayloadType"] for p in payloads] == ["com.apple.security.root", "com.apple.security.pkcs1"]
    assert payloads[0]["PayloadContent"] == pki.root.public_bytes(Encoding.DER)
    assert payloads[1]["PayloadCertificateFileName"] == "Campus-Issuing-CA.cer"


def test_root_and_pkcs1_builders_validate_alone(pki: Any) -> None:
    validate_profile(wrap(root_certificate_payload(pki.root, identifier="org.campus.test.root")))
    validate_profile(wrap(pkcs1_certificate_payload(pki.issuing_ca, identifier="org.campus.test.ca")))


def test_passcode_policy_payload_defaults_force_a_six_digit_pin() -> None:
    payload = passcode_policy_payload(identifier="org.campus.test.passcode")
    validate_profile(wrap(payload))
    assert (payload["forcePIN"], payload["minLength"], payload["requireAlphanumeric"]) == (True, 6, False)
    assert "maxFailedAttempts" not in payload


def test_passcode_policy_payload_with_every_option_validates() -> None:
    payload = passcode_policy_payload(
        identifier="org.campus.test.passcode",
        min_length=8,
        require_alphanumeric=True,
        allow_simple=False,
        min_complex_chars=1,
        max_inactivity_minutes=5,
        max_failed_attempts=10,
        max_pin_age_days=365,
        pin_history=5,
        max_grace_period_minutes=1,
    )
    validate_profile(wrap(payload))
    assert (payload["maxInactivity"], payload["maxFailedAttempts"], payload["allowSimple"]) == (5, 10, False)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"min_length": 17}, "min_length", id="fail-length-17"),
        pytest.param({"max_failed_attempts": 1}, "max_failed_attempts", id="fail-one-attempt"),
        pytest.param({"max_inactivity_minutes": 60}, "max_inactivity_minutes", id="fail-inactivity-60"),
        pytest.param({"max_pin_age_days": 731}, "max_pin_age_days", id="fail-age-731"),
        pytest.param({"min_length": True}, "min_length", id="fail-bool-as-int"),
    ],
)
def test_passcode_policy_payload_rejects_out_of_range(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid, match=field):
        passcode_policy_payload(identifier="org.campus.test.passcode", **overrides)


def test_ikev2_vpn_payload_references_identity_and_checks_revocation() -> None:
    identity = make_scep()
    vpn = ikev2_vpn_payload(
        identifier="org.campus.test.vpn",
        display_name="Campus VPN",
        remote_address="vpn.campus.test",
        remote_identifier="vpn.campus.test",
        local_identifier="alice-iphone.devices.campus.test",
        identity_payload_uuid=identity["PayloadUUID"],
        server_ca_common_name="Campus Issuing CA",
    )
    validate_profile(wrap(identity, vpn))
    ikev2 = vpn["IKEv2"]
    assert (vpn["VPNType"], vpn["UserDefinedName"]) == ("IKEv2", "Campus VPN")
    assert ikev2["AuthenticationMethod"] == "Certificate"
    assert ikev2["PayloadCertificateUUID"] == identity["PayloadUUID"]
    assert (ikev2["EnableCertificateRevocationCheck"], ikev2["EnablePFS"]) == (1, 1)
    assert (ikev2["CertificateType"], ikev2["ServerCertificateIssuerCommonName"]) == (
        "RSA",
        "Campus Issuing CA",
    )
    assert ikev2["IKESecurityAssociationParameters"]["DiffieHellmanGroup"] == 19


def test_ikev2_vpn_payload_rejects_weak_dh_group_and_short_lifetime() -> None:
    arguments: dict[str, Any] = {
        "identifier": "org.campus.test.vpn",
        "display_name": "VPN",
        "remote_address": "vpn.campus.test",
        "remote_identifier": "vpn.campus.test",
        "local_identifier": "alice",
        "identity_payload_uuid": "X",
    }
    with pytest.raises(PayloadInvalid, match="diffie_hellman_group"):
        ikev2_vpn_payload(**arguments, ike_sa=SecurityAssociationParameters(diffie_hellman_group=2))
    with pytest.raises(PayloadInvalid, match="lifetime_minutes"):
        ikev2_vpn_payload(**arguments, child_sa=SecurityAssociationParameters(lifetime_minutes=5))
    with pytest.raises(PayloadInvalid, match="remote_address"):
        ikev2_vpn_payload(**(arguments | {"remote_address": ""}))
    aes128 = SecurityAssociationParameters(encryption_algorithm=EncryptionAlgorithm.AES_128)
    assert (
        ikev2_vpn_payload(**arguments, ike_sa=aes128)["IKEv2"]["IKESecurityAssociationParameters"][
            "EncryptionAlgorithm"
        ]
        == "AES-128"
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"subject": []}, "subject must be", id="fail-empty-subject"),
        pytest.param({"subject": [[]]}, "subject RDN", id="fail-empty-rdn"),
        pytest.param({"challenge": ""}, "challenge", id="fail-empty-challenge"),
        pytest.param({"subject_alt_names": {"dNSName": ""}}, "subject_alt_names values", id="fail-empty-san"),
        pytest.param({"payload_uuid": ""}, "payload_uuid", id="fail-empty-uuid"),
    ],
)
def test_scep_payload_rejects_empty_values(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid, match=field):
        make_scep(**overrides)


def test_subject_from_name_rejects_binary_attribute() -> None:
    from cryptography.x509.name import _ASN1Type

    name = x509.Name(
        [x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\x01", _type=_ASN1Type.BitString)]
    )
    with pytest.raises(PayloadInvalid, match="2.5.4.45"):
        subject_from_name(name)


def test_certificate_payload_refuses_non_certificate_and_bad_prefix(pki: Any) -> None:
    with pytest.raises(TypeError, match="cert"):
        root_certificate_payload(pki.root.public_bytes(Encoding.DER), identifier="org.campus.x")  # type: ignore[arg-type]
    with pytest.raises(PayloadInvalid, match="identifier_prefix"):
        certificate_payloads([pki.root], identifier_prefix="campus")


def test_ikev2_vpn_payload_can_pin_the_server_certificate_name() -> None:
    vpn = ikev2_vpn_payload(
        identifier="org.campus.test.vpn",
        display_name="VPN",
        remote_address="203.0.113.7",
        remote_identifier="vpn.campus.test",
        local_identifier="alice",
        identity_payload_uuid="X",
        server_certificate_common_name="vpn.campus.test",
    )
    assert vpn["IKEv2"]["ServerCertificateCommonName"] == "vpn.campus.test"
    assert "CertificateType" not in vpn["IKEv2"]
