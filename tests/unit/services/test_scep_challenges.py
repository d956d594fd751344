"""One-time SCEP challenges: created for a person, stored hashed, consumed once, expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from campusca.db.scep import ScepChallenge
from campusca.services.authority import Authority
from campusca.services.errors import ChallengeRejected, InvalidInput
from campusca.services.people.registry import get_person
from campusca.services.scep.challenges import (
    challenge_views,
    create_challenge,
    find_redeemable,
    use_challenge,
)
from campusca.services.scep.enrollments import enrollments_for_device


def _challenge(authority: Authority, **options: object) -> str:
    with authority.db.write() as session:
        person = get_person(session, "alice")
        return create_challenge(authority, session, person=person, actor="test", **options)  # type: ignore[arg-type]


def test_create_challenge_returns_a_secret_and_stores_only_its_hash(authority: Authority) -> None:
    secret = _challenge(authority, device_ref="00008110-000A1B2C3D4E5F60")
    assert len(secret) == 40 and int(secret, 16) >= 0  # 160 bits, hex
    with authority.db.read() as session:
        rows = list(session.execute(select(ScepChallenge)).scalars())
        assert len(rows) == 1
        assert secret not in rows[0].secret_hash and rows[0].device_ref == "00008110-000A1B2C3D4E5F60"
        assert rows[0].expires_at - rows[0].created_at == timedelta(hours=1)
        views = challenge_views(session, include_used=False, now=authority.now())
    assert [v.username for v in views] == ["alice"]


def test_challenge_is_consumed_once(authority: Authority) -> None:
    secret = _challenge(authority)
    with authority.db.write() as session:
        use_challenge(session, find_redeemable(session, secret), authority.now())
    with authority.db.write() as session, pytest.raises(ChallengeRejected, match="already been used"):
        use_challenge(session, find_redeemable(session, secret), authority.now())


def test_expired_challenge_is_refused(authority: Authority) -> None:
    secret = _challenge(authority, ttl_seconds=60)
    later = authority.now() + timedelta(seconds=61)
    with authority.db.write() as session, pytest.raises(ChallengeRejected, match="expired"):
        use_challenge(session, find_redeemable(session, secret), later)


def test_wrong_challenge_is_refused(authority: Authority) -> None:
    _challenge(authority)
    with authority.db.read() as session, pytest.raises(ChallengeRejected, match="wrong"):
        find_redeemable(session, "0" * 40)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"ttl_seconds": 0}, id="fail-zero-ttl"),
        pytest.param({"profile": "ra"}, id="fail-service-profile"),
        pytest.param({"profile": "nope"}, id="fail-unknown-profile"),
        pytest.param({"expected_subject": "CN=a,,=b"}, id="fail-bad-subject"),
    ],
)
def test_create_challenge_refuses_bad_options(authority: Authority, options: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        _challenge(authority, **options)


def test_enrollments_for_unknown_device_is_empty(authority: Authority) -> None:
    with authority.db.read() as session:
        assert enrollments_for_device(session, "no-such-device") == []


@pytest.mark.parametrize(
    "subject", ["x" * 65, "CN=" + "y" * 65, ""], ids=["fail-bare-cn-65", "fail-rfc4514-cn-65", "fail-empty"]
)
def test_challenge_with_over_long_expected_cn_is_invalid_input(authority: Authority, subject: str) -> None:
    with pytest.raises(InvalidInput, match="expected subject"):
        _challenge(authority, expected_subject=subject)


def test_stored_over_long_expected_cn_is_invalid_input_at_enrollment() -> None:
    from campusca.services.scep.challenges import expected_name

    with pytest.raises(InvalidInput, match="1 to 64 characters"):
        expected_name("z" * 70)  # what `_redeem` calls for a challenge stored before the check
    assert expected_name("x" * 64).rfc4514_string() == "CN=" + "x" * 64
