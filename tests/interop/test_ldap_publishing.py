"""LDAP publishing of S/MIME certificates against the suite's OpenLDAP slapd (issue 13 §5).

`ldapsearch` (what an address book does) finds Mary's certificates after issuance, stops finding each one
once it is revoked or expired; with the directory down the publication waits in the outbox and goes out
when the scheduler retries; `campusca ldap publish --all` backfills people issued before publishing.
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import select

from campusca.config import LdapSettings, load_settings
from campusca.db.models import AuditRecord
from campusca.pki.cms import parse_certs_only
from campusca.pki.crl import RevocationReason
from campusca.services import directory_publishing
from campusca.services.authority import Authority, open_authority, system_clock
from campusca.services.ca.revocation import revoke_by_serial
from tests.integration.escrow.helpers import issue
from tests.support.ca import CaHome, free_port
from tests.support.peers import require_peer
from tests.support.slapd import PUBLISHER_PASSWORD, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd, running_slapd

pytestmark = pytest.mark.interop
ORG = "Example University"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    require_peer("slapd", "ldapsearch")
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def _open(ca: CaHome, url: str, clock: object = system_clock) -> Authority:
    directory = {
        "url": url,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "user_base": f"ou=people,{SUFFIX}",
        "publish_bind_dn": f"cn=publisher,{SUFFIX}",
        "publish_bind_password": PUBLISHER_PASSWORD,
        "timeout_seconds": 3.0,
    }
    settings = load_settings(ca.home, ldap={ORG: LdapSettings(**directory)}, smime_key_type="rsa-2048")
    return open_authority(settings, clock=clock)  # type: ignore[arg-type]


def ldapsearch(url: str, email: str) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """What an address book reads: (userCertificate;binary values, certificates in userSMIMECertificate)."""
    result = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, "-D", SERVICE_DN, "-w", SERVICE_PASSWORD,
         "-b", f"ou=people,{SUFFIX}", f"(mail={email})", "userCertificate;binary", "userSMIMECertificate"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    values: dict[str, list[bytes]] = {}
    for name, value in re.findall(
        r"^(userCertificate;binary|userSMIMECertificate):: (\S+)$", result.stdout, re.M
    ):
        values.setdefault(name, []).append(base64.b64decode(value))
    binary = [x509.load_der_x509_certificate(v) for v in values.get("userCertificate;binary", [])]
    smime = [c for blob in values.get("userSMIMECertificate", []) for c in parse_certs_only(blob)[0]]
    return binary, smime


def _serials(certificates: list[x509.Certificate]) -> set[int]:
    return {c.serial_number for c in certificates}


def test_ldapsearch_finds_marys_certificates_until_they_are_revoked(ca: CaHome, slapd: Slapd) -> None:
    authority = _open(ca, slapd.url)
    try:
        mary = issue(authority, "mary")
        both = {mary.signing.serial, mary.encryption.serial}
        binary, smime = ldapsearch(slapd.url, "mary@example.edu")
        assert _serials(binary) == both and _serials(smime) == both
        revoke_by_serial(
            authority, serial=mary.encryption.serial, reason=RevocationReason.KEY_COMPROMISE, actor="t"
        )
        binary, smime = ldapsearch(slapd.url, "mary@example.edu")
        assert _serials(binary) == {mary.signing.serial} == _serials(smime)
        revoke_by_serial(authority, serial=mary.signing.serial, reason=RevocationReason.SUPERSEDED, actor="t")
        assert ldapsearch(slapd.url, "mary@example.edu") == ([], [])
    finally:
        authority.db.dispose()


def test_expired_certificates_leave_the_directory_on_the_next_round(ca: CaHome, slapd: Slapd) -> None:
    authority = _open(ca, slapd.url)
    try:
        bob = issue(authority, "bob")
    finally:
        authority.db.dispose()
    assert _serials(ldapsearch(slapd.url, "bob@example.edu")[0]) == {
        bob.signing.serial,
        bob.encryption.serial,
    }
    expired = bob.signing.certificate.not_valid_after_utc + timedelta(days=1)
    later = _open(ca, slapd.url, clock=lambda: expired)
    try:
        published = directory_publishing.publish_due(later)
    finally:
        later.db.dispose()
    assert [p.username for p in published] == ["bob"] and published[0].status == "sent"
    assert ldapsearch(slapd.url, "bob@example.edu") == ([], [])


def test_with_ldap_down_the_publication_is_retried_later(ca: CaHome, tmp_path: Path) -> None:
    require_peer("slapd", "ldapsearch")
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    authority = _open(ca, url)
    try:
        alice = issue(authority, "alice")  # nothing listens on the port yet
        with authority.db.read() as session:
            actions = list(session.execute(select(AuditRecord.action, AuditRecord.details)).all())
        assert any(action == "ldap.publish_retry" for action, _ in actions)
        assert all(PUBLISHER_PASSWORD not in (details or "") for _, details in actions)
    finally:
        authority.db.dispose()
    with running_slapd(tmp_path / "slapd", port=port):
        assert ldapsearch(url, "alice@example.edu") == ([], [])
        soon = datetime.now().astimezone() + timedelta(minutes=5)
        retry = _open(ca, url, clock=lambda: soon)
        try:
            published = directory_publishing.publish_due(retry)
        finally:
            retry.db.dispose()
        assert [(p.username, p.status, p.attempts) for p in published] == [("alice", "sent", 2)]
        assert _serials(ldapsearch(url, "alice@example.edu")[0]) == {
            alice.signing.serial,
            alice.encryption.serial,
        }


def test_ldap_publish_all_backfills_people_issued_before_publishing(ca: CaHome, slapd: Slapd) -> None:
    authority = open_authority(load_settings(ca.home, smime_key_type="rsa-2048"))
    try:
        mary = issue(authority, "mary")  # no LDAP settings yet: nothing is queued
    finally:
        authority.db.dispose()
    assert ldapsearch(slapd.url, "mary@example.edu") == ([], [])
    with (ca.home / "campusca.toml").open("a") as handle:
        handle.write(
            f'\n[ldap."{ORG}"]\nurl = "{slapd.url}"\nuser_base = "ou=people,{SUFFIX}"\n'
            f'publish_bind_dn = "cn=publisher,{SUFFIX}"\npublish_bind_password = "{PUBLISHER_PASSWORD}"\n'
        )
    result = ca.cli("ldap", "publish", "--all")
    assert "mary: sent (2 certificate(s))" in result.stderr and "[1/" in result.stderr
    assert "published 1 of 1 people" in result.stdout  # only people who ever had S/MIME certificates
    assert PUBLISHER_PASSWORD not in result.stdout + result.stderr
    assert _serials(ldapsearch(slapd.url, "mary@example.edu")[0]) == {
        mary.signing.serial,
        mary.encryption.serial,
    }


def test_a_person_without_a_directory_entry_is_reported_once_not_retried(ca: CaHome, slapd: Slapd) -> None:
    authority = _open(ca, slapd.url)
    try:
        issue(authority, "rita")  # a demo person the directory does not know
        with authority.db.read() as session:
            details = session.execute(
                select(AuditRecord.details).where(AuditRecord.action == "ldap.publish_failed")
            ).scalar_one()
        assert "no entry for rita@example.edu" in details
        assert directory_publishing.publish_due(authority) == []  # nothing left to retry
    finally:
        authority.db.dispose()
