"""The Mail account of the iPhone S/MIME profile follows the mail_* settings: both hosts, or none, never one."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusca.config import Settings
from campusca.services.errors import PolicyViolation
from campusca.services.ota.smime_profile import mail_servers


def test_no_mail_hosts_means_no_mail_account(tmp_path: Path) -> None:
    assert mail_servers(Settings(home=tmp_path)) is None


def test_both_mail_hosts_describe_the_account(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, mail_incoming_host="imap.example.edu", mail_outgoing_host="smtp.example.edu",
                        mail_incoming_protocol="pop", mail_outgoing_port=587, mail_use_ssl=False)  # fmt: skip
    servers = mail_servers(settings)
    assert servers is not None
    assert (servers.incoming_host, servers.outgoing_host, servers.incoming_protocol) == (
        "imap.example.edu",
        "smtp.example.edu",
        "pop",
    )
    assert servers.outgoing_port == 587 and servers.use_ssl is False


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        pytest.param({"mail_incoming_host": "imap.example.edu"}, "mail_outgoing_host", id="fail-no-outgoing"),
        pytest.param({"mail_outgoing_host": "smtp.example.edu"}, "mail_incoming_host", id="fail-no-incoming"),
    ],
)
def test_one_mail_host_alone_is_refused_by_name(tmp_path: Path, given: dict[str, str], missing: str) -> None:
    with pytest.raises(PolicyViolation, match=f"{missing} must be set too"):
        mail_servers(Settings(home=tmp_path, **given))
