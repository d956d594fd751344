"""A served campusca for fuzzing: one HTTP client, the seeds a target mutates, and a tally of answers.

The property every target checks is the same: no answer is a 5xx (503 with Retry-After is the
designed back-pressure answer, not a fault) and the server still answers /healthz afterwards.
Offending inputs are recorded rather than raised at once, so a long run counts every 5xx and the
report names each distinct request that produced one.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 30  # per target in `make test`; `make fuzz` raises it through CAMPUSCA_FUZZ_EXAMPLES
FAULTS_SHOWN = 10


def examples_per_target() -> int:
    """How many inputs each target tries (CAMPUSCA_FUZZ_EXAMPLES, default a bounded few)."""
    return int(os.environ.get("CAMPUSCA_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


def fuzz_settings(weight: int = 1) -> settings:
    """Hypothesis settings for one target: `weight` times the per-target count, no deadline, no database
    (nothing is written into the repository), and no health check about slow generation (some inputs
    are signed)."""
    return settings(
        max_examples=examples_per_target() * weight,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


@dataclass
class Tally:
    """Inputs tried and 5xx answers seen, per target, for the run's summary line."""

    inputs: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    faults: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [
            f"{target:<22} inputs={self.inputs[target]:>7}  5xx={self.server_errors[target]}"
            for target in sorted(self.inputs)
        ]
        total, errors = sum(self.inputs.values()), sum(self.server_errors.values())
        lines.append(f"{'total':<22} inputs={total:>7}  5xx={errors}")
        return lines


TALLY = Tally()


@dataclass
class FuzzSite:
    """A running `campusca serve` with the credentials and seed messages the targets use."""

    url: str
    home: Path
    client: httpx.Client
    tokens: dict[str, str]  # role -> bearer token value
    invitation_token: str  # the secret part of a live enrollment link for alice
    scep_challenge: str  # an unused challenge for alice
    issuing: x509.Certificate
    scep_recipient: x509.Certificate
    existing_serial: int
    openapi: dict[str, object]

    def send(self, target: str, method: str, path: str, **options: object) -> httpx.Response | None:
        """Send one fuzz input; record it, and record it as a fault if the answer is a 5xx or none."""
        TALLY.inputs[target] += 1
        try:
            response = self.client.request(method, f"{self.url}{path}", **options)  # type: ignore[arg-type]
        except httpx.LocalProtocolError:
            raise  # the client refused to send it: a fault of the harness, not of the server
        except httpx.TransportError as error:
            self._fault(target, f"{method} {path[:120]} -> {type(error).__name__}: {error}")
            return None
        if response.status_code >= 500 and not _is_back_pressure(response):
            self._fault(target, f"{method} {path[:120]} {_describe(options)} -> {response.status_code}")
        return response

    def _fault(self, target: str, line: str) -> None:
        TALLY.server_errors[target] += 1
        TALLY.faults.setdefault(target, []).append(line)

    def assert_target_clean(self, target: str) -> None:
        """The property: no 5xx for this target's inputs, and the server still answers /healthz."""
        health = httpx.get(f"{self.url}/healthz", timeout=10)
        assert health.status_code == 200, f"/healthz answered {health.status_code} after {target}"
        faults = TALLY.faults.get(target, [])
        assert not faults, (
            f"{len(faults)} inputs to {target} answered 5xx (server log: {self.home / 'serve.log'}):\n"
            + "\n".join(faults[:FAULTS_SHOWN])
        )


def _is_back_pressure(response: httpx.Response) -> bool:
    return response.status_code == 503 and "retry-after" in response.headers


def _describe(options: dict[str, object]) -> str:
    """A short, printable account of what was sent (enough to write the regression test)."""
    parts = []
    for key in ("params", "json", "data", "headers"):
        if options.get(key) is not None:
            parts.append(f"{key}={str(options[key])[:160]!s}")
    content = options.get("content")
    if isinstance(content, bytes):
        parts.append(f"content={content[:48].hex()}…({len(content)} bytes)")
    return " ".join(parts)
