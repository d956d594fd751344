"""Child of bench/instructions.py --scep: SCEP PKCSReqs through the ASGI app in this one process.

    python bench/_asgi_scep_loop.py HOME REQUESTS_FILE N

REQUESTS_FILE holds DER pkiMessages, each after its length in 4 octets (big-endian), each with its
own one-time challenge. The first three are warm-up, so the difference between N and 0 is the
enrollments alone.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from _asgi_post import post
from campusca.config import load_settings
from campusca.services.authority import open_authority
from campusca.web.app import create_app

WARMUP = 3


def read_requests(path: Path) -> list[bytes]:
    data, requests, position = path.read_bytes(), [], 0
    while position < len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        requests.append(data[position + 4 : position + 4 + size])
        position += 4 + size
    return requests


def main() -> None:
    home, requests_file, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    bodies = read_requests(requests_file)[: WARMUP + count]
    app = create_app(open_authority(load_settings(home)))
    headers = [(b"content-type", b"application/x-pki-message")]

    async def run() -> None:
        for body in bodies:
            sent = await post(app, "/scep", body, headers, query=b"operation=PKIOperation")
            if sent[0]["status"] != 200:
                raise SystemExit(f"enrollment failed: {sent}")

    asyncio.run(run())


if __name__ == "__main__":
    main()
