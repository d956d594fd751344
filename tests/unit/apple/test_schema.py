"""The schema validator itself: it loads Apple's YAML and fails on profiles that break it."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from tests.support.apple_schema import SchemaViolation, load_schemas, profile_problems, validate_profile


def good_profile() -> dict[str, Any]:
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "org.campus.t",
        "PayloadUUID": "A",
        "PayloadExpirationDate": datetime(2030, 1, 1),
        "PayloadContent": [
            {
                "PayloadType": "com.apple.security.scep",
                "PayloadVersion": 1,
                "PayloadIdentifier": "org.campus.t.scep",
                "PayloadUUID": "B",
                "PayloadContent": {"URL": "https://ca/scep", "Subject": [[["CN", "x"]]], "Keysize": 2048},
            },
            {
                "PayloadType": "com.apple.vpn.managed",
                "PayloadVersion": 1,
                "PayloadIdentifier": "org.campus.t.vpn",
                "PayloadUUID": "C",
                "VPNType": "IKEv2",
                "UserDefinedName": "VPN",
                "IKEv2": {
                    "RemoteAddress": "vpn",
                    "RemoteIdentifier": "vpn",
                    "LocalIdentifier": "me",
                    "AuthenticationMethod": "Certificate",
                    "PayloadCertificateUUID": "B",
                    "IKESecurityAssociationParameters": {"DiffieHellmanGroup": 19, "LifeTimeInMinutes": 60},
                },
            },
        ],
    }


def test_schemas_load_every_payload_type_this_codec_emits() -> None:
    types = set(load_schemas())
    assert {
        "TopLevel",
        "CommonPayloadKeys",
        "com.apple.security.scep",
        "com.apple.vpn.managed",
        "com.apple.mobiledevice.passwordpolicy",
        "com.apple.security.root",
        "com.apple.security.pkcs1",
    } <= types


def test_validator_accepts_a_well_formed_profile() -> None:
    assert profile_problems(good_profile()) == []


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    profile = good_profile()
    target: Any = profile
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return profile


_DELETE = object()
VPN = ("PayloadContent", 1)
SCEP = ("PayloadContent", 0, "PayloadContent")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        pytest.param(("PayloadUUID",), _DELETE, "required key PayloadUUID is missing", id="fail-top-missing-uuid"),
        pytest.param(("PayloadType",), "Profile", "not one of", id="fail-top-type-rangelist"),
        pytest.param(("PayloadExpirationDate",), "2030-01-01", "expected <date>", id="fail-date-as-string"),
        pytest.param((*VPN, "UserDefinedName"), _DELETE, "UserDefinedName is missing", id="fail-vpn-missing-name"),
        pytest.param((*VPN, "VPNType"), "WireGuard", "not one of", id="fail-vpn-type"),
        pytest.param((*VPN, "IKEv2", "LocalIdentifier"), _DELETE, "LocalIdentifier is missing", id="fail-nested"),
        pytest.param((*VPN, "IKEv2", "EnablePFS"), True, "expected <integer>", id="fail-bool-for-integer"),
        pytest.param((*VPN, "IKEv2", "IKESecurityAssociationParameters", "LifeTimeInMinutes"), 5, "outside",
                     id="fail-range"),
        pytest.param((*VPN, "IKEv2", "PayloadCertificateUUID"), "Z", "names no payload", id="fail-dangling-ref"),
        pytest.param((*VPN, "Colour"), "blue", "unknown key Colour", id="fail-unknown-key"),
        pytest.param((*VPN, "PayloadIdentifier"), "org.campus.t.scep", "appears more than once", id="fail-dup-id"),
        pytest.param((*SCEP, "Keysize"), "2048", "expected <integer>", id="fail-string-for-integer"),
        pytest.param((*SCEP, "Keysize"), 3072, "not one of", id="fail-keysize-rangelist"),
        pytest.param((*SCEP, "Subject"), [[["CN", "x", "y"]]], "at most 2 items", id="fail-subject-triple"),
        pytest.param((*SCEP, "Subject"), [["CN", "x"]], "expected <array>", id="fail-subject-two-levels"),
        pytest.param((*SCEP, "KeyUsage"), 5, "unknown key KeyUsage", id="fail-unspaced-key-usage"),
        pytest.param(("PayloadContent", 0, "PayloadType"), "com.example.nope", "unknown PayloadType", id="fail-type"),
    ],
)  # fmt: skip
def test_validator_rejects_profile_breaking_schema(path: tuple[Any, ...], value: Any, problem: str) -> None:
    with pytest.raises(SchemaViolation, match=problem):
        validate_profile(_set(path, value))


def test_validator_flags_keys_apple_marks_unavailable_on_ios() -> None:
    profile = good_profile()
    profile["PayloadContent"].append(
        {
            "PayloadType": "com.apple.mobiledevice.passwordpolicy",
            "PayloadVersion": 1,
            "PayloadIdentifier": "org.campus.t.passcode",
            "PayloadUUID": "D",
            "changeAtNextAuth": True,  # macOS only: iOS introduced "n/a"
        }
    )
    assert profile_problems(profile, platform="macOS") == []
    assert profile_problems(profile) == [
        "PayloadContent[2] (com.apple.mobiledevice.passwordpolicy).changeAtNextAuth: key is not available on iOS"
    ]


def test_validator_requires_envelope_when_encrypted() -> None:
    profile = copy.deepcopy(good_profile())
    del profile["PayloadContent"]
    assert any("PayloadContent is missing" in p for p in profile_problems(profile))
    profile["IsEncrypted"] = True
    assert profile_problems(profile) == [
        "TopLevel: IsEncrypted is true but EncryptedPayloadContent is missing"
    ]
    profile["EncryptedPayloadContent"] = b"\x30\x80"
    assert profile_problems(profile) == []


def test_validator_checks_profile_service_shape() -> None:
    profile = {
        "PayloadType": "Profile Service",
        "PayloadVersion": 1,
        "PayloadIdentifier": "org.campus.ps",
        "PayloadUUID": "U",
        "PayloadContent": {"URL": "https://x", "DeviceAttributes": ["UDID", "SHOE_SIZE"]},
    }
    assert profile_problems(profile) == [
        "Profile Service.PayloadContent.DeviceAttributes[1]: 'SHOE_SIZE' is not one of "
        "['UDID', 'VERSION', 'PRODUCT', 'SERIAL', 'MEID', 'IMEI', 'ICCID', 'MAC_ADDRESS_EN0', 'DEVICE_NAME', "
        "'MODEL', 'COMPROMISED', 'DeviceID', 'IMSI']"
    ]
