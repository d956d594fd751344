"""A local stand-in for Apple's push gateway (APNs provider API over HTTP/2 and TLS), and fake push certificates.

It speaks the real request format: HTTP/2 only (ALPN h2), TLS with a required client certificate (the MDM
push certificate, issued here by a fake "Apple" CA), `POST /3/device/<hex token>` with `apns-topic`,
`apns-push-type` and a JSON body. Every request it receives is recorded for the test to read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.support.ca import free_port
from tests.support.iphone import issue_test_certificate, new_rsa_key


@dataclass(frozen=True)
class PushCertificateFiles:
    cert: Path
    key: Path
    topic: str
    issuer: x509.Certificate
    issuer_file: Path


def make_push_certificate(directory: Path, *, days: int = 365) -> PushCertificateFiles:
    """A push certificate like Apple's: subject UID = com.apple.mgmt.External.<uuid>, issued by a fake Apple CA."""
    ca_key, key = new_rsa_key(), new_rsa_key()
    ca = issue_test_certificate(subject="Test Apple Application Integration 2 CA", key=ca_key, ca=True)
    topic = f"com.apple.mgmt.External.{uuid.uuid4()}"
    now = datetime.now(UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, topic),
            x509.NameAttribute(NameOID.COMMON_NAME, f"APSP:{uuid.uuid4()}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = PushCertificateFiles(
        directory / "push.pem", directory / "push.key", topic, ca, directory / "apple-push-ca.pem"
    )
    files.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.issuer_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


@dataclass
class ApnsStandIn:
    """The running stand-in: its URL, the CA file that trusts it, and every push it received."""

    url: str
    ca_file: Path
    pushes: list[dict[str, Any]] = field(default_factory=list)

    def settings(self) -> dict[str, object]:
        return {"mdm_apns_url": self.url, "mdm_apns_ca_file": str(self.ca_file)}


def _server_certificate(directory: Path) -> tuple[Path, Path, Path]:
    ca_key, key = new_rsa_key(), new_rsa_key()
    ca = issue_test_certificate(subject="Test APNs gateway CA", key=ca_key, ca=True)
    now = datetime.now(UTC)
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file, ca_file = directory / "apns.crt", directory / "apns.key", directory / "apns-ca.pem"
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file, ca_file


@contextmanager
def apns_stand_in(directory: Path, push_ca_file: Path) -> Iterator[ApnsStandIn]:
    """Serve the stand-in on 127.0.0.1 until the block ends; only clients with a push certificate get in."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file, ca_file = _server_certificate(directory)
    port = free_port()
    stand_in = ApnsStandIn(url=f"https://127.0.0.1:{port}", ca_file=ca_file)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        stand_in.pushes.append(
            {
                "method": scope["method"],
                "path": scope["path"],
                "http_version": scope["http_version"],
                "topic": headers.get("apns-topic"),
                "push_type": headers.get("apns-push-type"),
                "body": body.decode(),
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"apns-id", str(uuid.uuid4()).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.ca_certs = str(push_ca_file)
    config.verify_mode = ssl.CERT_REQUIRED
    config.alpn_protocols = ["h2"]
    config.accesslog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def main() -> None:
            started.set()
            await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

        loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    _wait_listening(port)
    try:
        yield stand_in
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # readiness polling of a local listener
    raise AssertionError("APNs stand-in did not start listening")
