"""Key recovery in simple mode: Mary loses her key; a legal case; refusals; expiry; a tampered archive record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from sqlalchemy import func, select

from campusca.db.escrow import KeyCustody, RecoveryRequest
from campusca.db.models import AuditRecord, Certificate
from campusca.notify import LogSender
from campusca.services.authority import Authority
from campusca.services.ca.crls import current_crl
from campusca.services.errors import Conflict, EscrowDisabled, InvalidInput, NotAuthorized, PolicyViolation
from campusca.services.notifications import make_email_sender
from campusca.services.smime import recovery
from campusca.services.smime.lookup import lookup_certificates
from campusca.services.smime.messages import decrypt, encrypt
from campusca.services.smime.recovery_release import close_case, release_legal, release_lost_key
from tests.assertions import assert_crl_contains
from tests.integration.escrow.helpers import PASSWORD, add_agents, enable_escrow, issue, mail


def _actions(authority: Authority, since: int = 0) -> list[str]:
    with authority.db.read() as session:
        return list(
            session.execute(
                select(AuditRecord.action).where(AuditRecord.seq > since).order_by(AuditRecord.seq)
            ).scalars()
        )


def _last_seq(authority: Authority) -> int:
    with authority.db.read() as session:
        return int(session.execute(select(func.max(AuditRecord.seq))).scalar_one())


def _status(authority: Authority, serial: str) -> str | None:
    """The revocation reason of a certificate named by its serial in any hex form (views show openssl's)."""
    stored = format(int(serial, 16), "040x")
    with authority.db.read() as session:
        return session.execute(
            select(Certificate.revocation_reason).where(Certificate.serial_hex == stored)
        ).scalar_one()


@pytest.fixture
def escrowed(authority: Authority) -> Authority:
    """Escrow on for the organisation (simple mode, one approval, agents rita and quentin); Bob and Mary issued."""
    add_agents(authority, ("quentin",))
    enable_escrow(authority, agents=("rita", "quentin"))
    issue(authority, "bob")
    issue(authority, "mary")
    return authority


def test_mary_reads_archived_mail_after_losing_her_key(escrowed: Authority) -> None:
    authority = escrowed
    archived, _ = encrypt(authority, mail())  # encrypted to Mary's first certificate (and to Bob)
    with authority.db.read() as session:
        old = lookup_certificates(authority, session, "mary@example.edu")
    old_encryption = next(e for e in old if e.purpose == "encryption")
    before = _last_seq(authority)
    request = recovery.request_recovery(
        authority, username="mary", reason="lost-key", actor="cli:rita-helpdesk"
    )
    assert request.status == "pending" and request.certificates == (old_encryption.serial_text,)
    approved = recovery.approve(authority, request_id=request.id, agent="rita", actor="cli:rita")
    assert approved.status == "approved" and approved.approvals == ("rita",)
    sender = make_email_sender(authority.settings)
    assert isinstance(sender, LogSender)
    sent_before = len(sender.sent)
    released = release_lost_key(authority, request_id=request.id, password=PASSWORD, actor="cli")

    # The recovery file holds the new key first and the whole history after it.
    assert released.history == (old_encryption.serial_text,) and released.revoked == (
        old_encryption.serial_text,
    )
    plain = decrypt(archived, pkcs12=released.pkcs12, password=PASSWORD)
    assert b"the minutes are attached" in plain
    # The old certificate is revoked (keyCompromise) on the CRL; the directory has the new one.
    assert _status(authority, old_encryption.serial_hex) == "keyCompromise"
    assert_crl_contains(
        current_crl(authority, "smime"), old_encryption.serial, reason=x509.ReasonFlags.key_compromise
    )
    with authority.db.read() as session:
        now = [
            e
            for e in lookup_certificates(authority, session, "mary@example.edu")
            if e.purpose == "encryption"
        ]
    assert [e.serial_text for e in now] == [released.new_serial]
    fresh, recipients = encrypt(authority, mail(body="after the recovery\r\n"))
    assert "mary@example.edu" in recipients
    assert b"after the recovery" in decrypt(fresh, pkcs12=released.pkcs12, password=PASSWORD)
    # Mary was told, and every step is in the audit trail.
    assert sender.sent[sent_before].to == "mary@example.edu"  # type: ignore[union-attr]
    assert _actions(authority, before) == [
        "recovery.requested",
        "recovery.approved",
        "certificate.revoked",
        "certificate.issued",
        "escrow.key_archived",
        "recovery.released",
        "crl.published",  # re-signed once the release has committed, outside the write lock
        "crl.delta_published",  # and the delta CRL that lists the revocation
        "recovery.notified",
    ]


def test_a_request_is_released_once(escrowed: Authority) -> None:
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    release_lost_key(escrowed, request_id=request.id, password=PASSWORD, actor="cli")
    with pytest.raises(Conflict, match="released once"):
        release_lost_key(escrowed, request_id=request.id, password=PASSWORD, actor="cli")


def test_nothing_is_released_before_the_approvals(escrowed: Authority) -> None:
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    with pytest.raises(PolicyViolation, match="0 of 1 approvals"):
        release_lost_key(escrowed, request_id=request.id, password=PASSWORD, actor="cli")
    assert _status(escrowed, request.certificates[0]) is None


def test_the_requester_cannot_approve_their_own_request(escrowed: Authority) -> None:
    request = recovery.request_recovery(
        escrowed, username="mary", reason="lost-key", actor="person:rita", requester="rita"
    )
    with pytest.raises(NotAuthorized, match="cannot approve their own request"):
        recovery.approve(escrowed, request_id=request.id, agent="rita", actor="person:rita")
    recovery.approve(escrowed, request_id=request.id, agent="quentin", actor="person:quentin")


def test_approvals_come_from_distinct_agents_of_the_domain(escrowed: Authority) -> None:
    from campusca.services.smime import escrow_policy

    with escrowed.db.write() as session:
        escrow_policy.set_policy(
            escrowed, session, org_name="Example University", enabled=True, approvals=2, actor="t"
        )
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    with pytest.raises(Conflict, match="already approved"):
        recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    with pytest.raises(NotAuthorized, match="not an active recovery agent"):
        recovery.approve(escrowed, request_id=request.id, agent="larry", actor="cli")
    with pytest.raises(NotAuthorized, match="own key"):
        recovery.approve(escrowed, request_id=request.id, agent="mary", actor="cli")
    assert (
        recovery.approve(escrowed, request_id=request.id, agent="quentin", actor="cli").status == "approved"
    )


def test_who_may_request_depends_on_the_reason(escrowed: Authority) -> None:
    with pytest.raises(NotAuthorized, match="the person or the help desk"):
        recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="p", requester="bob")
    with pytest.raises(NotAuthorized, match="legal officer"):
        recovery.request_recovery(
            escrowed, username="mary", reason="legal", case_ref="C-1", actor="p", requester="rita"
        )
    own = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="p", requester="mary")
    assert own.status == "pending"


