"""Invitations reach people by SMS (Twilio-compatible HTTP, or the log) and e-mail (SMTP); failures are retried."""

from __future__ import annotations

import email
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from campusca.config import load_settings
from campusca.notify import HttpSmsSender, NotifyError, SmsMessage
from campusca.services.authority import open_authority
from campusca.services.ota.invitations import deliver_due, hash_token
from tests.integration.enrollment.conftest import ALICE_PHONE, prepare_home, write_settings
from tests.support.ca import CaHome, free_port
from tests.support.sms_gateway import SmsGateway, sms_gateway


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, int]]:
    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with sms_gateway() as running:
        yield running


def _home(ca_template: Path, tmp_path: Path, **settings: object) -> CaHome:
    ca = prepare_home(ca_template, tmp_path)
    write_settings(ca.home, ca.port, {"renewal_enabled": False, **settings})
    return ca


def test_sms_invitation_goes_through_the_twilio_compatible_gateway(
    ca_template: Path, tmp_path: Path, gateway: SmsGateway
) -> None:
    ca = _home(ca_template, tmp_path, **gateway.settings())
    result = ca.cli_json("invite", "alice", "--via", "sms")
    assert result["delivery"]["status"] == "sent" and result["link"] is None
    (message,) = gateway.messages
    assert message["To"] == ALICE_PHONE and message["From"] == gateway.sender
    (link,) = gateway.links()
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits, url-safe base64
    db = (ca.home / "campusca.db").read_bytes()
    assert token.encode() not in db and hash_token(token).encode() in db  # stored hashed only


def test_a_refused_sms_is_reported_retried_and_finally_marked_failed(
    ca_template: Path, tmp_path: Path, gateway: SmsGateway
) -> None:
    ca = _home(ca_template, tmp_path, outbox_max_attempts=3, **gateway.settings())
    gateway.fail_next = 1
    first = ca.cli("invite", "alice", "--via", "sms", check=False)
    assert first.returncode == 2 and "was not sent" in first.stderr and "HTTP 503" in first.stderr
    listed = ca.cli_json("invitations", "list")[0]["delivery"]
    assert (
        listed["status"] == "pending" and listed["attempts"] == 1 and "Service unavailable" in listed["error"]
    )
    assert ca.cli_json("renew", "run-once")["retried"] == []  # not due yet (back-off)

    authority = open_authority(load_settings(ca.home))
    later = replace(authority, clock=lambda: authority.now() + timedelta(minutes=2))
    (retried,) = deliver_due(later)
    assert retried.status == "sent" and retried.attempts == 2 and len(gateway.messages) == 1

    gateway.fail_next = 10
    assert ca.cli("invite", "bob", "--via", "sms", check=False).returncode == 2
    for minutes in (2, 10):
        deliver_due(replace(authority, clock=lambda m=minutes: authority.now() + timedelta(minutes=m)))
    failed = ca.cli_json("invitations", "list", "--user", "bob")[0]["delivery"]
    assert failed["status"] == "failed" and failed["attempts"] == 3
    actions = [r["action"] for r in ca.cli_json("audit", "list", "--limit", "200")]
    assert "invitation.delivery_retry" in actions and "invitation.delivery_failed" in actions
    authority.db.dispose()


def test_the_http_sender_reports_bad_credentials_without_echoing_them(gateway: SmsGateway) -> None:
    sender = HttpSmsSender(
        base_url=gateway.base_url,
        account_sid=gateway.account_sid,
        auth_token="wrong-token",
        sender="+15550001111",
    )
    with pytest.raises(NotifyError) as refused:
        sender.send_sms(SmsMessage(to=ALICE_PHONE, body="hello"))
    assert "HTTP 401" in str(refused.value) and "wrong-token" not in str(refused.value)
    unreachable = HttpSmsSender(
        base_url=f"http://127.0.0.1:{free_port()}", account_sid="AC1", auth_token="t", sender="+15550001111"
    )
    with pytest.raises(NotifyError, match="unreachable"):
        unreachable.send_sms(SmsMessage(to=ALICE_PHONE, body="hello"))


def test_email_invitation_is_sent_over_smtp(
    ca_template: Path, tmp_path: Path, mailbox: tuple[_Mailbox, int]
) -> None:
    box, port = mailbox
    ca = _home(ca_template, tmp_path, email_sender="smtp", smtp_host="127.0.0.1", smtp_port=port)
    result = ca.cli_json("invite", "bob", "--via", "email")
    assert result["delivery"]["status"] == "sent"
    (message,) = box.messages
    assert message["To"] == "bob@example.edu" and "enrol your iPhone" in message["Subject"]
    assert "/enroll/" in message.get_payload()


def test_log_sender_and_show_print_the_link_and_bad_requests_are_one_line_errors(
    ca_template: Path, tmp_path: Path
) -> None:
    ca = _home(ca_template, tmp_path)
    shown = ca.cli("invite", "alice", "--show")
    assert shown.stdout.strip().splitlines()[-1].startswith(f"https://127.0.0.1:{ca.port}/enroll/")
    no_phone = ca.cli("invite", "mary", "--via", "sms", check=False)
    assert no_phone.returncode == 1 and "has no phone number" in no_phone.stderr
    assert "Traceback" not in no_phone.stderr
    bad_via = ca.cli("invite", "alice", "--via", "pigeon", check=False)
    assert bad_via.returncode == 1 and "--via must be sms or email" in bad_via.stderr
    nobody = ca.cli("invite", "nobody", check=False)
    assert nobody.returncode == 1 and "no person" in nobody.stderr
    short = ca.cli("invite", "alice", "--ttl", "5", check=False)
    assert short.returncode == 1 and "ttl must be between" in short.stderr


def test_rest_api_creates_lists_and_withdraws_invitations(ca_template: Path, tmp_path: Path) -> None:
    from tests.support.ca import serving

    ca = _home(ca_template, tmp_path)
    token = (
        ca.cli("token", "create", "--role", "ra-officer", "--name", "helpdesk")
        .stdout.strip()
        .splitlines()[-1]
    )
    headers = {"Authorization": f"Bearer {token}"}
    with serving(ca):
        created = httpx.post(
            f"{ca.url}/api/v1/invitations",
            json={"username": "alice", "via": "sms", "show_link": True},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["delivery"]["status"] == "sent" and "/enroll/" in body["link"]
        listed = httpx.get(
            f"{ca.url}/api/v1/invitations", params={"username": "alice"}, headers=headers
        ).json()
        assert listed[0]["id"] == body["id"] and listed[0]["status"] == "open"
        assert (
            httpx.post(f"{ca.url}/api/v1/invitations/{body['id']}/cancel", headers=headers).status_code == 204
        )
        page = httpx.get(body["link"].replace("https://", "http://"))
        assert page.status_code == 410 and "withdrawn" in page.text
        missing = httpx.post(
            f"{ca.url}/api/v1/invitations", json={"username": "mary", "via": "sms"}, headers=headers
        )
        assert missing.status_code == 400 and "phone" in missing.json()["message"]
        anonymous = httpx.post(f"{ca.url}/api/v1/invitations", json={"username": "alice"})
        assert anonymous.status_code == 401
