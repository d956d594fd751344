"""Shared benchmark plumbing: a throw-away CA, a served campusca, and a fixed-work HTTP load generator."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.ca import CaHome, free_port, make_csr, serving, write_public_url  # noqa: E402


@contextmanager
def temporary_ca(key_type: str = "rsa-3072", *, database_url: str | None = None) -> Iterator[CaHome]:
    """A freshly initialised CA in a temporary directory, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="campusca-bench-"))
    try:
        port = free_port()
        home = root / "home"
        ca = CaHome(home=home, port=port, database_url=database_url)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "campusca.cli.main",
                "--home",
                str(home),
                "init",
                "--demo",
                "--key-type",
                key_type,
            ],
            check=True,
            capture_output=True,
            env=ca.env(),
        )
        write_public_url(home, port)
        yield ca
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def post_all(url: str, bodies: Sequence[bytes], *, headers: dict[str, str], concurrency: int) -> LoadResult:
    """POST every body once with `concurrency` requests in flight; the same generator for every peer."""

    async def run() -> LoadResult:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        failures = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def worker() -> None:
                nonlocal failures
                while not queue.empty():
                    body = queue.get_nowait()
                    response = await client.post(url, content=body, headers=headers)
                    if response.status_code >= 300:
                        failures += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return LoadResult(len(bodies), time.perf_counter() - started, failures)

    return asyncio.run(run())


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def wait_for_log(path: Path, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(
        f"{path} never said {text!r}:\n{path.read_text(errors='replace') if path.exists() else ''}"
    )


def workers() -> int:
    return int(os.environ.get("BENCH_WORKERS", "2"))


__all__ = [
    "CaHome",
    "LoadResult",
    "make_csr",
    "free_port",
    "post_all",
    "serving",
    "temporary_ca",
    "wait_for_log",
    "wait_for_port",
    "workers",
]
