"""Validate configuration profiles against Apple's payload schemas (apple/device-management mdm/profiles/*.yaml).

The YAML files the tests need are vendored in `tests/vectors/apple-device-management` (MIT, Apple; origin
in tests/vectors/README.md), so the suite needs nothing outside the repository. Each payload is checked against CommonPayloadKeys plus its own
schema: required keys, plist types, `rangelist`, `range`, `format`, array `repetition`, unknown keys, nested subkeys,
and keys Apple marks unavailable on iOS. The `Profile Service` top level (phase 1 of OTA) has no schema in
that repository; its shape here follows Apple's OTA guide (research §2.2).
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

SCHEMAS = Path(__file__).parents[1] / "vectors" / "apple-device-management"
PROFILES_DIR = SCHEMAS / "mdm" / "profiles"

_TYPES: dict[str, tuple[type, ...]] = {
    "<string>": (str,),
    "<integer>": (int,),
    "<boolean>": (bool,),
    "<data>": (bytes,),
    "<date>": (datetime,),
    "<real>": (float,),
    "<array>": (list,),
    "<dictionary>": (dict,),
}

_STRING = {"type": "<string>", "presence": "optional"}
PROFILE_SERVICE_SCHEMA: dict[str, Any] = {
    "payload": {"payloadtype": "Profile Service"},
    "payloadkeys": [
        {"key": "PayloadIdentifier", "type": "<string>", "presence": "required"},
        {"key": "PayloadUUID", "type": "<string>", "presence": "required"},
        {"key": "PayloadType", "type": "<string>", "presence": "required", "rangelist": ["Profile Service"]},
        {"key": "PayloadVersion", "type": "<integer>", "presence": "required", "rangelist": [1]},
        {"key": "PayloadDisplayName", **_STRING},
        {"key": "PayloadDescription", **_STRING},
        {"key": "PayloadOrganization", **_STRING},
        {
            "key": "PayloadContent",
            "type": "<dictionary>",
            "presence": "required",
            "subkeys": [
                {"key": "URL", "type": "<string>", "presence": "required"},
                {
                    "key": "DeviceAttributes",
                    "type": "<array>",
                    "presence": "required",
                    "subkeys": [
                        {
                            "key": "DeviceAttribute",
                            "type": "<string>",
                            "rangelist": [
                                "UDID", "VERSION", "PRODUCT", "SERIAL", "MEID", "IMEI", "ICCID",
                                "MAC_ADDRESS_EN0", "DEVICE_NAME", "MODEL", "COMPROMISED", "DeviceID", "IMSI",
                            ],
                        }
                    ],
                },
                {"key": "Challenge", **_STRING},
            ],
        },
    ],
}  # fmt: skip


class SchemaViolation(AssertionError):
    """A profile breaks Apple's schema; the message lists every problem found, one per line."""


@functools.cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Return every YAML schema of mdm/profiles keyed by its payloadtype (TopLevel, CommonPayloadKeys, …)."""
    if not PROFILES_DIR.is_dir():
        raise FileNotFoundError(f"Apple schemas not found at {PROFILES_DIR}")
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(PROFILES_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        schemas[document["payload"]["payloadtype"]] = document
    return schemas


def profile_problems(profile: dict[str, Any], *, platform: str = "iOS") -> list[str]:
    """Return a list of human-readable problems with `profile` (empty when it satisfies the schemas)."""
    problems: list[str] = []
    schemas = load_schemas()
    if profile.get("PayloadType") == "Profile Service":
        _check_dict(profile, PROFILE_SERVICE_SCHEMA["payloadkeys"], "Profile Service", platform, problems)
        return problems
    encrypted = profile.get("IsEncrypted") is True
    if encrypted and "EncryptedPayloadContent" not in profile:
        problems.append("TopLevel: IsEncrypted is true but EncryptedPayloadContent is missing")
    # TopLevel: "If IsEncrypted is true, this array isn't needed". Its items are checked payload by payload.
    content_spec = {
        "key": "PayloadContent",
        "type": "<array>",
        "presence": "optional" if encrypted else "required",
    }
    top_keys = [
        content_spec if k["key"] == "PayloadContent" else k for k in schemas["TopLevel"]["payloadkeys"]
    ]
    _check_dict(profile, top_keys, "TopLevel", platform, problems)
    content = profile.get("PayloadContent")
    if isinstance(content, list):
        for index, payload in enumerate(content):
            _check_payload(payload, f"PayloadContent[{index}]", schemas, platform, problems)
        _check_profile_references(content, problems)
    return problems


def validate_profile(profile: dict[str, Any], *, platform: str = "iOS") -> None:
    """Raise SchemaViolation listing every problem when `profile` breaks Apple's schemas."""
    problems = profile_problems(profile, platform=platform)
    if problems:
        raise SchemaViolation("\n".join(problems))


def _check_payload(
    payload: Any, where: str, schemas: dict[str, dict[str, Any]], platform: str, problems: list[str]
) -> None:
    if not isinstance(payload, dict):
        problems.append(f"{where}: must be a dictionary")
        return
    payload_type = payload.get("PayloadType")
    schema = schemas.get(payload_type) if isinstance(payload_type, str) else None
    if schema is None or payload_type in ("TopLevel", "CommonPayloadKeys"):
        problems.append(f"{where}: unknown PayloadType {payload_type!r}")
        return
    where = f"{where} ({payload_type})"
    os_info = (schema["payload"].get("supportedOS") or {}).get(platform) or {}
    if os_info.get("introduced") == "n/a" or os_info.get("allowmanualinstall") is False:
        problems.append(f"{where}: payload cannot be installed manually on {platform}")
    own = {spec["key"]: spec for spec in schema["payloadkeys"]}
    merged = {spec["key"]: spec for spec in schemas["CommonPayloadKeys"]["payloadkeys"]} | own
    _check_dict(payload, list(merged.values()), where, platform, problems)


