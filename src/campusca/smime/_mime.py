"""Byte-exact MIME entity handling for S/MIME (RFC 2045, RFC 2046 §5.1, RFC 8551 §3.1).

The stdlib `email` package re-folds headers and re-encodes bodies when it serialises, which would
change the bytes a signature covers; so entities are split and joined here on raw bytes, and
`email` is used only to read header parameters.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import email.utils
import quopri
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message

from campusca.smime.errors import MalformedMessage

CRLF = b"\r\n"
_LINE_END = re.compile(rb"\r?\n")
_FIELD_NAME = re.compile(rb"^[!-9;-~]+$")  # RFC 5322 §3.6.8: printable ASCII except ':'


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One header field as it appeared, folded lines included, without its final line ending."""

    name: str
    raw: bytes

    @property
    def is_content(self) -> bool:
        """True for the Content-* fields, which describe the body and travel with it (RFC 2045 §9)."""
        return self.name.lower().startswith("content-")


@dataclass(frozen=True, slots=True)
class Entity:
    """A MIME entity (or RFC 5322 message): its header fields and its body bytes, untouched."""

    headers: tuple[HeaderField, ...]
    body: bytes

    def parsed_headers(self) -> Message:
        """The header fields parsed by the stdlib, to read Content-Type and its parameters."""
        block = b"".join(h.raw + CRLF for h in self.headers) + CRLF
        return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(block)

    def content_type(self) -> str:
        """The lower-case media type, `text/plain` when absent (RFC 2045 §5.2)."""
        return self.parsed_headers().get_content_type()

    def param(self, name: str) -> str | None:
        """A Content-Type parameter, RFC 2231 continuations collapsed."""
        value = self.parsed_headers().get_param(name)
        if value is None:
            return None
        return email.utils.collapse_rfc2231_value(value)

    def header(self, name: str) -> str | None:
        """The first field named `name`, unfolded, or None."""
        value = self.parsed_headers().get(name)
        return None if value is None else str(value)

    def transfer_encoding(self) -> str:
        """The lower-case Content-Transfer-Encoding, `7bit` when absent."""
        return (self.header("Content-Transfer-Encoding") or "7bit").strip().lower()

    def outer_headers(self) -> tuple[HeaderField, ...]:
        """The fields that stay on an RFC 5322 message when its content is wrapped: all but Content-*, MIME-Version."""
        return tuple(h for h in self.headers if not h.is_content and h.name.lower() != "mime-version")

    def content_headers(self) -> tuple[HeaderField, ...]:
        """The Content-* fields, which move into the signed or encrypted part."""
        return tuple(h for h in self.headers if h.is_content)


def parse_entity(raw: bytes) -> Entity:
    """Split raw bytes into header fields and body at the first empty line; CRLF or LF line ends."""
    headers: list[tuple[str, list[bytes]]] = []
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        line = raw[pos:] if end < 0 else raw[pos : end + 1]
        pos = len(raw) if end < 0 else end + 1
        text = line.rstrip(b"\r\n")
        if not text:
            return Entity(_fields(headers), raw[pos:])
        if text[:1] in (b" ", b"\t"):
            if not headers:
                raise MalformedMessage("message must not start with a folded header line")
            headers[-1][1].append(text)
            continue
        name, colon, _ = text.partition(b":")
        if not colon or not _FIELD_NAME.match(name.rstrip(b" \t")):
            raise MalformedMessage("message header line has no valid field name")
        headers.append((name.rstrip(b" \t").decode("ascii"), [text]))
    return Entity(_fields(headers), b"")


def _fields(headers: Sequence[tuple[str, list[bytes]]]) -> tuple[HeaderField, ...]:
    return tuple(HeaderField(name, CRLF.join(lines)) for name, lines in headers)


def render_entity(headers: Iterable[HeaderField], body: bytes) -> bytes:
    """Join header fields and a body into CRLF-terminated entity bytes."""
    return b"".join(h.raw + CRLF for h in headers) + CRLF + body


