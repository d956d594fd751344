"""Settings: the http base for revocation and CA-issuer URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from campusca.config import Settings, default_revocation_url


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [
        pytest.param("https://ca.example.edu", "http://ca.example.edu", id="ok-https-host"),
        pytest.param(
            "https://ca.example.edu:8443/pki/", "http://ca.example.edu/pki", id="ok-https-port-dropped"
        ),
        pytest.param("http://127.0.0.1:8000", "http://127.0.0.1:8000", id="ok-http-unchanged"),
        pytest.param("https://[2001:db8::1]:8443", "http://[2001:db8::1]", id="ok-ipv6"),
    ],
)
def test_default_revocation_url_is_http_on_the_public_host(public_url: str, expected: str) -> None:
    assert default_revocation_url(public_url) == expected
    assert Settings(home=Path("x"), public_url=public_url).effective_revocation_url == expected


def test_explicit_revocation_url_wins_and_must_be_http() -> None:
    settings = Settings(
        home=Path("x"), public_url="https://ca.example.edu", revocation_url="http://crl.example.edu:8080/"
    )
    assert settings.effective_revocation_url == "http://crl.example.edu:8080"
    with pytest.raises(ValidationError, match="revocation_url must be an http:// URL"):
        Settings(home=Path("x"), revocation_url="https://crl.example.edu")
