"""The full and delta CRLs list each revoked certificate with the serial, second and reason stored for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509

from campusca.db.models import Certificate
from campusca.pki.crl import RevocationReason
from campusca.services.authority import Authority
from campusca.services.ca import crls
from campusca.services.ca.certificates import issue_from_csr
from campusca.services.ca.issuance import serial_to_hex
from campusca.services.ca.revocation import revoke_certificate
from tests.support.ca import make_csr

REASONS = [RevocationReason.KEY_COMPROMISE, RevocationReason.UNSPECIFIED, RevocationReason.SUPERSEDED]


def _listed(der: bytes) -> dict[int, tuple[datetime, x509.ReasonFlags | None]]:
    listed = {}
    for entry in x509.load_der_x509_crl(der):
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            reason = None
        listed[entry.serial_number] = (entry.revocation_date_utc, reason)
    return listed


def test_full_and_delta_crls_list_what_the_database_stores(authority: Authority) -> None:
    real_clock = authority.clock
    start = datetime.now(UTC).replace(microsecond=0)
    serials = []
    for i, reason in enumerate(REASONS):
        _, csr = make_csr(cn=f"crl-entry-{i}")
        issued = issue_from_csr(authority, profile_name="device", csr_bytes=csr, username="alice", actor="t")
        # Two in the same second (one Time reused), fractions of a second that the CRL drops.
        authority.clock = lambda i=i: start + timedelta(seconds=i // 2, microseconds=999_999 - i)
        with authority.db.write() as session:
            revoke_certificate(authority, session, serial=issued.serial, reason=reason, actor="t")
        serials.append(issued.serial)
    authority.clock = real_clock
    with authority.db.read() as session:
        stored = {
            serial: session.query(Certificate).filter_by(serial_hex=serial_to_hex(serial)).one().revoked_at
            for serial in serials
        }
    expected = {
        serial: (stored[serial].replace(microsecond=0), reason_flag)
        for serial, reason_flag in zip(
            serials, [x509.ReasonFlags.key_compromise, None, x509.ReasonFlags.superseded], strict=True
        )
    }
    assert [expected[s][0] for s in serials] == [start, start, start + timedelta(seconds=1)]
    crls.republish_crl(authority, authority.ca("issuing"), actor="t")
    crls.republish_delta(authority, authority.ca("issuing"), actor="t")
    for der in (crls.current_crl(authority, "issuing"), crls.current_delta_crl(authority, "issuing")):
        listed = _listed(der)
        assert {serial: listed[serial] for serial in serials} == expected