def header_field(name: str, value: str) -> HeaderField:
    """A new header field; values are ASCII, as every field this codec writes is."""
    return HeaderField(name, f"{name}: {value}".encode("ascii"))


def canonicalize(data: bytes) -> bytes:
    """Convert line ends to CRLF, the canonical form a MIME signature covers (RFC 8551 §3.1.1)."""
    return _LINE_END.sub(CRLF, data)


def base64_body(data: bytes) -> bytes:
    """Base64 in CRLF-terminated lines of 76 characters (RFC 2045 §6.8)."""
    return canonicalize(base64.encodebytes(data))


def decode_body(entity: Entity) -> bytes:
    """The body with its Content-Transfer-Encoding removed; binary bodies are returned as they are."""
    encoding = entity.transfer_encoding()
    if encoding == "base64":
        compact = re.sub(rb"\s+", b"", entity.body)
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedMessage("message body is not valid base64") from None
    if encoding in ("7bit", "8bit", "binary"):
        return entity.body
    raise MalformedMessage(f"Content-Transfer-Encoding {encoding!r} is not allowed for S/MIME content")


def seven_bit(entity: Entity) -> Entity:
    """Transfer-encode an 8-bit leaf body, so relays cannot rewrite signed bytes (RFC 8551 §3.1.2).

    Text goes to quoted-printable and anything else to base64. Multipart bodies are left as they
    are: their parts carry their own encodings.
    """
    if entity.transfer_encoding() not in ("7bit", "8bit", "binary"):
        return entity
    if entity.content_type().startswith(("multipart/", "message/")):
        return entity
    lines = _LINE_END.split(entity.body)
    if entity.body.isascii() and all(len(line) <= 998 for line in lines):
        return entity
    if entity.content_type().startswith("text/"):
        body = canonicalize(quopri.encodestring(_LINE_END.sub(b"\n", entity.body)))
        encoding = "quoted-printable"
    else:
        body = base64_body(entity.body)
        encoding = "base64"
    kept = tuple(h for h in entity.headers if h.name.lower() != "content-transfer-encoding")
    return Entity(kept + (header_field("Content-Transfer-Encoding", encoding),), body)


def multipart_parts(entity: Entity) -> list[bytes]:
    """The raw bytes of each body part of a multipart entity (RFC 2046 §5.1.1).

    The CRLF before each delimiter belongs to the delimiter, so a part's bytes end without it.
    """
    boundary = entity.param("boundary")
    if not boundary:
        raise MalformedMessage("multipart Content-Type has no boundary parameter")
    delimiter = re.compile(
        rb"(?:^|\r?\n)--" + re.escape(boundary.encode("ascii", "replace")) + rb"(--)?[ \t]*(?=\r?\n|$)"
    )
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(entity.body):
        if start is not None:
            parts.append(entity.body[start : match.start()])
        if match.group(1):
            return parts
        newline = entity.body.find(b"\n", match.end())
        start = len(entity.body) if newline < 0 else newline + 1
    raise MalformedMessage("multipart body has no closing boundary")


def prepared_part(entity: Entity, *, seven_bit_only: bool) -> bytes:
    """The MIME part to sign or encrypt: the content fields and body, in canonical CRLF form.

    A message without Content-Type gets the RFC 2045 §5.2 default spelled out, since the part
    no longer inherits the outer message's context. Binary bodies keep their bytes; with
    `seven_bit_only` (signing) 8-bit leaf bodies are transfer-encoded first.
    """
    headers = entity.content_headers() or (header_field("Content-Type", "text/plain; charset=us-ascii"),)
    inner = Entity(headers, entity.body)
    if inner.transfer_encoding() != "binary":
        inner = Entity(headers, canonicalize(entity.body))
    if seven_bit_only:
        inner = seven_bit(inner)
    return render_entity(inner.headers, inner.body)
