"""Local accounts: argon2id hashes checked by LocalProvider, one error for every kind of wrong, one at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import pytest
from argon2 import PasswordHasher

from campusca.identity import InvalidCredentials, LocalAccount, LocalProvider, PasswordVerifier
from campusca.identity.local import _DUMMY_HASH

HASH = PasswordHasher().hash("correct horse battery")
ACCOUNTS = {
    "alice": LocalAccount("alice", HASH, True, "Alice Archer", "alice@example.edu", ("helpdesk",)),
    "gone": LocalAccount("gone", HASH, False),
    "nohash": LocalAccount("nohash", None, True),
}
provider = LocalProvider(ACCOUNTS.get)


def test_local_login_with_the_right_password_returns_the_user() -> None:
    user = provider.authenticate(" Alice ", "correct horse battery")
    assert (user.username, user.source, user.roles, user.email) == (
        "alice",
        "local",
        ("helpdesk",),
        "alice@example.edu",
    )


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("alice", "wrong horse battery", id="fail-wrong-password"),
        pytest.param("nobody", "correct horse battery", id="fail-unknown-user"),
        pytest.param("gone", "correct horse battery", id="fail-deactivated"),
        pytest.param("nohash", "correct horse battery", id="fail-no-local-password"),
        pytest.param("", "correct horse battery", id="fail-empty-username"),
    ],
)
def test_local_login_refuses_with_one_message(username: str, password: str) -> None:
    with pytest.raises(InvalidCredentials, match="^username or password is wrong$"):
        provider.authenticate(username, password)


class _CountingHasher(PasswordHasher):
    """argon2 with the default parameters that records how many verifications ran at once."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most_at_once = 0
        self._count = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._count:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super().verify(hash, password)
        finally:
            with self._count:
                self.running -= 1


def test_a_process_runs_one_argon2_verification_at_a_time() -> None:
    """Each holds 64 MB while it runs: a burst of logins must not multiply that in a worker."""
    hasher = _CountingHasher()
    verifier = PasswordVerifier(hasher)

    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda password: verifier.verify(HASH, password), ["correct horse battery"] * 4)
        )

    assert results == [True] * 4
    assert hasher.most_at_once == 1
    assert verifier.verifications == 4


def test_the_dummy_hash_is_made_only_for_other_argon2_parameters() -> None:
    assert PasswordVerifier()._dummy_hash == _DUMMY_HASH
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    assert cheap.verify(PasswordVerifier(cheap)._dummy_hash, "campusca-no-such-user")
