"""An erased enrollment link is gone from disk (issue 9): once its message is sent or the invitation is
withdrawn, the link's token is in no file of the data directory, the WAL included, while the service runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campusca.config import load_settings
from campusca.notify import LogSender
from campusca.services.authority import Authority, open_authority
from campusca.services.ota.invitations import (
    CreatedInvitation,
    Senders,
    cancel_invitation,
    create_invitation,
    deliver_message,
    list_invitations,
)
from tests.support.ca import CaHome


@pytest.fixture
def authority(ca: CaHome) -> Iterator[Authority]:
    """Invitations need an https public URL (a TLS proxy in front of campusca)."""
    (ca.home / "campusca.toml").write_text(f'public_url = "https://127.0.0.1:{ca.port}"\n')
    opened = open_authority(load_settings(ca.home))
    yield opened
    opened.db.dispose()


def _files_holding(home: Path, secret: bytes) -> list[str]:
    """Every file of the data directory whose raw bytes contain `secret` (database, WAL, shm, keys/)."""
    return sorted(
        str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and secret in p.read_bytes()
    )


def _invite_alice(authority: Authority) -> tuple[CreatedInvitation, bytes]:
    with authority.db.write() as session:
        created = create_invitation(authority, session, username="alice", channel="email", actor="test")
    return created, created.link.rsplit("/", 1)[1].encode()


def test_a_sent_invitation_link_is_in_no_file_of_the_data_directory(authority: Authority, ca: CaHome) -> None:
    created, token = _invite_alice(authority)
    assert _files_holding(ca.home, token)  # queued: the message body holds the link
    senders = Senders(email=LogSender(), sms=LogSender())
    assert deliver_message(authority, created.message_id, senders).status == "sent"
    assert _files_holding(ca.home, token) == []


def test_a_withdrawn_invitation_link_is_never_sent_and_in_no_file(authority: Authority, ca: CaHome) -> None:
    created, token = _invite_alice(authority)
    assert _files_holding(ca.home, token)
    with authority.db.write() as session:
        cancel_invitation(authority, session, created.id, actor="test")
    assert _files_holding(ca.home, token) == []
    with authority.db.read() as session:
        (listed,) = list_invitations(authority, session, username="alice")
    assert listed.status == "cancelled"
    assert listed.delivery is not None and listed.delivery.status == "cancelled"
    sender = LogSender()
    assert (
        deliver_message(authority, created.message_id, Senders(email=sender, sms=sender)).status
        == "cancelled"
    )
    assert sender.sent == []
