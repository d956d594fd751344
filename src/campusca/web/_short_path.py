"""What the short paths share: plain ASGI handlers for the busiest writes, inside FastAPI's middlewares.

`api/issue_endpoint.IssueEndpoint` (REST issuance) and `scep.ScepPostEndpoint` (SCEP PKIOperation by
POST) sit innermost, after write admission, metrics and the body limit, and answer their requests
without FastAPI's routing, dependency resolution and models, which cost more per request than much of
the work. Both hand the work to the same small pool of threads, as many as writes may run at once
(web/admission.py): a hand-over to it costs less than one through anyio's shared pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from starlette.types import Receive

_R = TypeVar("_R")


@dataclass(frozen=True)
class RouteLabel:
    """Stands in `scope["route"]` for RequestMetrics, which labels requests with the route's path."""

    path: str


def write_threads(concurrency: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="write")


async def in_thread(threads: ThreadPoolExecutor, work: Callable[..., _R], *args: object) -> _R:
    return await asyncio.get_running_loop().run_in_executor(threads, work, *args)


async def whole_body(receive: Receive) -> bytes | None:
    """The request body (BodyLimitMiddleware, outside, has bounded and buffered it); None on disconnect."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