def test_a_person_without_escrow_can_never_be_recovered(authority: Authority) -> None:
    issue(authority, "alice")
    with pytest.raises(EscrowDisabled, match="no copy of alice's decryption key exists"):
        recovery.request_recovery(authority, username="alice", reason="lost-key", actor="cli")
    with authority.db.read() as session:
        assert session.execute(select(func.count(RecoveryRequest.id))).scalar_one() == 0


def test_keys_issued_before_escrow_was_on_have_no_copy(authority: Authority) -> None:
    issue(authority, "mary")
    enable_escrow(authority)
    with pytest.raises(EscrowDisabled, match="never escrowed"):
        recovery.request_recovery(authority, username="mary", reason="lost-key", actor="cli")


def test_legal_release_decrypts_then_revokes_and_rekeys(escrowed: Authority) -> None:
    archived, _ = encrypt(escrowed, mail())
    request = recovery.request_recovery(
        escrowed, username="mary", reason="legal", case_ref="SUBPOENA-7", actor="p:larry", requester="larry"
    )
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    result = release_legal(
        escrowed, request_id=request.id, messages=[archived], actor="p:larry", releaser="larry"
    )
    assert b"the minutes are attached" in result.plaintexts[0]
    assert result.revoked == request.certificates and result.new_serial is not None
    assert _status(escrowed, request.certificates[0]) == "keyCompromise"


def test_confidential_case_defers_revocation_rekey_and_notice_until_close(escrowed: Authority) -> None:
    archived, _ = encrypt(escrowed, mail())
    request = recovery.request_recovery(
        escrowed, username="mary", reason="legal", case_ref="SEALED-1", confidential=True, actor="cli"
    )
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    before = _last_seq(escrowed)
    result = release_legal(escrowed, request_id=request.id, messages=[archived], actor="cli")
    assert result.request.deferred and result.revoked == () and result.new_serial is None
    assert _status(escrowed, request.certificates[0]) is None
    assert _actions(escrowed, before) == ["recovery.released"]
    with escrowed.db.read() as session:
        details = session.execute(
            select(AuditRecord.details).where(AuditRecord.action == "recovery.released")
        ).scalar_one()
    assert '"deferred":["revocation","re-key","notice"]' in details
    closed = close_case(escrowed, request_id=request.id, actor="cli")
    assert closed.request.status == "closed" and closed.revoked == request.certificates
    assert _status(escrowed, request.certificates[0]) == "keyCompromise"
    assert _actions(escrowed, before)[-1] == "recovery.notified"
    assert "recovery.case_closed" in _actions(escrowed, before)


