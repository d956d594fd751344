"""SCEP signed attributes (RFC 8894 §3.2.1): encode for CertRep, read from a verified SignedData."""

from __future__ import annotations

from collections.abc import Mapping

from asn1crypto import core

from campusca.pki import cms
from campusca.scep.errors import ScepDecodeError

# Written as DER (pki/_der.py) rather than built as asn1crypto objects, which cost more per CertRep
# than its RSA signature; the same bytes asn1crypto writes (tests/unit/pki/test_cms_der.py).
_PRINTABLE_STRING, _UTF8_STRING, _OCTET_STRING = 0x13, 0x0C, 0x04

# Clients are told to send PrintableString (RFC 8894 §3.2.1); a server reads what it gets.
_TEXT_TYPES = (core.PrintableString, core.UTF8String, core.IA5String)

SignedAttributes = Mapping[str, tuple[bytes, ...]]  # each value's DER TLV


def printable_attribute(oid: str, value: str) -> bytes:
    """A DER attribute with one PrintableString value (Apple reads only tag 0x13 here)."""
    return cms.attribute(oid, cms.tlv(_PRINTABLE_STRING, value.encode("latin-1")))


def utf8_attribute(oid: str, value: str) -> bytes:
    """A DER attribute with one UTF8String value (failInfoText)."""
    return cms.attribute(oid, cms.tlv(_UTF8_STRING, value.encode("utf-8")))


def octets_attribute(oid: str, value: bytes) -> bytes:
    """A DER attribute with one OCTET STRING value (senderNonce, recipientNonce)."""
    return cms.attribute(oid, cms.tlv(_OCTET_STRING, value))


def _single_value(attributes: SignedAttributes, oid: str, name: str) -> core.Asn1Value | None:
    values = attributes.get(oid)
    if not values:
        return None
    if len(values) != 1:
        raise ScepDecodeError(f"{name} attribute must have exactly one value")
    try:
        return core.load(values[0])
    except (ValueError, TypeError) as exc:
        raise ScepDecodeError(f"{name} attribute value is not valid DER") from exc


def read_text(attributes: SignedAttributes, oid: str, name: str) -> str | None:
    """The string value of a single-valued text attribute, or None when it is absent."""
    value = _single_value(attributes, oid, name)
    if value is None:
        return None
    if not isinstance(value, _TEXT_TYPES):
        raise ScepDecodeError(f"{name} attribute must be a PrintableString")
    try:
        return str(value.native)
    except ValueError as exc:  # UnicodeDecodeError included: a UTF8String that is not UTF-8
        raise ScepDecodeError(f"{name} attribute is not a valid string") from exc


def read_octets(attributes: SignedAttributes, oid: str, name: str) -> bytes | None:
    """The bytes of a single-valued OCTET STRING attribute, or None when it is absent."""
    value = _single_value(attributes, oid, name)
    if value is None:
        return None
    if not isinstance(value, core.OctetString):
        raise ScepDecodeError(f"{name} attribute must be an OCTET STRING")
    return bytes(value.native)  # merges the chunks of a BER constructed OCTET STRING
