"""The FastAPI application: REST API, protocol endpoints, web pages, health and metrics."""

from __future__ import annotations

import logging
import sys
import threading

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp

from campusca import __version__
from campusca.config import load_settings
from campusca.services import storage
from campusca.services.authority import Authority, open_authority
from campusca.web import admin_console, crl, enroll, home, login_pages, logredact, my_pages, ocsp, pages
from campusca.web import directory as public_directory
from campusca.web import mdm as mdm_endpoint
from campusca.web import scep as scep_endpoint
from campusca.web._body import BodyLimitMiddleware
from campusca.web._short_path import write_threads
from campusca.web.admission import WriteAdmission
from campusca.web.agent_pages import router as agent_pages_router
from campusca.web.api import certificates as api_certificates
from campusca.web.api import device_smime as api_device_smime
from campusca.web.api import devices as api_devices
from campusca.web.api import directory as api_directory
from campusca.web.api import escrow as api_escrow
from campusca.web.api import invitations as api_invitations
from campusca.web.api import recovery as api_recovery
from campusca.web.api import scep as api_scep
from campusca.web.api import smime as api_smime
from campusca.web.api.issue_endpoint import IssueEndpoint
from campusca.web.background import install_background_jobs
from campusca.web.errors import install_error_handlers
from campusca.web.request_metrics import RequestMetrics

log = logging.getLogger("campusca.web")
# Python hands the GIL between threads every 5 ms by default. A handler thread that holds the database's
# write lock re-takes the GIL after every statement and may wait that long behind a thread busy signing,
# while every writer of every worker waits for the lock: in paired runs of bench/scep.py (8 concurrent
# enrollments, 2 workers) 0.5 ms gave 5-8 % more enrollments per second at no more CPU per request.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005


def create_app(authority: Authority) -> ASGIApp:
    """The app around an authority (tests pass their own; `serve` builds one from the environment).

    /ocsp is answered by `ocsp.OcspEndpoint` in front of FastAPI: kept answers go out with no routing,
    no middleware and no thread (FastAPI's own entry point alone costs more than such an answer).
    """
    return ocsp.OcspEndpoint(create_fastapi_app(authority), authority)


def create_fastapi_app(authority: Authority) -> FastAPI:
    """Everything but /ocsp."""
    app = FastAPI(
        title="campusca",
        version=__version__,
        description="An institution's client-certificate service.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.authority = authority
    install_error_handlers(app)
    pages.install_page_handlers(app)
    api = APIRouter(prefix="/api/v1")
    api.include_router(api_certificates.router)
    api.include_router(api_directory.router)
    api.include_router(api_scep.router)
    api.include_router(api_escrow.router)
    api.include_router(api_smime.router)
    api.include_router(api_recovery.router)
    api.include_router(api_invitations.router)
    api.include_router(api_devices.router)
    api.include_router(api_device_smime.router)
    app.include_router(api)
    app.include_router(crl.router)
    app.include_router(public_directory.router)
    app.include_router(scep_endpoint.router)
    app.include_router(mdm_endpoint.router)
    app.include_router(enroll.router)
    app.include_router(home.router)
    app.include_router(login_pages.router)
    app.include_router(my_pages.router)
    for admin_router in admin_console.ROUTERS:
        app.include_router(admin_router)
    app.include_router(agent_pages_router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    install_background_jobs(app, authority)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        storage.ping(authority)
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # Innermost, after admission and the body limit: the busiest writes on their short paths.
    threads = write_threads(authority.settings.write_concurrency)
    app.add_middleware(IssueEndpoint, authority=authority, threads=threads)
    app.add_middleware(scep_endpoint.ScepPostEndpoint, authority=authority, threads=threads)
    app.add_middleware(BodyLimitMiddleware, limit=authority.settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    # Outermost, so that a turned-away write costs no body buffering and no handler.
    app.add_middleware(
        WriteAdmission,
        concurrency=authority.settings.write_concurrency,
        queue_limit=authority.settings.write_queue_limit,
        max_wait=authority.settings.write_wait_seconds,
    )
    return app


def create_app_from_environment() -> ASGIApp:
    """Factory for uvicorn workers: settings from CAMPUSCA_HOME and the environment."""
    logredact.install()  # in each worker, after uvicorn configured its loggers: no token in the access log
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    authority = open_authority(load_settings())
    # Beside the start rather than before it: seven scrypt decryptions took 1.5 s, and the worker can
    # answer meanwhile (a request needing a key not yet loaded loads it, as it always could).
    threading.Thread(target=_load_signing_keys, args=(authority,), name="load-keys", daemon=True).start()
    return create_app(authority)


def _load_signing_keys(authority: Authority) -> None:
    try:
        authority.load_signing_keys()  # their decryption's moment of 32 MB each, before much traffic
    except Exception as error:  # noqa: BLE001 - a key that cannot be loaded now is loaded (or fails) on use
        log.warning("signing keys not loaded at start: %s", type(error).__name__)
