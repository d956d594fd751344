"""The byte-exact MIME helpers under sign/verify/encrypt (RFC 2045, RFC 2046 §5.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusca.smime import MalformedMessage
from campusca.smime._mime import (
    canonicalize,
    multipart_parts,
    parse_entity,
    prepared_part,
    render_entity,
    seven_bit,
)


def test_parse_entity_keeps_folded_header_lines_together() -> None:
    entity = parse_entity(
        b"Subject: a\r\n long subject\r\nContent-Type: text/plain;\n charset=utf-8\n\nbody\n"
    )
    assert [h.name for h in entity.headers] == ["Subject", "Content-Type"]
    assert entity.headers[0].raw == b"Subject: a\r\n long subject"
    assert entity.param("charset") == "utf-8"
    assert entity.body == b"body\n"


def test_parse_entity_without_blank_line_has_an_empty_body() -> None:
    entity = parse_entity(b"Subject: only headers")
    assert entity.body == b""
    assert entity.content_type() == "text/plain"


def test_parse_entity_rejects_a_leading_continuation_line() -> None:
    with pytest.raises(MalformedMessage, match="folded"):
        parse_entity(b" continued: x\r\n\r\n")


def test_multipart_parts_ignores_preamble_and_epilogue_and_strips_the_delimiter_crlf() -> None:
    body = b"preamble\r\n--b\r\npart one\r\n\r\n--b \r\npart two\r\n--b--\r\nepilogue\r\n--b\r\nignored"
    entity = parse_entity(b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body)
    assert multipart_parts(entity) == [b"part one\r\n", b"part two"]


def test_multipart_parts_does_not_split_on_a_longer_boundary_lookalike() -> None:
    body = b"--b\r\n--bx is text\r\n--b--\r\n"
    entity = parse_entity(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body)
    assert multipart_parts(entity) == [b"--bx is text"]


def test_prepared_part_spells_out_the_default_content_type() -> None:
    part = prepared_part(parse_entity(b"Subject: s\n\nhello\n"), seven_bit_only=True)
    assert part == b"Content-Type: text/plain; charset=us-ascii\r\n\r\nhello\r\n"


def test_prepared_part_keeps_binary_bodies_unchanged_when_encrypting() -> None:
    entity = parse_entity(
        b"Content-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n\r\n\x89PNG\n\x00"
    )
    assert prepared_part(entity, seven_bit_only=False).endswith(b"\r\n\r\n\x89PNG\n\x00")


def test_seven_bit_base64_encodes_an_8bit_attachment() -> None:
    entity = parse_entity(b"Content-Type: application/octet-stream\r\n\r\n\xff\xfe")
    encoded = seven_bit(entity)
    assert encoded.transfer_encoding() == "base64"
    assert encoded.body == b"//4=\r\n"


def test_seven_bit_leaves_multipart_bodies_alone() -> None:
    entity = parse_entity(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xff\r\n--b--\r\n")
    assert seven_bit(entity) == entity


@given(st.binary(max_size=200))
def test_parse_then_render_round_trips_canonical_messages(body: bytes) -> None:
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\n" + body
    entity = parse_entity(raw)
    assert render_entity(entity.headers, entity.body) == raw


@given(st.text(alphabet="ab\r\n", max_size=50))
def test_canonicalize_is_idempotent_and_leaves_no_bare_lf(text: str) -> None:
    once = canonicalize(text.encode())
    assert canonicalize(once) == once
    assert b"\n" not in once.replace(b"\r\n", b"")
