"""Test helpers around a real campusca data directory: CLI subprocesses, a served instance, CSRs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CaHome:
    """A copy of an initialised data directory whose public URL points at `port`."""

    home: Path
    port: int
    database_url: str | None = None  # None: the SQLite file in the home

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPUSCA_")}
        env["CAMPUSCA_HOME"] = str(self.home)
        if self.database_url is not None:
            env["CAMPUSCA_DATABASE_URL"] = self.database_url
        return env

    def cli(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `campusca` command against this home."""
        result = subprocess.run(
            [sys.executable, "-m", "campusca.cli.main", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"campusca {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def cli_json(self, *args: str) -> object:
        return json.loads(self.cli(*args, "--json").stdout)


def write_public_url(home: Path, port: int) -> None:
    (home / "campusca.toml").write_text(f'public_url = "http://127.0.0.1:{port}"\n')


@contextmanager
def serving(ca: CaHome, *, workers: int = 1) -> Iterator[str]:
    """Run `campusca serve` on the home's port until the block ends; yields the base URL."""
    process = start_serve(ca, workers=workers)
    try:
        yield ca.url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_serve(
    ca: CaHome,
    *,
    workers: int = 1,
    args: Sequence[str] = (),
    append_log: bool = False,
    log_name: str = "serve.log",
    is_healthy: Callable[[], bool] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `campusca serve` on the home's port with `args` and return it once it is healthy.

    Healthy means `/healthz` answers 200 over plain http, or `is_healthy()` is true (an https probe);
    a server that never gets there is killed. Its output goes to `log_name` in the home, appended to
    when a test restarts the server.
    """
    log = ca.home / log_name
    command = [sys.executable, "-m", "campusca.cli.main", "serve", "--port", str(ca.port)]
    with log.open("a" if append_log else "w") as out:
        process = subprocess.Popen(
            [*command, "--workers", str(workers), *args], env=ca.env(), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(
            is_healthy or (lambda: httpx.get(f"{ca.url}/healthz", timeout=1).status_code == 200), process, log
        )
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def _wait_until_healthy(is_healthy: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"campusca serve exited early:\n{log.read_text()}")
        try:
            if is_healthy():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # readiness polling, not synchronisation of a result
    raise AssertionError(f"campusca serve did not become healthy:\n{log.read_text()}")


_KEY_CACHE: list[rsa.RSAPrivateKey] = []


def rsa_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key (tests that need many use `reused_rsa_key`)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def reused_rsa_key() -> rsa.RSAPrivateKey:
    if not _KEY_CACHE:
        _KEY_CACHE.append(rsa_key())
    return _KEY_CACHE[0]


def make_csr(
    key: rsa.RSAPrivateKey | None = None,
    *,
    cn: str = "test-device",
    dns: tuple[str, ...] = (),
    extra_extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = key or reused_rsa_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False
        )
    for extension, critical in extra_extensions:
        builder = builder.add_extension(extension, critical=critical)
    csr = builder.sign(key, hashes.SHA256())
    return key, csr.public_bytes(serialization.Encoding.PEM)
