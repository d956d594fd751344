"""The hand-written revokedCertificates encoder gives, byte for byte, what asn1crypto encodes (DER rules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asn1crypto import crl as asn1_crl

from campusca.pki.crl import RevocationReason, RevokedEntry
from campusca.pki.crl_stream import encode_revoked, entry_der

SERIALS = [
    1,  # one octet
    0x7F,  # the largest one-octet INTEGER
    0x80,  # high bit set: a leading zero octet keeps it positive
    0xFF,
    0x100,
    0x8000,
    (1 << 158) | 1,  # 159 bits, as campusca makes them
    (1 << 159) - 1,
    0x00AB << 144,  # a 40-hex-digit serial whose first stored octet is zero
    1 << 159,  # 20 octets with the high bit set: a 21-octet INTEGER
    (1 << 160) - 1,
]
MOMENTS = [
    datetime(1950, 1, 1, 0, 0, 0, tzinfo=UTC),  # the first UTCTime
    datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC),  # before it: GeneralizedTime
    datetime(2026, 12, 6, 9, 2, 31, 999_999, tzinfo=UTC),  # fractions are not written
    datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # the last UTCTime
    datetime(2050, 1, 1, 0, 0, 0, tzinfo=UTC),  # GeneralizedTime from here (RFC 5280 §4.1.2.5)
    datetime(2051, 6, 30, 12, 0, 0, tzinfo=UTC),
]
_ASN1_REASON = {
    RevocationReason.KEY_COMPROMISE: "key_compromise",
    RevocationReason.CA_COMPROMISE: "ca_compromise",
    RevocationReason.AFFILIATION_CHANGED: "affiliation_changed",
    RevocationReason.SUPERSEDED: "superseded",
    RevocationReason.CESSATION_OF_OPERATION: "cessation_of_operation",
    RevocationReason.CERTIFICATE_HOLD: "certificate_hold",
    RevocationReason.PRIVILEGE_WITHDRAWN: "privilege_withdrawn",
    RevocationReason.AA_COMPROMISE: "aa_compromise",
}


def _asn1crypto_der(serial: int, moment: datetime, reason: RevocationReason | None) -> bytes:
    """The same entry encoded by asn1crypto; RFC 5280 §5.1.2.6 picks the Time type."""
    moment = moment.replace(microsecond=0)
    when = {"utc_time": moment} if 1950 <= moment.year < 2050 else {"general_time": moment}
    value: dict[str, object] = {"user_certificate": serial, "revocation_date": when}
    if reason in _ASN1_REASON:
        value["crl_entry_extensions"] = [
            {"extn_id": "crl_reason", "critical": False, "extn_value": _ASN1_REASON[reason]}
        ]
    return asn1_crl.RevokedCertificate(value).dump(force=True)


@pytest.mark.parametrize("serial", SERIALS, ids=hex)
def test_serials_match_asn1crypto(serial: int) -> None:
    moment = MOMENTS[2]
    expected = _asn1crypto_der(serial, moment, RevocationReason.KEY_COMPROMISE)
    assert entry_der(RevokedEntry(serial, moment, RevocationReason.KEY_COMPROMISE)) == expected
    if serial < 1 << 160:  # as the database stores it: 40 hex digits, leading zeros included
        stored = encode_revoked([(format(serial, "040x"), moment.strftime("%Y%m%d%H%M%S"), "keyCompromise")])
        assert stored == expected
    assert asn1_crl.RevokedCertificate.load(expected)["user_certificate"].native == serial


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_dates_match_asn1crypto(moment: datetime) -> None:
    expected = _asn1crypto_der(12345, moment, None)
    assert entry_der(RevokedEntry(12345, moment, RevocationReason.UNSPECIFIED)) == expected
    tag = expected[2 + 2 + 2]  # SEQUENCE header, INTEGER 12345 (two octets), then the Time's tag
    assert tag == (0x17 if 1950 <= moment.year < 2050 else 0x18)


@pytest.mark.parametrize("reason", list(RevocationReason), ids=str)
def test_each_reason_matches_asn1crypto(reason: RevocationReason) -> None:
    expected = _asn1crypto_der(0x80, MOMENTS[3], reason)
    assert entry_der(RevokedEntry(0x80, MOMENTS[3], reason)) == expected
    reason_oid = bytes.fromhex("0603551d15")
    assert (reason_oid in expected) is (reason is not RevocationReason.UNSPECIFIED)  # RFC 5280 §5.3.1


def test_a_missing_reason_is_no_reason_and_batches_concatenate() -> None:
    rows = [
        ("0" * 39 + "1", "20261206090231", None),
        ("00" + "ab" * 19, "20261206090231", "superseded"),  # the same second: its Time is reused
        ("ff" * 20, "20500101000000", "unspecified"),
    ]
    expected = (
        _asn1crypto_der(1, datetime(2026, 12, 6, 9, 2, 31, tzinfo=UTC), None)
        + _asn1crypto_der(
            int("ab" * 19, 16), datetime(2026, 12, 6, 9, 2, 31, tzinfo=UTC), RevocationReason.SUPERSEDED
        )
        + _asn1crypto_der((1 << 160) - 1, datetime(2050, 1, 1, tzinfo=UTC), None)
    )
    assert encode_revoked(rows) == expected
    assert encode_revoked([]) == b""
