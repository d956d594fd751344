"""The APNs push that wakes a device: HTTP/2 POST {mdm_apns_url}/3/device/{token} with the push certificate.

Apple's MDM push carries nothing but the device's PushMagic; the device then connects to the ServerURL
and asks for its commands. The request format is Apple's provider API ("Sending notification requests
to APNs"): headers apns-topic and apns-push-type: mdm, body {"mdm": PushMagic}, client TLS authentication.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from campusca.config import Settings
from campusca.services.mdm.push_cert import PushCredentials

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("campusca.mdm.apns")
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class PushTarget:
    token_hex: str
    push_magic: str


@dataclass(frozen=True, slots=True)
class PushResult:
    status: str  # sent | failed
    detail: str  # the HTTP status and apns reason, or the transport error (never the token or magic)


def tls_context(settings: Settings, credentials: PushCredentials) -> ssl.SSLContext:
    """Trust the system roots plus `mdm_apns_ca_file`; present the push certificate.

    The default roots come from OpenSSL's default paths, which honour SSL_CERT_FILE and SSL_CERT_DIR.
    """
    context = ssl.create_default_context()
    if settings.mdm_apns_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.mdm_apns_ca_file))
    context.set_alpn_protocols(["h2"])
    password = secrets.token_bytes(32)
    # ssl loads a client key from a file only: write it encrypted with a one-time password, load, delete.
    with tempfile.TemporaryDirectory(prefix="campusca-apns-") as directory:
        cert_file, key_file = Path(directory) / "push.crt", Path(directory) / "push.key"
        cert_file.write_bytes(credentials.certificate.public_bytes(serialization.Encoding.PEM))
        key_file.touch(mode=0o600)
        key_file.write_bytes(
            credentials.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(password),
            )
        )
        context.load_cert_chain(str(cert_file), str(key_file), password=password)
    return context


def send_pushes(
    settings: Settings, credentials: PushCredentials, targets: list[PushTarget]
) -> list[PushResult]:
    """Send one MDM push per target over one HTTP/2 connection; a failure is reported, never raised."""
    if not targets:
        return []
    import httpx  # here, not at import: with its CLI (click, rich, pygments) 4 MB in every serve worker

    base = settings.mdm_apns_url.rstrip("/")
    headers = {"apns-topic": credentials.topic, "apns-push-type": "mdm", "apns-priority": "10"}
    results: list[PushResult] = []
    try:
        context = tls_context(settings, credentials)
    except (ssl.SSLError, OSError) as exc:
        return [PushResult("failed", f"TLS setup: {type(exc).__name__}") for _ in targets]
    with httpx.Client(http2=True, verify=context, timeout=TIMEOUT_SECONDS) as client:
        for target in targets:
            body = json.dumps({"mdm": target.push_magic}).encode()
            try:
                response = client.post(f"{base}/3/device/{target.token_hex}", content=body, headers=headers)
            except httpx.HTTPError as exc:
                results.append(PushResult("failed", f"transport: {type(exc).__name__}"))
                continue
            if response.status_code == 200:
                results.append(PushResult("sent", f"HTTP {response.status_code} {response.http_version}"))
            else:
                reason = _reason(response)
                log.warning("APNs refused an MDM push: HTTP %d %s", response.status_code, reason)
                results.append(PushResult("failed", f"HTTP {response.status_code} {reason}"[:200]))
    return results


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("reason", ""))
    except ValueError:
        return ""
