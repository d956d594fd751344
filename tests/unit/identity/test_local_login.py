"""Local accounts: argon2id hashes checked by LocalProvider, one error for every kind of wrong."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from campusca.identity import InvalidCredentials, LocalAccount, LocalProvider

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
