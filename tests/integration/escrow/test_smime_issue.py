"""`smime issue`: a signing certificate (never escrowed) and an encryption certificate, escrowed by policy."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from asn1crypto import pkcs12 as apkcs12
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from campusca.db.escrow import EscrowDomainKeyRow, KeyCustody
from campusca.db.models import AuditRecord, Certificate
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput, NotFound, PolicyViolation
from campusca.services.smime.escrow_keys import domain_decrypter, recover_key
from campusca.services.smime.lookup import lookup_certificates
from tests.integration.escrow.helpers import PASSWORD, enable_escrow, issue
from tests.support.ca import make_csr


def _usage(certificate: x509.Certificate) -> x509.KeyUsage:
    return certificate.extensions.get_extension_for_class(x509.KeyUsage).value


@dataclass(frozen=True)
class Custody:
    escrowed: bool
    key_source: str
    owner: str | None
    has_record: bool


def _custody(authority: Authority, serial_hex: str) -> Custody:
    with authority.db.read() as session:
        row = session.execute(
            select(KeyCustody).join(Certificate).where(Certificate.serial_hex == serial_hex.rjust(40, "0"))
        ).scalar_one()
        return Custody(row.escrowed, row.key_source, row.owner, row.archive_record is not None)


def test_bob_gets_a_signing_and_an_escrowed_encryption_certificate(authority: Authority) -> None:
    enable_escrow(authority)
    bundle = issue(authority, "bob")
    assert bundle.escrowed and "escrowed" in bundle.notice() and "NOT" not in bundle.notice()
    assert _usage(bundle.signing.certificate).digital_signature
    assert not _usage(bundle.signing.certificate).key_encipherment
    assert _usage(bundle.encryption.certificate).key_encipherment
    assert not _usage(bundle.encryption.certificate).digital_signature
    contents = load_pkcs12(bundle.pkcs12 or b"", PASSWORD.encode())
    assert contents.certificate == bundle.signing.certificate
    [(encryption_key, encryption_certificate)] = contents.extra
    assert encryption_certificate == bundle.encryption.certificate
    custody = _custody(authority, bundle.encryption.serial_hex)
    assert custody.escrowed and custody.has_record and custody.owner == "bob"
    with authority.db.read() as session:
        row = session.execute(
            select(KeyCustody)
            .join(Certificate)
            .where(Certificate.serial_hex == bundle.encryption.serial_hex.rjust(40, "0"))
        ).scalar_one()
        key_row = session.get(EscrowDomainKeyRow, row.domain_key_id)
        assert key_row is not None
        recovered = recover_key(row, domain_decrypter(authority, key_row))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = recovered.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert ours == encryption_key.public_key().public_bytes(serialization.Encoding.DER, spki)


def test_signing_keys_are_never_archived(authority: Authority) -> None:
    enable_escrow(authority)
    bundle = issue(authority, "bob")
    with authority.db.read() as session:
        archived = session.execute(select(func.count(KeyCustody.id))).scalar_one()
        signing = session.execute(
            select(KeyCustody)
            .join(Certificate)
            .where(Certificate.serial_hex == bundle.signing.serial_hex.rjust(40, "0"))
        ).scalar()
    assert archived == 1 and signing is None


def test_without_escrow_campusca_keeps_no_copy_and_says_so(authority: Authority) -> None:
    bundle = issue(authority, "alice")
    assert not bundle.escrowed and "NOT escrowed" in bundle.notice()
    custody = _custody(authority, bundle.encryption.serial_hex)
    assert not custody.escrowed and not custody.has_record and custody.key_source == "generated"
    with authority.db.read() as session:
        target, details = session.execute(
            select(AuditRecord.target, AuditRecord.details).where(AuditRecord.action == "escrow.no_copy_held")
        ).one()
    assert bundle.encryption.serial_hex in target and "escrow is off" in details


def test_without_escrow_a_person_may_send_both_csrs(authority: Authority) -> None:
    _, signing_csr = make_csr(cn="ignored")
    from tests.support.ca import rsa_key

    _, encryption_csr = make_csr(rsa_key(), cn="ignored")
    bundle = issue(authority, "alice", signing_csr=signing_csr, encryption_csr=encryption_csr)
    assert bundle.pkcs12 is None
    assert bundle.signing.certificate.subject.rfc4514_string() == "CN=alice@example.edu"
    assert _custody(authority, bundle.encryption.serial_hex).key_source == "csr"


def test_with_escrow_an_encryption_csr_is_refused_and_nothing_is_issued(authority: Authority) -> None:
    enable_escrow(authority)
    _, csr = make_csr(cn="bob")
    with pytest.raises(PolicyViolation, match="campusca generates the encryption key"):
        issue(authority, "bob", encryption_csr=csr)
    with authority.db.read() as session:
        assert (
            session.execute(
                select(func.count(Certificate.id)).where(Certificate.profile.like("smime%"))
            ).scalar_one()
            == 0
        )


def test_legacy_pkcs12_uses_3des_and_split_files_hold_one_key_each(authority: Authority) -> None:
    bundle = issue(authority, "bob", legacy=True, split=True)
    for data in (bundle.pkcs12, bundle.pkcs12_signing, bundle.pkcs12_encryption):
        assert data is not None
        pfx = apkcs12.Pfx.load(data)
        assert pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native == "sha1"
    assert load_pkcs12(bundle.pkcs12_signing or b"", PASSWORD.encode()).extra == ()
    assert (
        load_pkcs12(bundle.pkcs12_encryption or b"", PASSWORD.encode()).certificate
        == bundle.encryption.certificate
    )
    modern = issue(authority, "bob")
    mac = apkcs12.Pfx.load(modern.pkcs12 or b"")["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native
    assert mac == "sha256"


def test_a_new_pair_supersedes_the_old_one_in_the_directory(authority: Authority) -> None:
    first = issue(authority, "mary")
    second = issue(authority, "mary")
    with authority.db.read() as session:
        serials = {e.serial for e in lookup_certificates(authority, session, "Mary@Example.edu")}
        old_reason = session.execute(
            select(Certificate.revocation_reason).where(
                Certificate.serial_hex == first.encryption.serial_hex.rjust(40, "0")
            )
        ).scalar_one()
    assert serials == {second.signing.serial, second.encryption.serial}
    assert old_reason == "superseded"


@pytest.mark.parametrize(
    ("username", "options", "error"),
    [
        pytest.param("nobody", {}, NotFound, id="fail-unknown-user"),
        pytest.param("bob", {"password": "short"}, InvalidInput, id="fail-short-password"),
        pytest.param("bob", {"password": "sunflowersunflower"}, InvalidInput, id="fail-weak-password"),
        pytest.param("bob", {"signing_csr": b"garbage"}, InvalidInput, id="fail-garbage-csr"),
    ],
)
def test_bad_issue_input_is_a_clear_error_and_nothing_is_written(
    authority: Authority, username: str, options: dict[str, object], error: type[Exception]
) -> None:
    from campusca.services.smime.issue import issue_smime

    with pytest.raises(error), authority.db.write() as session:
        issue_smime(authority, session, username=username, actor="test", **{"password": PASSWORD, **options})  # type: ignore[arg-type]
    with authority.db.read() as session:
        assert (
            session.execute(
                select(func.count(Certificate.id)).where(Certificate.profile.like("smime%"))
            ).scalar_one()
            == 0
        )


def test_quorum_domain_without_a_key_refuses_issuance_with_the_reason(authority: Authority) -> None:
    from campusca.services.smime import escrow_policy

    with authority.db.write() as session:
        escrow_policy.set_policy(
            authority, session, dept_name="Law", enabled=False, mode="quorum", approvals=2, actor="t"
        )
        session.flush()
        # Turned on without agents, a quorum domain cannot make its key: the policy change is refused.
    with pytest.raises(PolicyViolation, match="at least 2 recovery agents"), authority.db.write() as session:
        escrow_policy.set_policy(authority, session, dept_name="Law", enabled=True, actor="t")
