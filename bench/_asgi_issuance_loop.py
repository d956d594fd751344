"""Child of bench/instructions.py: N REST issuances through the ASGI app in this one process.

    python bench/_asgi_issuance_loop.py HOME TOKEN CSR_FILE N

Three warm-up requests come first, so the difference between N and 0 is the requests alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from _asgi_post import post
from campusca.config import load_settings
from campusca.services.authority import open_authority
from campusca.web.app import create_app


def main() -> None:
    home, token, csr_file, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    body = json.dumps({"profile": "device", "csr": csr_file.read_text(), "username": "alice"}).encode()
    app = create_app(open_authority(load_settings(Path(home))))
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())]

    async def run() -> None:
        for _ in range(3 + count):
            sent = await post(app, "/api/v1/certificates", body, headers)
            if sent[0]["status"] != 201:
                raise SystemExit(f"issuance failed: {sent}")

    asyncio.run(run())


if __name__ == "__main__":
    main()
