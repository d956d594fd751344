"""Malformed input: every CMS parser fails with a PkiError subclass, never a raw exception."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusca.pki import cms
from campusca.pki.cms import ContentCipher
from campusca.pki.errors import CmsDecodeError, PkiError
from tests.unit.pki.test_cms_support import NOW, Party, damaged, rsa_party
from tests.unit.pki.test_cms_support import to_indefinite_ber as _to_indefinite_ber

__all__ = ["rsa_party"]  # fixtures used by name

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parse_all(data: bytes, party: Party) -> None:
    """Run every parser on `data`; each may succeed or raise a PkiError, nothing else."""
    for parse in (
        lambda: cms.parse_signed_data(data),
        lambda: cms.parse_signed_data(data, detached_content=b"x"),
        lambda: cms.parse_certs_only(data),
        lambda: cms.decrypt_enveloped_data(
            data,
            recipient_certificate=party.certificate,
            decrypter=party.key,
            allowed_ciphers=frozenset(ContentCipher),
        ),
    ):
        with contextlib.suppress(PkiError):
            parse()


def _nested_definite(depth: int) -> bytes:
    value = b"\x05\x00"
    for _ in range(depth):
        value = (
            b"\x30"
            + (bytes([len(value)]) if len(value) < 0x80 else b"\x82" + len(value).to_bytes(2, "big"))
            + value
        )
    return value


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x30\x80",
        b"\x30\x03\x02\x01\x01",
        b"\x30\x80" * 40 + b"\x00\x00" * 40,
        _nested_definite(100),
        b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",  # signedData OID, no content
        b"\xbf\x21\x80\x05\x00\x00\x00",  # high-numbered tag, indefinite length
        b"hello",
    ],
    ids=[
        "fail-empty",
        "fail-zero",
        "fail-open-indefinite",
        "fail-integer",
        "fail-deep-indefinite",
        "fail-deep-definite",
        "fail-no-content",
        "fail-high-tag",
        "fail-text",
    ],
)
def test_parsers_reject_garbage_with_decode_error(rsa_party: Party, data: bytes) -> None:
    with pytest.raises(CmsDecodeError):
        cms.parse_signed_data(data)
    with pytest.raises(CmsDecodeError):
        cms.parse_certs_only(data)
    with pytest.raises(CmsDecodeError):
        cms.decrypt_enveloped_data(data, recipient_certificate=rsa_party.certificate, decrypter=rsa_party.key)


@FUZZ
@given(data=st.binary(max_size=512))
def test_parsers_raise_only_pki_errors_on_random_bytes(rsa_party: Party, data: bytes) -> None:
    _parse_all(data, rsa_party)


@FUZZ
@given(data=st.binary(max_size=64))
def test_parsers_raise_only_pki_errors_on_random_bytes_in_a_content_info(
    rsa_party: Party, data: bytes
) -> None:
    for oid in (
        b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",
        b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03",
    ):
        inner = b"\xa0" + bytes([len(data)]) + data
        _parse_all(b"\x30" + bytes([len(oid) + len(inner)]) + oid + inner, rsa_party)


@pytest.fixture(scope="module")
def valid_messages(rsa_party: Party) -> list[bytes]:
    signed = cms.build_signed_data(
        b"fuzz me", signer=rsa_party.key, signer_certificate=rsa_party.certificate, signing_time=NOW
    )
    return [
        signed,
        _to_indefinite_ber(signed, keep_definite=lambda p: len(p) > 4),
        cms.build_enveloped_data(b"fuzz me", [rsa_party.certificate], cipher=ContentCipher.AES_128_CBC),
        cms.build_enveloped_data(b"fuzz me", [rsa_party.certificate], cipher=ContentCipher.AES_128_GCM),
        _to_indefinite_ber(cms.build_enveloped_data(b"fuzz me", [rsa_party.certificate])),
        cms.build_certs_only([rsa_party.certificate]),
    ]


@FUZZ
@given(which=st.integers(0, 5), position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.booleans())
def test_parsers_raise_only_pki_errors_on_damaged_messages(
    rsa_party: Party, valid_messages: list[bytes], which: int, position: int, value: int, cut: bool
) -> None:
    _parse_all(damaged(valid_messages[which], position, value, cut), rsa_party)
