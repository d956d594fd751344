"""`serve --workers N`: N uvicorn processes, each accepting on a listening socket of its own.

uvicorn's own supervisor hands one listening socket to every worker, and each worker's event loop
accepts every connection queued when it wakes. Clients that open their connections together (a
load balancer's pool, a class of phones) therefore land mostly on one worker: 12 of 16 keep-alive
connections on one of two workers in bench/issuance.py, which left one core busy and the other
mostly idle. Here the parent binds one socket per worker with SO_REUSEPORT, and the kernel spreads
new connections over them by a hash of their addresses. A worker that dies is started again on its
socket; connections that arrive meanwhile wait in that socket's queue and are served once it runs.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from functools import partial
from multiprocessing.context import SpawnProcess

from uvicorn import Config, Server
from uvicorn._subprocess import get_subprocess
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("uvicorn.error")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to one address with SO_REUSEPORT (port 0: the port the first one got)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def run_workers(config: Config, sockets: list[socket.socket]) -> int:
    """Run one worker per socket until SIGINT or SIGTERM; the exit status for `serve`.

    A worker that exits is started again on its socket, unless it failed while starting (its app,
    TLS files or database are broken and would fail the same way again): then all stop.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    workers = [_start(config, sock) for sock in sockets]
    status = 0
    try:
        while not stop.wait(0.5):
            for slot, worker in enumerate(workers):
                if worker.is_alive():
                    continue
                worker.join()
                if worker.exitcode == STARTUP_FAILURE:
                    log.error("worker [%s] failed to start; stopping", worker.pid)
                    status = STARTUP_FAILURE
                    stop.set()
                    break
                log.warning("worker [%s] exited with %s; starting another", worker.pid, worker.exitcode)
                workers[slot] = _start(config, sockets[slot])
    finally:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)  # uvicorn's graceful shutdown: running requests finish
        for worker in workers:
            worker.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _start(config: Config, sock: socket.socket) -> SpawnProcess:
    worker = get_subprocess(config, partial(_serve, config), [sock])
    worker.start()
    return worker


def _serve(config: Config, sockets: list[socket.socket]) -> None:
    Server(config).run(sockets=sockets)
