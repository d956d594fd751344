"""Apple MDM endpoints of the certificate-only MDM: `PUT /mdm/checkin` and `PUT /mdm/server` (docs/mdm.md).

The adapter moves bytes: the codec decodes the plist and proves the Mdm-Signature, the service decides
whether that certificate may speak for the UDID and what to answer. Errors map through `STATUS_BY_ERROR`:
an unprovable or unauthorised sender gets 401 (iOS then retries later), a malformed body 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from campusca.apple import (
    COMMAND_CONTENT_TYPE,
    MdmMessageInvalid,
    MdmSignatureInvalid,
    parse_checkin,
    parse_report,
    verify_mdm_signature,
)
from campusca.errors import Busy
from campusca.services import errors as service_errors
from campusca.services import mdm
from campusca.services.authority import Authority
from campusca.web.deps import get_authority
from campusca.web.errors import BUSY_RETRY_AFTER_SECONDS

router = APIRouter(tags=["mdm"])
log = logging.getLogger("campusca.web")

# The first class in the error's MRO wins; anything else is a 500.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    MdmSignatureInvalid: 401,
    service_errors.NotAuthorized: 401,
    MdmMessageInvalid: 400,
    service_errors.NotFound: 401,
    Busy: 503,
}


def _failure(error: Exception) -> Response:
    status = next((STATUS_BY_ERROR[c] for c in type(error).__mro__ if c in STATUS_BY_ERROR), 500)
    if status == 500:
        log.exception("MDM request failed", exc_info=error)
        return Response("internal error\n", status_code=500, media_type="text/plain")
    log.info("MDM request refused (%d): %s", status, error)
    headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)} if status == 503 else None
    return Response(f"{error}\n", status_code=status, media_type="text/plain", headers=headers)


async def _handle(request: Request, work: Callable[[bytes, str | None], Response]) -> Response:
    """Run `work(body, Mdm-Signature)` in the thread pool (it signs and writes); map its errors."""
    body = await request.body()
    try:
        return await run_in_threadpool(work, body, request.headers.get("Mdm-Signature"))
    except Exception as error:  # noqa: BLE001 - one error table for the protocol
        return _failure(error)


@router.put("/mdm/checkin")
async def checkin(request: Request, authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """Authenticate, TokenUpdate or CheckOut, signed by the device identity."""

    def work(body: bytes, signature: str | None) -> Response:
        signer = verify_mdm_signature(signature, body)
        mdm.check_in(authority, parse_checkin(body), signer)
        return Response(status_code=200)

    return await _handle(request, work)


@router.put("/mdm/server")
async def server(request: Request, authority: Annotated[Authority, Depends(get_authority)]) -> Response:
    """The device's report (Idle, Acknowledged, Error, NotNow); answered with its next command or empty."""

    def work(body: bytes, signature: str | None) -> Response:
        signer = verify_mdm_signature(signature, body)
        command = mdm.answer_report(authority, parse_report(body), signer)
        if command is None:
            return Response(status_code=200)
        return Response(command, status_code=200, media_type=COMMAND_CONTENT_TYPE)

    return await _handle(request, work)
