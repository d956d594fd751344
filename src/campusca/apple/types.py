"""Plist value types and the keys every payload shares (Apple CommonPayloadKeys schema).

Builders return plain dictionaries because a profile *is* a property list: what a builder returns is
exactly what `plistlib` writes, so the schema validator and the device see the same thing.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import TypeAlias

from campusca.apple.errors import PayloadInvalid

PlistValue: TypeAlias = (
    "str | int | float | bool | bytes | datetime | list[PlistValue] | dict[str, PlistValue]"
)
Payload: TypeAlias = "dict[str, PlistValue]"

# Reverse-DNS as Apple uses it: dot-separated labels of letters, digits, '-' and '_' (at least two).
_REVERSE_DNS = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")


def new_payload_uuid() -> str:
    """Return a fresh random PayloadUUID (uuid4, upper case as Apple's own tools write it)."""
    return str(uuid.uuid4()).upper()


def check_identifier(identifier: str, *, field: str = "identifier") -> str:
    """Return `identifier` if it is a reverse-DNS PayloadIdentifier, else raise PayloadInvalid."""
    if not isinstance(identifier, str) or not _REVERSE_DNS.match(identifier):
        raise PayloadInvalid(f"{field} must be a reverse-DNS string such as 'org.example.vpn'")
    return identifier


def payload_header(
    payload_type: str,
    *,
    identifier: str,
    display_name: str | None = None,
    description: str | None = None,
    organization: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return the CommonPayloadKeys of one payload; optional keys are left out when None."""
    header: Payload = {
        "PayloadType": payload_type,
        "PayloadVersion": 1,
        "PayloadIdentifier": check_identifier(identifier),
        "PayloadUUID": payload_uuid if payload_uuid is not None else new_payload_uuid(),
    }
    if not header["PayloadUUID"]:
        raise PayloadInvalid("payload_uuid must not be empty")
    for key, value in (
        ("PayloadDisplayName", display_name),
        ("PayloadDescription", description),
        ("PayloadOrganization", organization),
    ):
        if value is not None:
            header[key] = value
    return header


def check_int_range(value: int, *, field: str, low: int, high: int | None = None) -> int:
    """Return `value` if it is an int within [low, high], else raise PayloadInvalid naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadInvalid(f"{field} must be an integer")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise PayloadInvalid(f"{field} must be {bounds}")
    return value
