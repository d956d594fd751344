"""Which process holds which TCP socket, read from Linux's /proc (for tests and benchmarks of `serve`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

LISTEN, ESTABLISHED = "0A", "01"  # the `st` column of /proc/net/tcp


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets process `pid` has open (empty if it is gone)."""
    inodes = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in descriptors:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def tcp_sockets(ports: Iterable[int], state: str) -> set[str]:
    """Inodes of the TCP sockets (IPv4 and IPv6) on one of the local `ports` in `state`."""
    wanted = set(ports)
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) in wanted and fields[3] == state:
                found.add(fields[9])
    return found