def _check_dict(value: dict[str, Any], specs: list[dict[str, Any]], where: str, platform: str,
                problems: list[str]) -> None:  # fmt: skip
    by_key = {spec["key"]: spec for spec in specs}
    wildcard = by_key.pop("ANY", None)
    for key, spec in by_key.items():
        if spec.get("presence") == "required" and key not in value:
            problems.append(f"{where}: required key {key} is missing")
    for key, item in value.items():
        spec = by_key.get(key, wildcard)
        if spec is None:
            problems.append(f"{where}: unknown key {key}")
            continue
        _check_value(item, spec, f"{where}.{key}", platform, problems)


def _check_value(value: Any, spec: dict[str, Any], where: str, platform: str, problems: list[str]) -> None:
    os_info = (spec.get("supportedOS") or {}).get(platform) or {}
    if os_info.get("introduced") == "n/a":
        problems.append(f"{where}: key is not available on {platform}")
    expected = spec.get("type", "<any>")
    if expected != "<any>":
        allowed = _TYPES.get(expected)
        if allowed is None:
            problems.append(f"{where}: schema type {expected} is unknown to the validator")
            return
        # bool is a subclass of int in Python, but <integer> and <boolean> differ in a plist.
        if not isinstance(value, allowed) or (expected == "<integer>" and isinstance(value, bool)):
            problems.append(f"{where}: expected {expected}, got {type(value).__name__}")
            return
    if "format" in spec and isinstance(value, str) and not re.fullmatch(spec["format"], value):
        problems.append(f"{where}: {value!r} does not match the format {spec['format']}")
    if "rangelist" in spec and value not in spec["rangelist"]:
        problems.append(f"{where}: {value!r} is not one of {spec['rangelist']}")
    bounds = spec.get("range") or {}
    if "min" in bounds and value < bounds["min"] or "max" in bounds and value > bounds["max"]:
        problems.append(f"{where}: {value!r} is outside {bounds}")
    subkeys = spec.get("subkeys") or []
    if isinstance(value, dict) and subkeys:
        _check_dict(value, subkeys, where, platform, problems)
    elif isinstance(value, list) and subkeys:
        element = subkeys[0]
        repetition = element.get("repetition") or {}
        if "min" in repetition and len(value) < repetition["min"]:
            problems.append(f"{where}: needs at least {repetition['min']} items, has {len(value)}")
        if "max" in repetition and len(value) > repetition["max"]:
            problems.append(f"{where}: allows at most {repetition['max']} items, has {len(value)}")
        for index, item in enumerate(value):
            _check_value(item, element, f"{where}[{index}]", platform, problems)


def _check_profile_references(payloads: list[Any], problems: list[str]) -> None:
    """Identifiers and UUIDs are unique, and every PayloadCertificateUUID names a payload of the profile."""
    dicts = [p for p in payloads if isinstance(p, dict)]
    for key in ("PayloadIdentifier", "PayloadUUID"):
        values = [p.get(key) for p in dicts]
        for duplicate in sorted({v for v in values if values.count(v) > 1}, key=str):
            problems.append(f"PayloadContent: {key} {duplicate!r} appears more than once")
    uuids = {p.get("PayloadUUID") for p in dicts}
    for reference in _references(dicts):
        if reference not in uuids:
            problems.append(f"PayloadContent: certificate UUID {reference!r} names no payload of the profile")


# Keys whose value is the PayloadUUID of another payload of the same profile (VPN, Mail's S/MIME identities).
_REFERENCE_KEYS = frozenset(
    {"PayloadCertificateUUID", "SMIMESigningCertificateUUID", "SMIMEEncryptionCertificateUUID"}
)


def _references(value: Any) -> list[Any]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in _REFERENCE_KEYS]
        return found + [r for k, v in value.items() if k not in _REFERENCE_KEYS for r in _references(v)]
    if isinstance(value, list):
        return [r for item in value for r in _references(item)]
    return []


COMMANDS_DIR = SCHEMAS / "mdm" / "commands"


@functools.cache
def load_command_schemas() -> dict[str, dict[str, Any]]:
    """Return every vendored MDM command schema (mdm/commands/*.yaml) keyed by its RequestType."""
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(COMMANDS_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        schemas[document["payload"]["requesttype"]] = document
    return schemas


def validate_command(command: dict[str, Any], response: dict[str, Any] | None = None, *,
                     platform: str = "iOS") -> None:  # fmt: skip
    """Raise SchemaViolation unless `command` ({CommandUUID, Command}) and the device's `response` keys
    (what it adds to its Acknowledged report) satisfy the command's schema."""
    problems: list[str] = []
    if not isinstance(command.get("CommandUUID"), str):
        problems.append("command: CommandUUID must be a string")
    body = command.get("Command")
    request_type = body.get("RequestType") if isinstance(body, dict) else None
    schema = load_command_schemas().get(request_type) if isinstance(request_type, str) else None
    if schema is None or not isinstance(body, dict):
        raise SchemaViolation(f"command: unknown RequestType {request_type!r}")
    request_type_spec = {"key": "RequestType", "type": "<string>", "presence": "required"}
    _check_dict(
        body, [request_type_spec, *(schema.get("payloadkeys") or [])], request_type, platform, problems
    )
    if response is not None:
        _check_dict(
            response, schema.get("responsekeys") or [], f"{request_type} response", platform, problems
        )
    if problems:
        raise SchemaViolation("\n".join(problems))
