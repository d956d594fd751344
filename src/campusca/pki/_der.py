"""A minimal DER writer for the CMS builders (X.690 §10): TLVs from bytes, nothing parsed or copied.

asn1crypto builds a structure from Python values, copies and retags every nested value, and then
serialises it: for a SCEP CertRep that was most of the reply's cost, several times the RSA
signature. The CMS messages campusca writes have fixed shapes around bytes it already has
(certificates, names, signatures), so they are written here directly; `tests/unit/test_cms_der.py`
holds them byte-equal to asn1crypto's encoding.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from cryptography import x509

from campusca.pki.errors import CmsDecodeError

NULL = b"\x05\x00"
EMPTY_SET = b"\x31\x00"


def length(size: int) -> bytes:
    """A DER length (X.690 §8.1.3)."""
    if size < 0x80:
        return bytes((size,))
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, *contents: bytes) -> bytes:
    body = b"".join(contents)
    return bytes((tag,)) + length(len(body)) + body


def sequence(*items: bytes) -> bytes:
    return tlv(0x30, *items)


def set_of(*items: bytes) -> bytes:
    """A SET OF: DER orders the encoded elements as octet strings (X.690 §11.6)."""
    return tlv(0x31, *sorted(items))


def explicit(number: int, value: bytes) -> bytes:
    """[number] EXPLICIT around a complete TLV."""
    return tlv(0xA0 | number, value)


def implicit(number: int, value: bytes, *, constructed: bool) -> bytes:
    """[number] IMPLICIT: the value's own tag replaced by the context tag (its length and body kept)."""
    return bytes((0x80 | (0x20 if constructed else 0) | number,)) + value[1:]


def integer(value: int) -> bytes:
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1  # the fewest octets with a sign bit
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def printable_string(value: str) -> bytes:
    return tlv(0x13, value.encode("ascii"))


def utf8_string(value: str) -> bytes:
    return tlv(0x0C, value.encode("utf-8"))


@lru_cache(maxsize=256)
def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form (X.690 §8.19)."""
    arcs = [int(arc) for arc in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"{dotted!r} is not an object identifier")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def algorithm(dotted: str, parameters: bytes | None = None) -> bytes:
    """An AlgorithmIdentifier; parameters absent unless given (NULL is given as `NULL`)."""
    return sequence(oid(dotted), parameters or b"")


def time(moment: datetime) -> bytes:
    """RFC 5652 §11.3 Time: UTCTime for 1950-2049, GeneralizedTime otherwise (seconds, in UTC)."""
    if moment.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    moment = moment.astimezone(UTC)
    if 1950 <= moment.year < 2050:
        return tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return tlv(0x18, (f"{moment.year:04d}" + moment.strftime("%m%d%H%M%S") + fraction + "Z").encode("ascii"))


def attribute(dotted: str, *values: bytes) -> bytes:
    """A CMS Attribute: its type and a SET OF the given encoded values."""
    return sequence(oid(dotted), set_of(*values))


def read_tlv(data: bytes, position: int) -> tuple[int, int]:
    """The (start of contents, end) of the TLV at `position`: single-byte tags, definite lengths (DER)."""
    first = data[position + 1]
    if first < 0x80:
        return position + 2, position + 2 + first
    count = first & 0x7F
    start = position + 2 + count
    if count == 0 or start > len(data):
        raise CmsDecodeError("a DER length is malformed")
    return start, start + int.from_bytes(data[position + 2 : start], "big")


def issuer_and_serial(certificate: x509.Certificate) -> bytes:
    """IssuerAndSerialNumber with the certificate's own issuer bytes (RFC 5652 §10.2.4), from its TBS."""
    tbs = certificate.tbs_certificate_bytes
    position, _ = read_tlv(tbs, 0)
    if tbs[position] == 0xA0:  # [0] version
        position = read_tlv(tbs, position)[1]
    serial_end = read_tlv(tbs, position)[1]
    issuer_start = read_tlv(tbs, serial_end)[1]  # after the signature AlgorithmIdentifier
    issuer_end = read_tlv(tbs, issuer_start)[1]
    return sequence(tbs[issuer_start:issuer_end], tbs[position:serial_end])
