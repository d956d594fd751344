"""Drive HTTP load with `hey` (Debian package `hey`, written in Go), so the client does not measure itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HeyResult:
    requests_per_second: float
    statuses: dict[int, int]
    slowest_seconds: float

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)


def hey(
    url: str,
    *,
    requests: int,
    concurrency: int,
    method: str = "GET",
    body_file: Path | None = None,
    headers: dict[str, str] | None = None,
    content_type: str | None = None,
    timeout_seconds: int = 60,
    disable_keepalive: bool = False,
) -> HeyResult:
    """Run hey once and parse its summary (requests/s, slowest, status code distribution)."""
    binary = shutil.which("hey")
    if binary is None:
        raise SystemExit("hey is not installed: apt-get install hey")
    command = [binary, "-n", str(requests), "-c", str(concurrency), "-m", method, "-t", str(timeout_seconds)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if content_type:
        command += ["-T", content_type]
    if body_file is not None:
        command += ["-D", str(body_file)]
    if disable_keepalive:
        command.append("-disable-keepalive")
    output = subprocess.run(command + [url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    slowest = float(re.search(r"Slowest:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output)}
    errors = (
        sum(int(n) for n in re.findall(r"\[(\d+)\]\t[^\n]*", output.split("Error distribution:")[-1]))
        if "Error distribution:" in output
        else 0
    )
    if errors:
        statuses[0] = errors  # transport errors (timeouts, resets) under the pseudo-status 0
    return HeyResult(rate, statuses, slowest)
