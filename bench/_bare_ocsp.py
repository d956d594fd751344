"""The floor for an OCSP answer over HTTP in Python: a bare Starlette route returning fixed bytes.

Served by uvicorn like campusca (`uvicorn _bare_ocsp:app`); BARE_OCSP_RESPONSE names the file whose bytes
every POST /ocsp gets back.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_ANSWER = Path(os.environ["BARE_OCSP_RESPONSE"]).read_bytes()


async def answer(request: Request) -> Response:
    await request.body()
    return Response(_ANSWER, media_type="application/ocsp-response")


app = Starlette(routes=[Route("/ocsp", answer, methods=["POST"])])
