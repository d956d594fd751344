"""A strict DER reader for the CMS parsers' fast paths: TLV offsets, nothing copied or built.

asn1crypto parses any BER, lazily, building a Python object per value it touches: for a SCEP
request that was about two thirds of its decoding, more than the RSA decryption. Nearly every
message campusca receives is plain DER, so the parsers first walk it with this reader and fall
back to asn1crypto on `NotStrictDer`: anything this reader does not take (indefinite or
non-minimal lengths, high tag numbers, a shape the fast path does not expect) is parsed the
general way, which also gives the precise error for bad input.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple


class NotStrictDer(Exception):
    """The bytes are not in the strict DER shape a fast path takes: parse them the general way."""


class Tlv(NamedTuple):
    """One value: its tag, where its TLV starts, where its contents start, where it ends."""

    tag: int
    head: int
    body: int
    end: int


_MAX_LENGTH_OCTETS = 4  # 4 GiB: more than any message campusca accepts over HTTP
_MAX_NESTING = 64  # as the general parser's BER walk (_cms_der.definite_lengths)


def _extent(data: bytes, start: int, end: int) -> tuple[int, int]:
    """(start of contents, end) of the value at `start`, which must end by `end`; strict DER only."""
    if end - start < 2 or data[start] & 0x1F == 0x1F:  # a high tag number: in no structure read here
        raise NotStrictDer
    first = data[start + 1]
    if first < 0x80:
        body = start + 2
        stop = body + first
    else:
        count = first & 0x7F
        body = start + 2 + count
        # Indefinite (count 0), oversized, or not minimal (X.690 §10.1): the general parser decides.
        if count == 0 or count > _MAX_LENGTH_OCTETS or body > end or data[start + 2] == 0:
            raise NotStrictDer
        size = int.from_bytes(data[start + 2 : body], "big")
        if size < 0x80:
            raise NotStrictDer
        stop = body + size
    if stop > end:
        raise NotStrictDer
    return body, stop


def tlvs(data: bytes, start: int, end: int) -> list[Tlv]:
    """The values that exactly fill data[start:end]: single-octet tags, minimal definite lengths."""
    found = []
    while start < end:
        body, stop = _extent(data, start, end)
        found.append(Tlv(data[start], start, body, stop))
        start = stop
    return found


def check_tree(data: bytes) -> None:
    """Raise NotStrictDer unless `data` is one value and every value in it, nested ones too, is strict DER.

    The general parser walks every constructed value before it parses (to rewrite BER) and refuses a
    malformed one even in a field it never reads; a fast path checks the same, so that it takes no
    message the general parser would refuse.
    """
    if _extent(data, 0, len(data))[1] != len(data):
        raise NotStrictDer
    pending = [(0, len(data), 0)]
    while pending:
        start, end, depth = pending.pop()
        if depth > _MAX_NESTING:
            raise NotStrictDer
        while start < end:
            body, stop = _extent(data, start, end)
            if data[start] & 0x20:
                pending.append((body, stop, depth + 1))
            start = stop


def content_info(data: bytes, content_type: bytes) -> Tlv:
    """The SEQUENCE inside a ContentInfo whose contentType is `content_type` (the OID's DER), after check_tree."""
    check_tree(data)
    (info,) = shaped(tlvs(data, 0, len(data)), 0x30)
    kind, explicit = shaped(inside(data, info), 0x06, 0xA0)
    if whole(data, kind) != content_type:
        raise NotStrictDer
    return only(data, explicit, 0x30)


def inside(data: bytes, value: Tlv) -> list[Tlv]:
    """The values inside a constructed value."""
    if not value.tag & 0x20:
        raise NotStrictDer
    return tlvs(data, value.body, value.end)


def only(data: bytes, value: Tlv, tag: int) -> Tlv:
    """The single value inside `value`, which must carry `tag`."""
    children = inside(data, value)
    if len(children) != 1 or children[0].tag != tag:
        raise NotStrictDer
    return children[0]


def shaped(children: list[Tlv], *tags: int) -> list[Tlv]:
    """`children`, if their tags are exactly `tags` in order."""
    if len(children) != len(tags) or any(child.tag != tag for child, tag in zip(children, tags, strict=True)):
        raise NotStrictDer
    return children


def contents(data: bytes, value: Tlv) -> bytes:
    return data[value.body : value.end]


def whole(data: bytes, value: Tlv) -> bytes:
    """The value's complete TLV."""
    return data[value.head : value.end]


def oid_of(data: bytes, value: Tlv) -> str:
    """The dotted form of an OBJECT IDENTIFIER value."""
    if value.tag != 0x06:
        raise NotStrictDer
    return _dotted(data[value.body : value.end])


@lru_cache(maxsize=512)
def _dotted(body: bytes) -> str:
    arcs: list[int] = []
    arc = 0
    fresh = True
    for octet in body:
        if fresh and octet == 0x80:
            raise NotStrictDer  # a padded arc (X.690 §8.19.2)
        arc = (arc << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(arc)
            arc = 0
    if not arcs or not fresh:
        raise NotStrictDer
    first = min(arcs[0] // 40, 2)
    return ".".join(str(part) for part in (first, arcs[0] - 40 * first, *arcs[1:]))
