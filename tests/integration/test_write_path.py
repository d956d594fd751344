"""The write path against a real `campusca serve`: nothing acknowledged is lost, bursts get back-pressure.

A CA must never hand out a certificate it cannot revoke: every 201 (REST issuance, S/MIME issuance with
escrow) and every 200 (revocation) that reached a client must be in the database after the server is
frozen (SIGSTOP) and killed (SIGKILL) mid-burst. And a burst of writes larger than the server admits is
answered with 503 + Retry-After, never a 500 and never a stall of the read routes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.support.ca import CaHome, make_csr, serving, start_serve

ORG = "Example University"


@contextmanager
def killable_server(ca: CaHome) -> Iterator[subprocess.Popen[bytes]]:
    """`campusca serve` with one worker (one process), so that SIGSTOP/SIGKILL hit the process that commits."""
    process = start_serve(ca, append_log=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
        process.wait()


@dataclass
class Acknowledged:
    """What the server said it did, as the clients saw it."""

    issued: dict[int, x509.Certificate] = field(default_factory=dict)
    revoked: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: threading.Condition = field(default_factory=threading.Condition)

    def add(self, certificate: x509.Certificate | None = None, revoked: int | None = None) -> None:
        with self.lock:
            if certificate is not None:
                self.issued[certificate.serial_number] = certificate
            if revoked is not None:
                self.revoked.add(revoked)
        with self.progress:
            self.progress.notify_all()

    def wait_for(self, issued: int, revoked: int) -> None:
        with self.progress:
            assert self.progress.wait_for(
                lambda: len(self.issued) >= issued and len(self.revoked) >= revoked, timeout=180
            ), f"no progress: {len(self.issued)} issued, {len(self.revoked)} revoked"


def _token(ca: CaHome) -> dict[str, str]:
    value = (
        ca.cli("token", "create", "--role", "ra-officer", "--name", "burst").stdout.strip().splitlines()[-1]
    )
    return {"Authorization": f"Bearer {value}"}


def _load(url: str, headers: dict[str, str], acked: Acknowledged, stop: threading.Event, kind: str) -> None:
    """One client: issue, revoke or issue S/MIME until stopped; record only what was acknowledged."""
    _, csr = make_csr(cn="burst-device")
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        while not stop.is_set():
            try:
                if kind == "issue":
                    response = client.post(
                        "/api/v1/certificates",
                        json={"profile": "device", "csr": csr.decode(), "username": "alice"},
                    )
                    if response.status_code == 201:
                        acked.add(x509.load_pem_x509_certificate(response.json()["pem"].encode()))
                elif kind == "smime":
                    response = client.post("/api/v1/smime/certificates", json={"username": "bob"})
                    if response.status_code == 201:
                        body = response.json()
                        for part in ("signing", "encryption"):
                            acked.add(x509.load_pem_x509_certificate(body[part]["pem"].encode()))
                else:
                    with acked.lock:
                        candidates = [s for s in acked.issued if s not in acked.revoked]
                    if not candidates:
                        with acked.progress:  # wait for an issuance rather than spin
                            acked.progress.wait(timeout=1)
                        continue
                    serial = candidates[-1]
                    response = client.post(
                        f"/api/v1/certificates/{serial:x}/revoke", json={"reason": "superseded"}
                    )
                    if response.status_code == 200:
                        acked.add(revoked=serial)
            except httpx.TransportError:
                continue  # not acknowledged: the server may keep it or not


def _ocsp_status(url: str, certificate: x509.Certificate, issuer: x509.Certificate) -> ocsp.OCSPCertStatus:
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1()).build()
    response = httpx.post(
        f"{url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return answer.certificate_status


def test_every_acknowledged_write_survives_sigstop_and_kill_9(ca: CaHome) -> None:
    ca.cli("escrow", "policy", "--org", ORG, "--enabled", "--mode", "simple")
    headers = _token(ca)
    acked = Acknowledged()
    for _cycle in range(3):
        with killable_server(ca) as server:
            stop = threading.Event()
            clients = [
                threading.Thread(target=_load, args=(ca.url, headers, acked, stop, kind))
                for kind in ("issue", "issue", "issue", "issue", "smime", "smime", "revoke", "revoke")
            ]
            for client in clients:
                client.start()
            acked.wait_for(issued=len(acked.issued) + 25, revoked=len(acked.revoked) + 3)
            os.kill(server.pid, signal.SIGSTOP)  # frozen between answering and whatever comes after
            server.kill()
            server.wait()
            stop.set()
            for client in clients:
                client.join()
    assert len(acked.issued) >= 75 and len(acked.revoked) >= 9

    with serving(ca) as url:
        # Devices come from the issuing CA, S/MIME certificates from the S/MIME CA: OCSP is asked of each.
        issuers = {
            c.subject: c
            for c in (
                x509.load_der_x509_certificate(httpx.get(f"{url}/ca/{s}.crt").content)
                for s in ("issuing", "smime")
            )
        }
        for serial, certificate in acked.issued.items():
            issuer = issuers[certificate.issuer]
            shown = httpx.get(f"{url}/api/v1/certificates/{serial:x}", headers=headers)
            assert shown.status_code == 200, f"acknowledged certificate {serial:x} is gone: {shown.text}"
            status = _ocsp_status(url, certificate, issuer)
            if serial in acked.revoked:
                assert shown.json()["status"] == "revoked"
                assert status == ocsp.OCSPCertStatus.REVOKED
            else:  # a revocation whose answer was lost in the kill may have committed: good or revoked
                assert status != ocsp.OCSPCertStatus.UNKNOWN, f"OCSP does not know {serial:x}"
        still_valid = [s for s in acked.issued if s not in acked.revoked][:20]
        for serial in still_valid:  # revocable, not merely present
            revoked = httpx.post(f"{url}/api/v1/certificates/{serial:x}/revoke", json={}, headers=headers)
            assert revoked.status_code in (200, 409), revoked.text

    verdict = ca.cli("audit", "verify", check=False)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    serials = [c["serial"] for c in json.loads(ca.cli("cert", "list", "--limit", "100000", "--json").stdout)]
    assert len(serials) == len(set(serials))


async def _burst(url: str, headers: dict[str, str], count: int) -> tuple[list[httpx.Response], list[int]]:
    """`count` concurrent issuance requests, and /healthz polled until they have all been answered."""
    _, csr = make_csr(cn="burst-device")
    body = {"profile": "device", "csr": csr.decode(), "username": "alice"}
    limits = httpx.Limits(max_connections=count + 4)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        done = asyncio.Event()
        health: list[int] = []

        async def poll_health() -> None:
            while not done.is_set():
                health.append((await client.get("/healthz", timeout=5)).status_code)

        poller = asyncio.create_task(poll_health())
        responses = await asyncio.gather(
            *(client.post("/api/v1/certificates", json=body, headers=headers) for _ in range(count))
        )
        done.set()
        await poller
    return list(responses), health


@pytest.mark.parametrize("concurrency", [200])
def test_a_burst_of_writes_gets_201_or_503_with_retry_after_and_reads_keep_answering(
    ca: CaHome, concurrency: int
) -> None:
    headers = _token(ca)
    # A small queue, so that this burst overflows it on any machine: some writes must be turned away.
    (ca.home / "campusca.toml").write_text(
        (ca.home / "campusca.toml").read_text() + "write_concurrency = 2\nwrite_queue_limit = 20\n"
    )
    with serving(ca, workers=2) as url:
        responses, health = asyncio.run(_burst(url, headers, concurrency))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {201, 503}, sorted(set(statuses))
        assert statuses.count(201) >= 20 and statuses.count(503) > 0
        for response in responses:
            if response.status_code == 503:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["code"] == "busy"
        assert health and set(health) == {200}
        issued = [
            x509.load_pem_x509_certificate(r.json()["pem"].encode())
            for r in responses
            if r.status_code == 201
        ]
        listed = httpx.get(f"{url}/api/v1/certificates", params={"limit": 1000}, headers=headers).json()
        listed_serials = {int(item["serial"], 16) for item in listed["items"]}
        assert {c.serial_number for c in issued} <= listed_serials
