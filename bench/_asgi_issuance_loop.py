"""Child of bench/instructions.py: N REST issuances through the ASGI app in this one process.

    python bench/_asgi_issuance_loop.py HOME TOKEN CSR_FILE N

Three warm-up requests come first, so the difference between N and 0 is the requests alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from campusca.config import load_settings
from campusca.services.authority import open_authority
from campusca.web.app import create_app


def main() -> None:
    home, token, csr_file, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    body = json.dumps({"profile": "device", "csr": csr_file.read_text(), "username": "alice"}).encode()
    app = create_app(open_authority(load_settings(Path(home))))
    headers = [
        (b"host", b"campusca"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {token}".encode()),
    ]

    async def issue() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/certificates",
            "raw_path": b"/api/v1/certificates",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        delivered = False
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()  # the client never leaves
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 201:
            raise SystemExit(f"issuance failed: {sent}")

    async def run() -> None:
        for _ in range(3 + count):
            await issue()

    asyncio.run(run())


if __name__ == "__main__":
    main()
