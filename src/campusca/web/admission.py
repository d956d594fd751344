"""Back-pressure for writes: a bounded number run at once, a bounded queue, and 503 + Retry-After beyond.

Without it a burst of writes fills the thread pool and the SQLite write lock, reads queue behind them,
and clients see 30-second stalls and 500s. With it, at most `concurrency` writes of this process run
at a time (each in the thread pool), at most `queue_limit` are admitted in all, and one that has waited
`max_wait` seconds for a slot is turned away. Turned-away requests get `503 Service Unavailable` with
`Retry-After` at once: nothing was changed, so the client may simply retry. Reads (`GET`, OCSP over
POST) are never counted and never wait behind writes.
"""

from __future__ import annotations

import asyncio
import json
import math
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from campusca import metrics

# POSTs that only read: OCSP requests (RFC 6960 Appendix A.1).
_READ_ONLY_POSTS = ("/ocsp",)


def is_write(scope: Scope) -> bool:
    """Whether a request may change state: any non-GET except OCSP, and SCEP PKIOperation over GET."""
    method = scope["method"]
    path: str = scope["path"]
    if method in ("GET", "HEAD", "OPTIONS"):
        if path == "/scep" or path.startswith("/scep/"):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            return query.get("operation", [""])[0] == "PKIOperation"
        return False
    return not path.startswith(_READ_ONLY_POSTS)


class WriteAdmission:
    """ASGI middleware admitting writes by the rules in the module docstring."""

    def __init__(self, app: ASGIApp, *, concurrency: int, queue_limit: int, max_wait: float) -> None:
        self.app = app
        self.concurrency = concurrency
        self.queue_limit = max(queue_limit, concurrency)
        self.max_wait = max_wait
        self.admitted = 0  # running + waiting; one event loop per process, so no lock is needed
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_write(scope):
            await self.app(scope, receive, send)
            return
        if self.admitted >= self.queue_limit:
            await self._turn_away(scope, send, "too many writes are queued")
            return
        self.admitted += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.max_wait)
            except TimeoutError:
                await self._turn_away(scope, send, "a queued write waited too long")
                return
            try:
                await self.app(scope, receive, send)
            finally:
                self._slots.release()
        finally:
            self.admitted -= 1

    def retry_after(self) -> int:
        """Seconds until the queue ahead has likely drained: one second per `concurrency` writes waiting."""
        return max(1, min(30, math.ceil(self.admitted / self.concurrency)))

    async def _turn_away(self, scope: Scope, send: Send, why: str) -> None:
        metrics.WRITES_TURNED_AWAY.labels(reason=why).inc()
        message = f"campusca is busy ({why}); nothing was changed, retry after the given seconds"
        if scope["path"].startswith("/api/"):
            body = json.dumps({"code": "busy", "message": message}).encode()
            content_type = b"application/json"
        else:
            body = message.encode()
            content_type = b"text/plain; charset=utf-8"
        await send_busy(send, body, content_type, self.retry_after())


async def send_busy(send: Send, body: bytes, content_type: bytes, retry_after: int) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
