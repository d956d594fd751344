"""`serve --workers 2`: each worker accepts on a socket of its own, connections spread, a dead worker returns."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.ca import CaHome, start_serve
from tests.support.sockets import ESTABLISHED, LISTEN, socket_inodes, tcp_sockets


@contextmanager
def two_workers(ca: CaHome) -> Iterator[subprocess.Popen[bytes]]:
    process = start_serve(ca, workers=2)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _workers(parent: int) -> list[int]:
    """The serve process's children that hold a socket on the port (multiprocessing adds a helper)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if socket_inodes(int(pid))]


def _listening(ca: CaHome, pid: int) -> set[str]:
    return socket_inodes(pid) & tcp_sockets([ca.port], LISTEN)


def test_each_worker_accepts_on_its_own_socket_and_connections_spread_over_both(ca: CaHome) -> None:
    with two_workers(ca) as server:
        workers = _workers(server.pid)
        assert len(workers) == 2
        first, second = (_listening(ca, pid) for pid in workers)
        assert len(first) == 1 and len(second) == 1 and first != second
        # 32 keep-alive connections opened together; each answered, so each has been accepted.
        clients = [socket.create_connection(("127.0.0.1", ca.port), timeout=30) for _ in range(32)]
        try:
            for client in clients:
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: campusca\r\n\r\n")
            for client in clients:
                assert client.recv(64).startswith(b"HTTP/1.1 200")
            established = tcp_sockets([ca.port], ESTABLISHED)
            held = [len(socket_inodes(pid) & established) for pid in workers]
            assert sum(held) == 32
            # The kernel hashes connections over the two sockets: fewer than 4 of 32 on one worker
            # happens by chance about once in 400,000 runs; one shared socket gave 12 of 16 to one.
            assert min(held) >= 4, held
        finally:
            for client in clients:
                client.close()


def test_a_killed_worker_is_replaced_on_its_socket_and_no_request_is_lost(ca: CaHome) -> None:
    with two_workers(ca) as server:
        victim = _workers(server.pid)[0]
        its_socket = _listening(ca, victim)
        os.kill(victim, signal.SIGKILL)
        # Requests meanwhile: those hashed to the dead worker's socket wait in its queue.
        for _ in range(20):
            with httpx.Client(timeout=60) as client:
                assert client.get(f"{ca.url}/healthz").status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = _workers(server.pid)
            if len(workers) == 2 and victim not in workers:
                break
            time.sleep(0.1)  # polling for the restart, not synchronising a result
        replacement = next(
            pid for pid in _workers(server.pid) if pid != victim and _listening(ca, pid) == its_socket
        )
        assert replacement != victim
        assert "exited with -9; starting another" in (ca.home / "serve.log").read_text()
