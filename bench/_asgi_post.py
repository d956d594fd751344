"""One POST through an ASGI app in this process, no server and no socket: the benches' in-process loops."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp


async def post(
    app: ASGIApp, path: str, body: bytes, headers: list[tuple[bytes, bytes]], query: bytes = b""
) -> list[dict[str, object]]:
    """The messages `app` sends for a POST of `body` to `path` (host and content-length are added)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"campusca"), (b"content-length", str(len(body)).encode()), *headers],
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
    return sent
