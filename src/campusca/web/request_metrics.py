"""Per-request Prometheus counts and an X-Response-Time-Ms header, as plain ASGI middleware.

Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every request
through an extra task and stream, which costs more than some of the handlers it wraps (OCSP).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campusca import metrics


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_timing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = f"{(time.perf_counter() - started) * 1000:.1f}".encode()
                message["headers"] = [*message.get("headers", []), (b"x-response-time-ms", elapsed)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            route = scope.get("route")
            metrics.HTTP_REQUESTS.labels(
                method=scope["method"], route=getattr(route, "path", "unmatched"), status=str(status)
            ).inc()
