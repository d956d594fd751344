"""HTTP Basic on the REST API goes through the login service: throttled, audited, one answer for every wrong."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.ca import CaHome, serving

DEMO = "campusca-demo"
REQUESTS = "/api/v1/recovery/requests"  # any route that admits a person by HTTP Basic


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def _serve(ca: CaHome, **settings: object) -> Iterator[str]:
    with (ca.home / "campusca.toml").open("a") as toml:
        toml.writelines(f"{key} = {value}\n" for key, value in settings.items())
    with serving(ca) as url:
        yield url


@pytest.fixture
def slow_backoff(ca: CaHome) -> Iterator[str]:
    """Three free failures per (account, address), then ten minutes: nothing passes during the test."""
    yield from _serve(ca, login_free_failures=3, login_backoff_seconds=600)


@pytest.fixture
def low_ceiling(ca: CaHome) -> Iterator[str]:
    yield from _serve(ca, login_max_failures_per_account=5)


def _actions(ca: CaHome) -> list[dict[str, object]]:
    return ca.cli_json("audit", "list", "--limit", "1000")  # type: ignore[return-value]


def test_three_hundred_wrong_basic_passwords_are_throttled_after_three_and_each_is_audited(
    slow_backoff: str, ca: CaHome
) -> None:
    with httpx.Client(base_url=slow_backoff, timeout=60) as client:
        answers = [client.get(REQUESTS, headers=basic("rita", f"guess-{n}")) for n in range(300)]
        right = client.get(REQUESTS, headers=basic("rita", DEMO))
    assert [a.status_code for a in answers[:3]] == [401] * 3
    assert {a.json()["message"] for a in answers[:3]} == {"username or password is wrong"}
    assert {a.status_code for a in answers[3:]} == {429}
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers[3:])
    assert right.status_code == 429  # the right password waits for the back-off too
    records = [r for r in _actions(ca) if str(r["action"]).startswith("login.")]
    counts = {
        action: sum(r["action"] == action for r in records) for action in {r["action"] for r in records}
    }
    assert counts == {"login.failed": 3, "login.throttled": 298}
    assert ca.cli_json("audit", "verify")["ok"] is True  # type: ignore[index]


def test_rita_logs_in_from_another_address_while_hers_is_throttled(slow_backoff: str) -> None:
    stranger = {"X-Forwarded-For": "203.0.113.66"}
    for n in range(5):
        httpx.get(f"{slow_backoff}{REQUESTS}", headers={**basic("rita", f"guess-{n}"), **stranger})
    locked = httpx.get(f"{slow_backoff}{REQUESTS}", headers={**basic("rita", DEMO), **stranger})
    assert locked.status_code == 429
    own = httpx.get(
        f"{slow_backoff}{REQUESTS}", headers={**basic("rita", DEMO), "X-Forwarded-For": "192.0.2.8"}
    )
    assert own.status_code == 200, own.text


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(slow_backoff: str, ca: CaHome) -> None:
    unknown = httpx.get(f"{slow_backoff}{REQUESTS}", headers=basic("no-such-person", DEMO))
    wrong = httpx.get(f"{slow_backoff}{REQUESTS}", headers=basic("rita", "not-her-password"))
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert unknown.status_code == 401
    failed = [r for r in _actions(ca) if r["action"] == "login.failed"]
    assert sorted(str(r["target"]) for r in failed) == ["person:?", "person:rita"]
    assert all("no-such-person" not in str(r) for r in failed)


def test_twelve_concurrent_wrong_passwords_from_twelve_addresses_check_no_more_than_the_ceiling(
    low_ceiling: str, ca: CaHome
) -> None:
    start = threading.Barrier(12)
    statuses: list[int] = []

    def attempt(n: int) -> None:
        headers = {**basic("rita", f"guess-{n}"), "X-Forwarded-For": f"198.51.100.{n}"}
        start.wait()
        statuses.append(httpx.get(f"{low_ceiling}{REQUESTS}", headers=headers, timeout=60).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 7
    actions = [r["action"] for r in _actions(ca)]
    assert (actions.count("login.failed"), actions.count("login.throttled")) == (5, 7)
