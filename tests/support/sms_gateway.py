"""A local HTTP server speaking Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json).

It checks HTTP basic auth (account SID and auth token) and the form fields To, From and Body, keeps
every accepted message, and can be told to fail the next N requests the way Twilio does (JSON error).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

LINK = re.compile(r"https?://\S+/enroll/[A-Za-z0-9_-]+")


@dataclass
class SmsGateway:
    base_url: str
    account_sid: str
    auth_token: str
    sender: str = "+15550001111"
    messages: list[dict[str, str]] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with HTTP 503
    requests: int = 0

    def settings(self) -> dict[str, str]:
        """campusca.toml values that point the `http` SMS sender here."""
        return {
            "sms_sender": "http",
            "sms_http_base_url": self.base_url,
            "sms_http_account_sid": self.account_sid,
            "sms_http_auth_token": self.auth_token,
            "sms_from": self.sender,
        }

    def links(self, to: str | None = None) -> list[str]:
        return [m for msg in self.messages if to in (None, msg["To"]) for m in LINK.findall(msg["Body"])]


def _handler(gateway: SmsGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            gateway.requests += 1
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            expected_path = f"/2010-04-01/Accounts/{gateway.account_sid}/Messages.json"
            credentials = base64.b64encode(f"{gateway.account_sid}:{gateway.auth_token}".encode()).decode()
            if self.path != expected_path:
                return self._answer(404, {"code": 20404, "message": "The requested resource was not found"})
            if self.headers.get("Authorization") != f"Basic {credentials}":
                return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            if gateway.fail_next > 0:
                gateway.fail_next -= 1
                return self._answer(503, {"code": 20500, "message": "Service unavailable", "status": 503})
            if not all(form.get(k) for k in ("To", "From", "Body")):
                return self._answer(400, {"code": 21604, "message": "A 'To', 'From' and 'Body' are required"})
            gateway.messages.append(form)
            sid = "SM" + secrets.token_hex(16)
            return self._answer(
                201, {"sid": sid, "status": "queued", **{k.lower(): v for k, v in form.items()}}
            )

    return Handler


@contextmanager
def sms_gateway() -> Iterator[SmsGateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    gateway = SmsGateway(
        base_url=f"http://127.0.0.1:{server.server_address[1]}",
        account_sid="AC" + secrets.token_hex(16),
        auth_token=secrets.token_hex(16),
    )
    server.RequestHandlerClass = _handler(gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
