"""The SCEP attribute readers on values `cms.parse_signed_data` itself would already refuse."""

from __future__ import annotations

import pytest
from asn1crypto import core

from campusca.scep import ScepDecodeError
from campusca.scep._attributes import read_octets, read_text

OID = "2.16.840.1.113733.1.9.7"


def _unknown_universal_tag() -> bytes:
    value = core.OctetString(b"ZZ")
    value.tag = 14
    return value.dump()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"\x0c\x01\xff", id="fail-utf8-not-utf8"),
        pytest.param(_unknown_universal_tag(), id="fail-unknown-universal-tag"),
        pytest.param(core.OctetString(b"19").dump(), id="fail-octets-for-text"),
    ],
)
def test_read_text_of_broken_value_is_decode_error(value: bytes) -> None:
    with pytest.raises(ScepDecodeError, match="transactionID"):
        read_text({OID: (value,)}, OID, "transactionID")


def test_read_text_absent_is_none() -> None:
    assert read_text({}, OID, "transactionID") is None


def test_read_octets_of_constructed_ber_octet_string_merges_chunks() -> None:
    value = bytes.fromhex("2480" + "0402abcd" + "0401ef" + "0000")
    assert read_octets({OID: (value,)}, OID, "senderNonce") == b"\xab\xcd\xef"
