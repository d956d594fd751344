"""Passphrase policy for secrets that guard keys offline: recovery-agent share passphrases and PKCS#12
export passwords (issue 9).

Both can be attacked offline with no rate limit: a sealed share sits in the database, a PKCS#12 file on a
laptop. So a passphrase must be long enough and, by zxcvbn's estimate (dictionary words, names, keyboard
patterns, repeats, dates, l33t), need at least 10**10 guesses (zxcvbn's top score): a one-character
passphrase fell to a brute force in seconds. Pure function in, verdict out; callers raise their own error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_GUESSES_LOG10 = 10.0  # zxcvbn score 4: "very unguessable"
# zxcvbn's matching grows quadratically with the length; a longer passphrase only gains from the rest.
_JUDGED_PREFIX = 72
_ADVICE = "add more words (a 4-word passphrase or 12+ mixed characters)"


@dataclass(frozen=True, slots=True)
class PassphraseVerdict:
    """Whether a passphrase may be used; `refusal` is one sentence naming the field and the rule."""

    accepted: bool
    refusal: str | None = None
    score: int = 0  # zxcvbn's 0 (guessed at once) to 4 (very unguessable), for a strength meter


def judge_passphrase(
    passphrase: str, *, what: str = "passphrase", related: Iterable[str] = ()
) -> PassphraseVerdict:
    """Judge a new passphrase; `related` are words an attacker knows (username, e-mail), counted as guessable."""
    if len(passphrase) > MAX_LENGTH:
        return PassphraseVerdict(False, f"{what} must be at most {MAX_LENGTH} characters")
    if not passphrase:  # zxcvbn cannot judge an empty string
        return PassphraseVerdict(False, f"{what} must be at least {MIN_LENGTH} characters")
    # Imported here: its dictionaries take 13 MB in every serve worker, most of which never judge one.
    from zxcvbn import zxcvbn

    estimate = zxcvbn(passphrase[:_JUDGED_PREFIX], user_inputs=[word for word in related if word])
    score = int(estimate["score"])
    if len(passphrase) < MIN_LENGTH:
        # A short one may still look "strong" to zxcvbn; the meter must not say so.
        return PassphraseVerdict(False, f"{what} must be at least {MIN_LENGTH} characters", min(score, 2))
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        warning = str(estimate["feedback"]["warning"]).strip().rstrip(".")
        why = f" ({warning[0].lower()}{warning[1:]})" if warning else ""
        return PassphraseVerdict(False, f"{what} is too weak{why}: {_ADVICE}", min(score, 3))
    return PassphraseVerdict(True, score=4)


__all__ = ["MIN_LENGTH", "PassphraseVerdict", "judge_passphrase"]
