"""Fixtures of the S/MIME tests: one throw-away CA and Bob's and Mary's certificates per session."""

from __future__ import annotations

import pytest

from tests.unit.smime.ca import Issued, TestCa


@pytest.fixture(scope="session")
def ca() -> TestCa:
    return TestCa()


@pytest.fixture(scope="session")
def bob_signing(ca: TestCa) -> Issued:
    return ca.issue("bob@campus.example", usage="sign")


@pytest.fixture(scope="session")
def mary_encryption(ca: TestCa) -> Issued:
    return ca.issue("mary@campus.example", usage="encrypt")
