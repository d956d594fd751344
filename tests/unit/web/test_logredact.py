"""Secrets never reach uvicorn's logs: enrollment links, SCEP messages, bearer tokens, Authorization values."""

from __future__ import annotations

import logging

import pytest

from campusca.web.logredact import REDACTED, RedactSecrets, install, redact

TOKEN = "q3Vb1W7h_Zr0-Xk2cY9mN4pL6sT8dF5gH1jK3lQ0wE7"  # the shape of secrets.token_urlsafe(32)
ACCESS_FORMAT = '%s - "%s %s HTTP/%s" %d'


def _access_record(method: str, path: str, status: int = 200) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it: the request line travels in the arguments."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        ACCESS_FORMAT,
        ("127.0.0.1:53124", method, path, "1.1", status),
        None,
    )


@pytest.mark.parametrize(
    ("method", "path", "shown"),
    [
        pytest.param("GET", f"/enroll/{TOKEN}", f"/enroll/{REDACTED}", id="ok-enrollment-link"),
        pytest.param("POST", f"/enroll/{TOKEN}/login", f"/enroll/{REDACTED}/login", id="ok-enrollment-login"),
        pytest.param(
            "GET",
            f"/scep?operation=PKIOperation&message={TOKEN}%2B%2F==",
            f"/scep?operation=PKIOperation&message={REDACTED}",
            id="ok-scep-message",
        ),
        pytest.param(
            "GET",
            f"/api/v1/certificates?token=cca_{TOKEN}&x=1",
            f"?token={REDACTED}&x=1",
            id="ok-token-in-query",
        ),
    ],
)
def test_access_log_record_loses_its_secret_and_keeps_the_rest(method: str, path: str, shown: str) -> None:
    record = _access_record(method, path)
    assert RedactSecrets().filter(record) is True  # rewritten, never dropped
    line = record.getMessage()
    assert TOKEN not in line and shown in line
    assert line.startswith(f'127.0.0.1:53124 - "{method} ') and line.endswith(' HTTP/1.1" 200')


def test_ordinary_request_lines_are_left_alone() -> None:
    for path in ("/ocsp/MEIwQDA%2BMDwwOjAJBgUrDgMCGgUA", "/api/v1/certificates/5a3c", "/enroll/", "/healthz"):
        record = _access_record("GET", path, 404)
        RedactSecrets().filter(record)
        assert record.getMessage() == f'127.0.0.1:53124 - "GET {path} HTTP/1.1" 404'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            f"Authorization: Bearer cca_{TOKEN}", f"Authorization: Bearer {REDACTED}", id="ok-bearer-header"
        ),
        pytest.param(
            "authorization=Basic Ym9iOmNhbXB1c2NhLWRlbW8=", f"authorization=Basic {REDACTED}", id="ok-basic"
        ),
        pytest.param(
            f"{{'authorization': '{TOKEN}'}}", f"{{'authorization': '{REDACTED}'}}", id="ok-header-dict"
        ),
        pytest.param(
            f"rejected bearer {TOKEN} for bob", f"rejected bearer {REDACTED} for bob", id="ok-bare-bearer"
        ),
        pytest.param(f"token cca_{TOKEN} expired", f"token {REDACTED} expired", id="ok-api-token"),
    ],
)
def test_authorization_values_and_tokens_in_error_messages_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, text, None, None)
    RedactSecrets().filter(record)
    assert record.getMessage() == expected


def test_install_puts_one_filter_on_uvicorns_loggers(caplog: pytest.LogCaptureFixture) -> None:
    install()
    install()
    for name in ("uvicorn.access", "uvicorn.error"):
        assert sum(isinstance(f, RedactSecrets) for f in logging.getLogger(name).filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            ACCESS_FORMAT, "127.0.0.1:1", "GET", f"/enroll/{TOKEN}", "1.1", 200
        )
    assert TOKEN not in caplog.text and f"/enroll/{REDACTED}" in caplog.text
