"""The one login service on a file SQLite database: one answer for every wrong, back-off, ceilings, races."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campusca.config import load_settings
from campusca.db.models import AuditRecord
from campusca.db.ota import LoginThrottle
from campusca.identity import PASSWORDS
from campusca.services.authority import Authority, open_authority
from campusca.services.errors import NotAuthorized
from campusca.services.people import login, registry
from campusca.services.people.login import LoginThrottled
from tests.support.ca import CaHome

DEMO = "campusca-demo"


class Clock:
    """The authority's clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_authority(ca: CaHome, clock: Clock) -> Iterator[Callable[..., Authority]]:
    opened: list[Authority] = []

    def make(**settings: object) -> Authority:
        authority = open_authority(load_settings(ca.home, **settings), clock=clock)
        opened.append(authority)
        return authority

    yield make
    for authority in opened:
        authority.db.dispose()


def _log_in(authority: Authority, username: str, password: str, address: str = "192.0.2.1") -> object:
    """The person, or the refusal as an exception instance (so answers can be compared)."""
    try:
        return login.authenticate(
            authority, username=username, password=password, address=address, purpose="test"
        )
    except NotAuthorized as refused:
        return refused


def _audit(authority: Authority, action: str) -> list[tuple[str, str, str]]:
    """(actor, target, details) of each record of `action`, oldest first."""
    with authority.db.read() as session:
        query = select(AuditRecord.actor, AuditRecord.target, AuditRecord.details)
        rows = session.execute(query.where(AuditRecord.action == action).order_by(AuditRecord.seq))
        return [(actor, target, details) for actor, target, details in rows]


def test_every_kind_of_wrong_gets_one_answer_and_costs_one_verification(
    make_authority: Callable[..., Authority],
) -> None:
    authority = make_authority()
    with authority.db.write() as session:
        registry.update_person(authority, session, "mary", actor="test", active=False)
    answers = {}
    for case, username, password in (
        ("unknown", "nobody-here", DEMO),
        ("wrong", "alice", "not-the-password"),
        ("deactivated", "mary", DEMO),
    ):
        before = (PASSWORDS.verifications, PASSWORDS.dummy_verifications)
        answer = _log_in(authority, username, password, address=f"192.0.2.{len(answers) + 10}")
        after = (PASSWORDS.verifications, PASSWORDS.dummy_verifications)
        assert type(answer) is NotAuthorized, case
        answers[case] = (str(answer), after[0] - before[0], after[1] - before[1])
    assert answers == {
        "unknown": ("username or password is wrong", 1, 1),  # the dummy argon2 verify ran
        "wrong": ("username or password is wrong", 1, 0),
        "deactivated": ("username or password is wrong", 1, 0),
    }
    person = _log_in(authority, "Alice", DEMO)
    assert isinstance(person, login.AuthenticatedPerson) and person.username == "alice"
    assert person.source == "local" and person.organisation == "Example University"


def test_a_password_typed_as_the_username_never_reaches_the_audit_trail(
    make_authority: Callable[..., Authority],
) -> None:
    authority = make_authority()
    _log_in(authority, "Tr0ub4dor&3-secret", "alice")
    _log_in(authority, "alice", "wrong-password-here")
    failed = _audit(authority, "login.failed")
    assert [target for _, target, _ in failed] == ["person:?", "person:alice"]
    assert all("Tr0ub4dor" not in "".join(row) for row in failed)
    assert [json.loads(details)["reason"] for _, _, details in failed] == [
        "unknown_account",
        "wrong_password",
    ]


def test_the_right_password_waits_until_the_back_off_has_passed(
    make_authority: Callable[..., Authority], clock: Clock
) -> None:
    authority = make_authority(login_free_failures=3, login_backoff_seconds=30)
    for _ in range(3):
        assert type(_log_in(authority, "bob", "wrong-password")) is NotAuthorized
    throttled = _log_in(authority, "bob", DEMO)
    assert isinstance(throttled, LoginThrottled) and throttled.retry_after == 30
    clock.advance(29)
    assert isinstance(_log_in(authority, "bob", DEMO), LoginThrottled)
    clock.advance(1)
    assert isinstance(_log_in(authority, "bob", DEMO), login.AuthenticatedPerson)
    # Success starts the pair afresh: three more free tries, then 30 s again.
    for _ in range(3):
        assert type(_log_in(authority, "bob", "wrong-password")) is NotAuthorized
    assert isinstance(_log_in(authority, "bob", "wrong-password"), LoginThrottled)
    clock.advance(30)
    assert type(_log_in(authority, "bob", "wrong-password")) is NotAuthorized  # the 4th failure
    doubled = _log_in(authority, "bob", DEMO)
    assert isinstance(doubled, LoginThrottled) and doubled.retry_after == 60
    assert len(_audit(authority, "login.throttled")) == 4


