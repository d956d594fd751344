"""A logging filter that keeps secrets out of uvicorn's access and error logs (issue 9).

uvicorn writes the request line of every request: `GET /enroll/<invitation token>` hands an enrollment
link to whoever reads the log, a SCEP `GET /scep?operation=PKIOperation&message=...` carries the client's
signed request (challenge password included), and a proxy or an error message may echo an
`Authorization` header. The filter rewrites such values to `[redacted]` in the message and in its
arguments before any handler formats the record; everything else (method, path, status) stays readable.
`campusca serve` runs the app factory in each uvicorn worker process, after uvicorn has configured its
loggers; the factory installs the filter there (a filter added in the parent process would not reach the
workers, and `cli` may not import `web`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
FILTER_NAME = "campusca_redact_secrets"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # The enrollment link's token is the path segment after /enroll/ (also in /enroll/<token>/login).
    (re.compile(r"(/enroll/)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    # Query values that are secrets: SCEP messages, tokens, challenges, passwords, codes.
    (
        re.compile(
            r"([?&](?:message|token|access_token|challenge|password|code)=)[^&#\s\"']*", re.IGNORECASE
        ),
        rf"\g<1>{REDACTED}",
    ),
    # An Authorization header value, keeping its scheme, as a proxy or a traceback may print it.
    (
        re.compile(r"(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|digest)\s+)?)[^\s\"',;]+", re.I),
        rf"\g<1>{REDACTED}",
    ),
    # Bare credentials wherever they appear: bearer tokens and campusca API tokens.
    (re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    (re.compile(r"\bcca_[A-Za-z0-9_-]+"), REDACTED),
)


# What every rule above needs to match: text without any of these is returned as it is, after one
# search instead of five substitutions (most access-log arguments: address, method, path, version).
_MAY_HOLD_SECRETS = re.compile(r"/enroll/|[?&]|authorization|bearer|cca_", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every secret-bearing value replaced by `[redacted]`."""
    if _MAY_HOLD_SECRETS.search(text) is None:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return True


def install(loggers: tuple[str, ...] = UVICORN_LOGGERS) -> None:
    """Add the filter to uvicorn's loggers in this process, once (calling it again changes nothing)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


__all__ = ["REDACTED", "RedactSecrets", "install", "redact"]
