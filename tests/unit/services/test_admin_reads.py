"""The administrators' reads: people and certificate search, dashboard figures, audit browsing and
sliced chain verification (each one read transaction, frozen answers)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from campusca.db.models import Certificate, Person
from campusca.db.ota import Device
from campusca.db.scep import ScepEnrollment
from campusca.services import audit_review, ca, dashboard, people
from campusca.services.audit_review import VERIFIED
from campusca.services.authority import Authority
from campusca.services.ca.search import find_certificates
from campusca.services.errors import InvalidInput
from campusca.services.people.search import find_people
from tests.support.ca import make_csr


def _issue(authority: Authority, username: str, cn: str) -> ca.CertificateView:
    _, csr = make_csr(cn=cn)
    return ca.issue_from_csr(authority, profile_name="device", csr_bytes=csr, username=username, actor="test")


def test_people_are_found_by_any_part_of_their_names_roles_and_state(authority: Authority) -> None:
    assert [p.username for p in find_people(authority, text="ARCH").items] == ["alice"]  # Alice Archer
    assert [p.username for p in find_people(authority, text="mary@").items] == ["mary"]
    assert [p.username for p in find_people(authority, role="recovery-agent").items] == ["rita"]
    assert find_people(authority, text="50%_").total == 0  # LIKE wildcards are plain text
    people.change_person(authority, "larry", actor="test", active=False)
    assert [p.username for p in find_people(authority, active=False).items] == ["larry"]


def test_people_come_a_page_at_a_time_in_the_order_asked(authority: Authority) -> None:
    first = find_people(authority, sort="email", descending=True, limit=4)
    second = find_people(authority, sort="email", descending=True, limit=4, offset=4)
    assert first.total == second.total == 6
    emails = [p.email for p in first.items + second.items]
    assert emails == sorted(emails, reverse=True) and len(emails) == 6
    with pytest.raises(InvalidInput, match="sort must be one of"):
        find_people(authority, sort="password_hash")


def test_certificates_are_found_by_serial_as_openssl_prints_it_and_by_subject_or_holder(
    authority: Authority,
) -> None:
    alice = _issue(authority, "alice", "alice-phone")
    _issue(authority, "bob", "bob-laptop")
    printed = format(alice.serial, "X")
    printed = printed.zfill(len(printed) + len(printed) % 2)
    for serial in (printed, printed.lower(), ":".join(printed[i : i + 2] for i in range(0, len(printed), 2))):
        assert [c.serial for c in find_certificates(authority, serial=serial).items] == [alice.serial]
    assert [c.person for c in find_certificates(authority, text="LAPTOP").items] == ["bob"]
    assert [c.person for c in find_certificates(authority, text="alice@EXAMPLE").items] == ["alice"]  # holder
    ca.revoke_by_serial(authority, serial=alice.serial, reason=ca.parse_reason("superseded"), actor="test")
    assert [c.person for c in find_certificates(authority, status="revoked").items] == ["alice"]
    by_expiry = find_certificates(authority, profile="device", sort="expires", descending=False).items
    assert [c.not_after for c in by_expiry] == sorted(c.not_after for c in by_expiry)
    with pytest.raises(InvalidInput, match="hexadecimal"):
        find_certificates(authority, serial="not-a-serial")


def test_the_dashboard_counts_what_needs_attention(authority: Authority) -> None:
    before = dashboard.dashboard_figures(authority)
    _issue(authority, "bob", "bob-phone")
    revoked = _issue(authority, "bob", "bob-old-phone")
    ca.revoke_by_serial(authority, serial=revoked.serial, reason=ca.parse_reason("superseded"), actor="test")
    after = dashboard.dashboard_figures(authority)
    assert (after.people, after.active_people) == (6, 6)
    assert (after.valid - before.valid, after.revoked - before.revoked) == (1, 1)
    assert after.expiring_soon == before.expiring_soon  # a device certificate lasts longer than 30 days
    assert (after.pending_scep, after.failed_invitations, after.devices_due) == (0, 0, 0)
    assert after.last_verification is None and after.audit_records > before.audit_records


def test_the_audit_trail_is_filtered_by_actor_action_and_target(authority: Authority) -> None:
    people.change_person(authority, "bob", actor="person:admin", phone="+15551234567")
    found = audit_review.search_records(authority, actor="person:adm", action="person.", target="bob")
    assert [(r.action, r.target) for r in found.items] == [("person.updated", "person:bob")]
    oldest = audit_review.search_records(authority, newest_first=False, limit=2)
    assert [r.seq for r in oldest.items] == [1, 2] and oldest.total > 2


def test_verification_slice_by_slice_reaches_the_end_and_is_recorded(authority: Authority) -> None:
    step = audit_review.verify_slice(authority, limit=5)
    assert (step.checked, step.done, step.ok) == (5, False, True)
    while not step.done:
        step = audit_review.verify_slice(authority, after=step.checked, limit=5)
    assert step.ok and step.checked == step.total
    audit_review.record_verification(authority, step, actor="person:admin")
    last, records = audit_review.last_verification(authority)
    assert last is not None and (last.ok, last.records, last.actor) == (True, step.checked, "person:admin")
    assert records == step.checked + 1
    newest = audit_review.search_records(authority, limit=1).items[0]
    assert newest.action == VERIFIED


def test_a_changed_record_is_found_by_the_slice_that_holds_it(authority: Authority) -> None:
    with authority.db.write() as session:
        session.execute(text("UPDATE audit_records SET actor = 'someone-else' WHERE seq = 7"))
    step = audit_review.verify_slice(authority, limit=5)
    assert step.ok and not step.done
    step = audit_review.verify_slice(authority, after=step.checked, limit=5)
    assert (step.done, step.ok, step.problem) == (True, False, "record 7 was modified")


def test_devices_due_are_those_awaiting_a_new_enrollment_or_whose_certificate_ends_within_the_window(
    authority: Authority,
) -> None:
    certificate = _issue(authority, "alice", "alice-iphone")
    with authority.db.write() as session:
        alice = session.execute(select(Person).where(Person.username == "alice")).scalar_one()
        for udid, state in (
            ("UDID-ENROLLED", "enrolled"),
            ("UDID-REVOKED", "revoked"),
            ("UDID-RETIRED", "retired"),
        ):
            session.add(Device(udid=udid, person_id=alice.id, state=state, channel="sms"))
        row = session.execute(
            select(Certificate).where(Certificate.serial_hex == format(certificate.serial, "040x"))
        )
        session.add(
            ScepEnrollment(
                transaction_id="t-1", requester_key_sha256="0" * 64, signer_fingerprint_sha256="0" * 64,
                message_type=19, csr_der=b"", csr_sha256="0" * 64, person_id=alice.id,
                device_ref="UDID-ENROLLED", profile="device", certificate_id=row.scalar_one().id, status="issued",
            )
        )  # fmt: skip
    assert dashboard.dashboard_figures(authority).devices_due == 1  # the revoked one; the retired one is done
    window = authority.settings.renewal_window_days
    later = replace(authority, clock=lambda: certificate.not_after - timedelta(days=window - 1))
    assert (
        dashboard.dashboard_figures(later).devices_due == 2
    )  # and now the enrolled one's certificate ends soon