def test_a_stranger_cannot_lock_a_person_out_from_another_address(
    make_authority: Callable[..., Authority], clock: Clock
) -> None:
    authority = make_authority(login_free_failures=3, login_backoff_seconds=30)
    tries = [_log_in(authority, "alice", "guess-guess-guess", address="203.0.113.66") for _ in range(5)]
    assert [type(answer).__name__ for answer in tries] == ["NotAuthorized"] * 3 + ["LoginThrottled"] * 2
    clock.advance(10)
    assert isinstance(_log_in(authority, "alice", DEMO, address="203.0.113.66"), LoginThrottled)
    assert isinstance(_log_in(authority, "alice", DEMO, address="192.0.2.7"), login.AuthenticatedPerson)


def test_the_account_ceiling_holds_across_addresses_until_its_window_passes(
    make_authority: Callable[..., Authority], clock: Clock
) -> None:
    authority = make_authority(login_max_failures_per_account=4, login_failure_window_minutes=10)
    for n in range(4):
        assert type(_log_in(authority, "alice", "guess", address=f"198.51.100.{n}")) is NotAuthorized
    ceiling = _log_in(authority, "alice", DEMO, address="192.0.2.99")
    assert isinstance(ceiling, LoginThrottled) and ceiling.retry_after == 600
    assert type(_log_in(authority, "bob", "guess", address="192.0.2.99")) is NotAuthorized  # bob is not
    clock.advance(600)
    assert isinstance(_log_in(authority, "alice", DEMO, address="192.0.2.99"), login.AuthenticatedPerson)


@pytest.mark.parametrize("username", ["alice", "no-such-person"], ids=["ok-real-account", "ok-unknown"])
def test_twelve_concurrent_wrong_passwords_from_twelve_addresses_check_no_more_than_the_ceiling(
    make_authority: Callable[..., Authority], username: str
) -> None:
    authority = make_authority(login_max_failures_per_account=5)
    start = threading.Barrier(12)
    answers: list[object] = []

    def attempt(n: int) -> None:
        start.wait()
        answers.append(_log_in(authority, username, f"guess-{n}", address=f"198.51.100.{n}"))

    before = PASSWORDS.verifications
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kinds = sorted(type(answer).__name__ for answer in answers)
    assert kinds == ["LoginThrottled"] * 7 + ["NotAuthorized"] * 5
    assert PASSWORDS.verifications - before == 5
    assert (len(_audit(authority, "login.failed")), len(_audit(authority, "login.throttled"))) == (5, 7)


def test_only_the_invitee_is_admitted_and_anyone_elses_password_is_not_even_checked(
    make_authority: Callable[..., Authority],
) -> None:
    authority = make_authority()
    before = PASSWORDS.dummy_verifications

    def on_alices_link(username: str, password: str) -> object:
        try:
            return login.authenticate(
                authority,
                username=username,
                password=password,
                address="192.0.2.5",
                purpose="test",
                only="alice",
            )
        except NotAuthorized as refused:
            return refused

    bobs_password, wrong = on_alices_link("bob", DEMO), on_alices_link("bob", "not-bobs-password")
    assert (
        (type(bobs_password), str(bobs_password))
        == (type(wrong), str(wrong))
        == (
            NotAuthorized,
            "username or password is wrong",
        )
    )
    assert PASSWORDS.dummy_verifications - before == 2  # bob's real hash was never consulted
    reasons = [json.loads(details)["reason"] for _, _, details in _audit(authority, "login.failed")]
    assert reasons == ["not_invitee", "not_invitee"]
    assert isinstance(on_alices_link("alice", DEMO), login.AuthenticatedPerson)


def test_counters_hold_digests_only_and_are_purged_after_their_window(
    make_authority: Callable[..., Authority], clock: Clock
) -> None:
    authority = make_authority(login_failure_window_minutes=10)
    _log_in(authority, "my-Secret-Passw0rd", "alice", address="192.0.2.9")

    def counters() -> list[tuple[str, str, int]]:
        with authority.db.read() as session:
            rows = session.execute(select(LoginThrottle.scope, LoginThrottle.key, LoginThrottle.failures))
            return sorted((scope, key, failures) for scope, key, failures in rows)

    held = counters()
    assert [(scope, failures) for scope, _, failures in held] == [("account", 1), ("address", 1), ("pair", 1)]
    assert all(len(key) == 64 and "secret" not in key.lower() for _, key, _ in held)
    clock.advance(9 * 60)
    login.purge_expired(authority)
    assert len(counters()) == 3
    clock.advance(60)
    login.purge_expired(authority)
    assert counters() == []
