"""Replay pre-built POST bodies with `wrk` (Debian package `wrk`, C with LuaJIT): each body sent once.

`hey` and `oha` send one body over and over; a SCEP PKCSReq can be used only once (its challenge is
one-time, its transactionID new), so the bodies are written to a file and `replay.lua` hands each
wrk thread its share. The run ends when every reply is in (see replay.lua), and the replies are kept
so the caller can count what succeeded after the clock has stopped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPLAY_SCRIPT = Path(__file__).with_name("replay.lua")
MAX_SECONDS = 600  # wrk's -d: only a cap, the script ends the run when every body is answered
# wrk's --timeout sizes its latency histogram (8 bytes per microsecond): a reply slower than this is
# still read and kept, only counted by wrk as a timeout.
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Replay:
    seconds: float  # wrk's own clock, from its first request to the last reply
    replies: list[tuple[int, bytes]]  # (HTTP status, body), in no particular order


def replay(url: str, bodies: Sequence[bytes], *, connections: int, threads: int = 2) -> Replay:
    """POST every body in `bodies` once to `url` with `connections` open connections."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    threads = max(1, min(threads, connections, len(bodies)))
    with tempfile.TemporaryDirectory(prefix="campusca-wrk-") as scratch:
        out = Path(scratch)
        with (out / "bodies").open("wb") as file:
            for body in bodies:
                file.write(b"%d\n" % len(body) + body)
        command = [binary, "-t", str(threads), "-c", str(connections), "-d", f"{MAX_SECONDS}s"]
        command += ["--timeout", f"{TIMEOUT_SECONDS}s", "-s", str(REPLAY_SCRIPT), url]
        command += ["--", str(out / "bodies"), str(out), str(threads)]
        finished = subprocess.run(command, capture_output=True, text=True)
        output = finished.stdout + finished.stderr
        if finished.returncode != 0:
            raise RuntimeError(f"wrk failed ({finished.returncode}):\n{output}")
        found = re.search(r"replay: (\d+) requests in (\d+) us", output)
        if found is None:
            raise RuntimeError(f"wrk printed no summary:\n{output}")
        replies = [reply for k in range(1, threads + 1) for reply in _read_replies(out / f"replies-{k}")]
    if len(replies) != len(bodies):
        raise RuntimeError(f"wrk got {len(replies)} replies to {len(bodies)} requests:\n{output}")
    return Replay(int(found.group(2)) / 1e6, replies)


def _read_replies(path: Path) -> list[tuple[int, bytes]]:
    """The "<status> <length>\\n<bytes>" records replay.lua appended."""
    data = path.read_bytes()
    replies, position = [], 0
    while position < len(data):
        end = data.index(b"\n", position)
        status, length = (int(x) for x in data[position:end].split())
        replies.append((status, data[end + 1 : end + 1 + length]))
        position = end + 1 + length
    return replies
