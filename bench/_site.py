"""A served CA ready for REST issuance load: SQLite with `workers()` workers, or two nodes on one PostgreSQL."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from _common import CaHome, free_port, make_csr, serving, temporary_ca, workers
from _hey import HeyResult, hey


@dataclass(frozen=True)
class IssuanceSite:
    ca: CaHome
    urls: list[str]  # one per serve node
    token: str  # an ra-officer API token
    body: Path  # one issuance request (profile device, for alice)
    started: float  # time.monotonic() when every node answered

    def warm_up(self) -> None:
        """Bring every worker to its steady state before the clock starts.

        Each worker loads the CA keys it uses (an scrypt each) on its first issuance, and its scheduler
        loads the others about 5 s after start; a measured run must pay for neither. Enough concurrent
        requests reach every worker; then wait until the serve processes' CPU time stands still.
        """
        self.issue(requests=400 * len(self.urls), concurrency=16)
        while time.monotonic() - self.started < 8:
            time.sleep(0.5)
        previous = cpu_seconds(self.ca.home)
        for _ in range(60):
            time.sleep(1)
            now = cpu_seconds(self.ca.home)
            if now - previous < 0.05:
                return
            previous = now

    @property
    def engine(self) -> str:
        if self.ca.database_url is not None:
            return f"PostgreSQL, {len(self.urls)} nodes"
        return f"SQLite, {workers()} workers"

    def issue(self, *, requests: int, concurrency: int) -> list[HeyResult]:
        """`requests` POSTs spread evenly over the nodes, all nodes loaded at once; one result per node."""
        nodes = len(self.urls)
        with ThreadPoolExecutor(nodes) as pool:
            runs = [
                pool.submit(
                    hey,
                    f"{url}/api/v1/certificates",
                    requests=requests // nodes,
                    concurrency=max(1, concurrency // nodes),
                    method="POST",
                    body_file=self.body,
                    headers={"Authorization": f"Bearer {self.token}"},
                    content_type="application/json",
                )
                for url in self.urls
            ]
            return [run.result() for run in runs]


@contextmanager
def issuance_site(key_type: str = "rsa-3072", *, postgres: bool = False) -> Iterator[IssuanceSite]:
    with ExitStack() as stack:
        database_url = None
        if postgres:
            from tests.support.postgres import postgres_cluster

            database_url = stack.enter_context(postgres_cluster())
        ca = stack.enter_context(temporary_ca(key_type, database_url=database_url))
        token = ca.cli("token", "create", "--role", "ra-officer", "--name", "bench").stdout.strip()
        _, csr = make_csr(cn="bench-device")
        body = Path(tempfile.mkdtemp()) / "body.json"
        body.write_text(json.dumps({"profile": "device", "csr": csr.decode(), "username": "alice"}))
        if postgres:  # two nodes, one process each, sharing the database and the key material
            second = CaHome(home=ca.home, port=free_port(), database_url=database_url)
            urls = [stack.enter_context(serving(ca)), stack.enter_context(serving(second))]
        else:
            urls = [stack.enter_context(serving(ca, workers=workers()))]
        yield IssuanceSite(
            ca=ca, urls=urls, token=token.splitlines()[-1], body=body, started=time.monotonic()
        )


def cpu_seconds(home: Path) -> float:
    """User+system CPU of every process serving `home` (found by CAMPUSCA_HOME in its environment)."""
    marker = f"CAMPUSCA_HOME={home}".encode()
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if marker not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def connections_per_process(home: Path, ports: set[int]) -> list[int]:
    """Client connections each process serving `home` holds: established TCP sockets on one of `ports`."""
    from tests.support.sockets import (
        ESTABLISHED,
        socket_inodes,
        tcp_sockets,
    )  # the repository is on sys.path (_common)

    established = tcp_sockets(ports, ESTABLISHED)
    marker = f"CAMPUSCA_HOME={home}".encode()
    counts = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if marker not in environ.read().split(b"\0"):
                    continue
        except OSError:
            continue
        held = len(socket_inodes(int(pid)) & established)
        if held:
            counts.append(held)
    return counts
