"""A legacy PKCS#12 file gpgsm misreads (tests/vectors/pkcs12), and a serialiser that hands it out first."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

MISDERIVED = Path(__file__).parents[1] / "vectors" / "pkcs12" / "gpgsm-misderived-key.p12"
MISDERIVED_PASSWORD = b"one-time pass"
MISDERIVED_ITERATIONS = 2048


def serialiser_returning_misderived_first(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make cryptography's PKCS#12 serialiser return the vector once, then serialise as usual.

    Returns the list of calls, so a test can tell how often export_pkcs12 serialised.
    """
    real = pkcs12.serialize_key_and_certificates
    calls: list[object] = []

    def vector_then_real(*args: object) -> bytes:
        calls.append(args)
        return MISDERIVED.read_bytes() if len(calls) == 1 else real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pkcs12, "serialize_key_and_certificates", vector_then_real)
    return calls
