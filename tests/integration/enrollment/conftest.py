"""A served campusca set up for Apple OTA enrollment: https public URL behind a proxy, a local SMS gateway."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from campusca.config import load_settings
from campusca.services.authority import Authority, open_authority
from campusca.services.people import registry
from tests.support.ca import CaHome, free_port, serving
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.sms_gateway import SmsGateway, sms_gateway

ALICE_PHONE = "+15551230001"
BOB_PHONE = "+15551230002"
PASSWORD = "campusca-demo"


@dataclass
class EnrollmentSite:
    """A running `campusca serve` for enrollment tests, with an in-process Authority on the same data."""

    ca: CaHome
    url: str  # the public https URL (the simulator reaches it through its proxy)
    authority: Authority
    gateway: SmsGateway

    @property
    def plain_url(self) -> str:
        return self.ca.url

    def enrol(self, phone: SimulatedIPhone, username: str = "alice") -> dict:
        """Invite by SMS and enrol `phone` from the link; returns the decrypted final profile."""
        return phone.enrol(self.invite(username), username, PASSWORD)

    def invite(self, username: str = "alice", *extra: str) -> str:
        """`campusca invite USERNAME --via sms`, and the link as the SMS gateway received it."""
        before = len(self.gateway.messages)
        self.ca.cli("invite", username, "--via", "sms", *extra)
        assert len(self.gateway.messages) == before + 1, "exactly one SMS was sent"
        return self.gateway.links()[-1]


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def write_settings(home: Path, port: int, values: dict[str, object]) -> None:
    """campusca.toml: scalars first, then tables such as `[ldap."Example University"]`."""
    lines = [f'public_url = "https://127.0.0.1:{port}"']
    tables: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            for name, table in value.items():
                tables.append(f"\n[{key}.{toml_value(name)}]")
                tables += [f"{k} = {toml_value(v)}" for k, v in table.items()]
        else:
            lines.append(f"{key} = {toml_value(value)}")
    (home / "campusca.toml").write_text("\n".join(lines + tables) + "\n")


def prepare_home(template: Path, workdir: Path) -> CaHome:
    home = workdir / "home"
    shutil.copytree(template, home)
    ca = CaHome(home=home, port=free_port())
    authority = open_authority(load_settings(home))
    try:
        with authority.db.write() as session:
            for username, phone in (("alice", ALICE_PHONE), ("bob", BOB_PHONE)):
                registry.update_person(authority, session, username, actor="test", phone=phone)
    finally:
        authority.db.dispose()
    return ca


@contextmanager
def enrollment_site(
    template: Path, workdir: Path, *, workers: int = 1, **settings: object
) -> Iterator[EnrollmentSite]:
    """Serve a copy of the template CA with the enrollment settings given (plus an SMS gateway)."""
    ca = prepare_home(template, workdir)
    with sms_gateway() as gateway:
        values: dict[str, object] = {"renewal_enabled": False, **gateway.settings(), **settings}
        write_settings(ca.home, ca.port, values)
        authority = open_authority(load_settings(ca.home))
        authority.db.upgrade()
        try:
            with serving(ca, workers=workers):
                yield EnrollmentSite(
                    ca=ca, url=f"https://127.0.0.1:{ca.port}", authority=authority, gateway=gateway
                )
        finally:
            authority.db.dispose()


@pytest.fixture
def site(ca_template: Path, tmp_path: Path) -> Iterator[EnrollmentSite]:
    with enrollment_site(ca_template, tmp_path) as served:
        yield served