def test_legal_release_with_a_malformed_message_releases_nothing(escrowed: Authority) -> None:
    archived, _ = encrypt(escrowed, mail())
    request = recovery.request_recovery(
        escrowed, username="mary", reason="legal", case_ref="C-2", actor="cli"
    )
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    with pytest.raises(InvalidInput, match="message 2: .*nothing was released"):
        release_legal(
            escrowed, request_id=request.id, messages=[archived, b"Subject: hi\r\n\r\nplain\r\n"], actor="c"
        )
    assert recovery.get_request(escrowed, request.id).status == "approved"
    assert _status(escrowed, request.certificates[0]) is None


def test_tampered_archive_record_is_reported_and_nothing_is_half_written(escrowed: Authority) -> None:
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    with escrowed.db.write() as session:
        custody = session.execute(select(KeyCustody).where(KeyCustody.escrowed.is_(True))).scalars().all()[-1]
        record = bytearray(custody.archive_record or b"")
        record[-1] ^= 0x01  # the GCM tag
        custody.archive_record = bytes(record)
    before = _last_seq(escrowed)
    with pytest.raises(PolicyViolation, match="failed authentication"):
        release_lost_key(escrowed, request_id=request.id, password=PASSWORD, actor="cli")
    assert _actions(escrowed, before) == []
    assert recovery.get_request(escrowed, request.id).status == "approved"
    assert _status(escrowed, request.certificates[0]) is None


def test_unapproved_requests_expire_with_an_audit_record(escrowed: Authority) -> None:
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    later = request.expires_at + timedelta(seconds=1)
    escrowed.clock = lambda: later
    with pytest.raises(Conflict, match="expired"):
        recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    assert recovery.get_request(escrowed, request.id).status == "expired"
    assert "recovery.expired" in _actions(escrowed)


def test_a_rejected_request_cannot_be_approved_or_released(escrowed: Authority) -> None:
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    rejected = recovery.reject(
        escrowed, request_id=request.id, by="quentin", note="not verified", actor="cli"
    )
    assert rejected.status == "rejected"
    with pytest.raises(Conflict):
        recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    with pytest.raises(Conflict):
        release_lost_key(escrowed, request_id=request.id, password=PASSWORD, actor="cli")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({"username": "nobody", "reason": "lost-key"}, "no person", id="fail-unknown-user"),
        pytest.param({"username": "mary", "reason": "stolen"}, "lost-key or legal", id="fail-reason"),
        pytest.param({"username": "mary", "reason": "legal"}, "case reference", id="fail-legal-without-case"),
        pytest.param(
            {"username": "mary", "reason": "lost-key", "confidential": True},
            "only a legal case",
            id="fail-confidential",
        ),
        pytest.param(
            {"username": "mary", "reason": "lost-key", "serials": [0x1234]},
            "no archived key",
            id="fail-serial",
        ),
    ],
)
def test_bad_requests_are_clear_errors(escrowed: Authority, options: dict[str, object], error: str) -> None:
    with pytest.raises(Exception, match=error):
        recovery.request_recovery(escrowed, actor="cli", **options)  # type: ignore[arg-type]
    with escrowed.db.read() as session:
        assert session.execute(select(func.count(RecoveryRequest.id))).scalar_one() == 0


def test_the_mail_of_a_person_who_left_stays_readable_without_a_rekey(escrowed: Authority) -> None:
    from campusca.services.people.registry import update_person

    archived, _ = encrypt(escrowed, mail())
    with escrowed.db.write() as session:
        update_person(escrowed, session, "mary", actor="test", active=False)
    request = recovery.request_recovery(escrowed, username="mary", reason="lost-key", actor="cli")
    recovery.approve(escrowed, request_id=request.id, agent="rita", actor="cli")
    released = release_lost_key(escrowed, request_id=request.id, password=PASSWORD, actor="cli")
    assert released.new_serial is None and released.revoked == request.certificates
    assert b"the minutes are attached" in decrypt(archived, pkcs12=released.pkcs12, password=PASSWORD)
    assert "recovery.rekey_skipped" in _actions(escrowed)
