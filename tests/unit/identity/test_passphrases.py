"""The passphrase policy guarding keys attacked offline: recovery-agent shares and PKCS#12 exports."""

from __future__ import annotations

import pytest

from campusca.identity.passphrases import MIN_LENGTH, judge_passphrase


@pytest.mark.parametrize(
    ("passphrase", "rule"),
    [
        pytest.param("a", f"must be at least {MIN_LENGTH} characters", id="fail-one-character"),
        pytest.param("sunflower", f"must be at least {MIN_LENGTH} characters", id="fail-short-word"),
        pytest.param("password1234", "too weak (this is a very common password)", id="fail-common-password"),
        pytest.param("sunflowersunflower", "too weak (repeats like", id="fail-repeated-dictionary-word"),
        pytest.param("rita-recovery", "too weak", id="fail-own-name-and-role"),
        pytest.param("x" * 1025, "must be at most 1024 characters", id="fail-too-long"),
    ],
)
def test_weak_passphrase_is_refused_with_one_line_naming_the_rule(passphrase: str, rule: str) -> None:
    verdict = judge_passphrase(passphrase, what="passphrase of recovery agent 'rita'", related=("rita",))
    assert not verdict.accepted
    assert verdict.refusal is not None and "\n" not in verdict.refusal
    assert verdict.refusal.startswith("passphrase of recovery agent 'rita' ") and rule in verdict.refusal
    assert len(passphrase) < 9 or passphrase[:20] not in verdict.refusal  # never repeats the secret


def test_weak_refusal_says_how_to_make_it_strong() -> None:
    verdict = judge_passphrase("password1234", what="PKCS#12 password")
    assert verdict.refusal is not None
    assert verdict.refusal.endswith("add more words (a 4-word passphrase or 12+ mixed characters)")


@pytest.mark.parametrize(
    "passphrase",
    [
        pytest.param("correct horse battery staple", id="ok-four-words"),
        pytest.param("kX9#mP2q!vL7", id="ok-twelve-mixed-characters"),
        pytest.param("rita minds the recovery vault", id="ok-sentence"),
        pytest.param("blue kettle " * 10, id="ok-long-passphrase-judged-on-its-start"),
    ],
)
def test_good_passphrase_is_accepted(passphrase: str) -> None:
    assert judge_passphrase(passphrase, related=("rita",)).accepted
