"""Scale-out: two campusca nodes share one PostgreSQL; counters and the audit chain stay right."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from sqlalchemy import text

from campusca.db.models import CrlState
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import CertStatus, OcspQuery
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca import crls
from campusca.services.ca.certificates import issue_from_csr
from campusca.services.ca.crls import publish_crl
from campusca.services.ca.issuance import find_certificate
from campusca.services.ca.ocsp import answer_ocsp
from campusca.services.ca.revocation import revoke_certificate
from tests.assertions import crl_number
from tests.support.ca import make_csr
from tests.support.postgres import two_nodes_on_postgres

pytestmark = pytest.mark.interop


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Authority, Authority]]:
    with two_nodes_on_postgres(tmp_path / "home") as nodes:
        yield nodes


def test_every_migration_runs_on_postgresql_and_crl_numbers_never_repeat(
    two_nodes: tuple[Authority, Authority],
) -> None:
    first, second = two_nodes

    def publish(node: Authority) -> int:
        with node.db.write() as session:
            return publish_crl(node, session, node.ca("issuing"), actor="test").crl_number

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(publish, [first, second] * 10))
    assert len(set(numbers)) == 20
    with second.db.read() as session:
        state = session.get(CrlState, second.ca("issuing").id)
        assert state is not None and state.crl_number == max(numbers)
        assert crl_number(crls.current_crl(second, "issuing")) == max(numbers)
        verdict = audit.verify_chain(session)
    assert verdict.ok, verdict.problem


def test_revocation_on_one_node_is_seen_by_the_others_ocsp(two_nodes: tuple[Authority, Authority]) -> None:
    first, second = two_nodes
    _, csr = make_csr(cn="alice-phone")
    issued = issue_from_csr(first, profile_name="device", csr_bytes=csr, username="alice", actor="test")
    ca = second.ca("issuing").certificate
    request = ocsp.OCSPRequestBuilder().add_certificate(issued.certificate, ca, hashes.SHA1()).build()
    query = OcspQuery(
        request.issuer_name_hash, request.issuer_key_hash, request.hash_algorithm, request.serial_number, None
    )
    assert answer_ocsp(second, query).status is CertStatus.GOOD
    with first.db.write() as session:
        revoke_certificate(
            first, session, serial=issued.serial, reason=RevocationReason.KEY_COMPROMISE, actor="test"
        )
    assert answer_ocsp(second, query).status is CertStatus.REVOKED
    # The CRL's dates are formatted by PostgreSQL (to_char in UTC), whatever the session's time zone.
    with second.db.write() as session:
        session.execute(text("SET TIME ZONE 'America/New_York'"))
        row = find_certificate(session, issued.serial)
        assert row is not None and row.revoked_at is not None
        revoked_at = row.revoked_at
        crls.publish_crl(second, session, second.ca("issuing"), actor="test")
    listed = x509.load_der_x509_crl(crls.current_crl(second, "issuing"))
    entry = listed.get_revoked_certificate_by_serial_number(issued.serial)
    assert entry is not None and entry.revocation_date_utc == revoked_at.replace(microsecond=0)
