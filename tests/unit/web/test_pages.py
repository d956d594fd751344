"""Pure helpers of the web pages: where a login may send the browser, serials as openssl prints them."""

from __future__ import annotations

import pytest

from campusca.pki.certificates import openssl_serial
from campusca.web.pages import safe_next, sentence


@pytest.mark.parametrize("value", ["/my/", "/admin/", "/admin/?page=2", "/my/certificates/0A.pem"])
def test_a_same_site_path_is_followed(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "my/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/caf\u00e9",
        " /my/",
    ],
)
def test_anything_else_goes_to_my_page(value: str | None) -> None:
    assert safe_next(value) == "/my/"


def test_serials_are_upper_case_hex_in_whole_bytes_like_openssl() -> None:
    assert openssl_serial(0x0A) == "0A"
    assert openssl_serial(0xABC) == "0ABC"
    assert openssl_serial(0x1306A8E8C67F) == "1306A8E8C67F"


def test_an_error_message_becomes_a_sentence_keeping_its_case() -> None:
    assert sentence("this page is for administrators and RA officers") == (
        "This page is for administrators and RA officers."
    )
    assert sentence("no certificate with serial 0A.") == "No certificate with serial 0A."
