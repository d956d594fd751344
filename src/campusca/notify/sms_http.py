"""SMS through a Twilio-compatible REST API: POST /2010-04-01/Accounts/{sid}/Messages.json (To, From, Body).

The base URL is configurable so that any gateway speaking the same API (or a test server) can be used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from campusca.notify.base import NotifyError, SmsMessage

if TYPE_CHECKING:
    import httpx


class HttpSmsSender:
    """Hands each message to the gateway with HTTP basic auth (account SID, auth token)."""

    name = "http"

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise NotifyError("SMS gateway base URL must be an http:// or https:// URL")
        if not account_sid or not auth_token or not sender:
            raise NotifyError("SMS gateway needs an account SID, an auth token and a sender number")
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        self._sender = sender
        self._timeout = timeout
        self._transport = transport

    def send_sms(self, message: SmsMessage) -> None:
        import httpx  # here, not at import: with its CLI (click, rich, pygments) 4 MB in every serve worker

        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                response = client.post(
                    self._url,
                    data={"To": message.to, "From": self._sender, "Body": message.body},
                    auth=self._auth,
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as error:
            raise NotifyError(f"SMS gateway unreachable: {type(error).__name__}") from None
        if response.status_code not in (200, 201):
            raise NotifyError(f"SMS gateway refused the message to {message.to}: {_reason(response)}")


def _reason(response: httpx.Response) -> str:
    """Twilio answers errors as JSON {code, message}; anything else is named by its status only."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        code = f" (code {body['code']})" if body.get("code") is not None else ""
        return f"HTTP {response.status_code}{code}: {str(body['message'])[:160]}"
    return f"HTTP {response.status_code}"
