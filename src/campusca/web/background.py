"""Periodic jobs inside `campusca serve`: CRL refresh, the re-enrollment scan and outbox retries, one process at a time;
and the refresh of each process's own pre-produced OCSP answers, in every process.

Every worker starts a renewal thread; they share one lease row in the database, so exactly one of them
(on any node) runs the job, and another takes over within a lease period when that one stops. The OCSP
refresh needs no lease: each process re-signs the answers it keeps (`ca.preproduced`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from campusca.services import ca, directory_publishing, mdm, ota
from campusca.services.authority import Authority
from campusca.services.ca.crls import refresh_crls

log = logging.getLogger("campusca.scheduler")


class RenewalScheduler:
    """A daemon thread running `mdm.run_renewal_round` (MDM, then invitations) every interval while it holds the lease."""

    def __init__(self, authority: Authority, *, interval_seconds: float) -> None:
        self._authority = authority
        self._interval = max(1.0, interval_seconds)
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="campusca-renewal", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            ota.release_renewal_lease(self._authority, self._holder)
        except Exception:  # noqa: BLE001 - at shutdown the database may be gone; the lease expires by itself
            log.warning("could not release the renewal lease; it expires by itself")

    def tick(self) -> bool:
        """One scheduling round; returns whether this process held the lease and ran the job."""
        ttl = int(self._interval * 2) + 30
        if not ota.acquire_renewal_lease(self._authority, self._holder, ttl):
            return False
        # CRLs are re-signed here before they run out, even when nobody fetches them.
        refresh_crls(self._authority, force=False, actor="system:scheduler")
        round_ttl = mdm.ROUND_LEASE_SECONDS
        if not ota.acquire_renewal_lease(self._authority, self._holder, round_ttl, name=mdm.ROUND_LEASE):
            return True  # `campusca renew run-once` is running a round right now
        try:
            report = mdm.run_renewal_round(self._authority)
        finally:
            ota.release_renewal_lease(self._authority, self._holder, name=mdm.ROUND_LEASE)
        # S/MIME certificates that expired leave the LDAP address books; failed publications are retried.
        directory_publishing.publish_due(self._authority)
        invited = report.invitations
        if report.mdm or invited.invitations or invited.retried:
            log.info(
                "renewal: %d over MDM, %d invitation(s), %d message(s) retried",
                len(report.mdm),
                len(invited.invitations),
                len(invited.retried),
            )
        return True

    def _loop(self) -> None:
        delay = min(5.0, self._interval)  # first round soon after start
        while not self._stop.wait(delay):
            try:
                self.tick()
            except Exception as error:  # noqa: BLE001 - the thread must survive anything (a busy database too)
                # The type only: a message may quote data. The next round tries again.
                log.error("renewal round failed: %s", type(error).__name__)
            delay = self._interval


class OcspRefresher:
    """A daemon thread running this process's `PreproducedAnswers.refresh_due` every `ca.refresh_interval`."""

    def __init__(self, authority: Authority) -> None:
        self._answers = ca.serving_answers(authority)
        self._interval = ca.refresh_interval(authority.settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="campusca-ocsp-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def tick(self) -> int:
        """One round; returns how many answers were re-signed."""
        return self._answers.refresh_due()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception as error:  # noqa: BLE001 - a query re-signs what a failed round left
                log.error("OCSP refresh round failed: %s", type(error).__name__)


def install_background_jobs(app: FastAPI, authority: Authority) -> None:
    """Run the OCSP refresh and (unless `renewal_enabled` is off) the renewal scheduler for the app's lifetime."""
    previous: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        jobs: list[OcspRefresher | RenewalScheduler] = [OcspRefresher(authority)]
        if authority.settings.renewal_enabled:
            interval = authority.settings.renewal_interval_seconds
            jobs.append(RenewalScheduler(authority, interval_seconds=interval))
        for job in jobs:
            job.start()
        try:
            async with previous(application) as state:
                yield state
        finally:
            for job in jobs:
                job.stop()

    app.router.lifespan_context = lifespan
