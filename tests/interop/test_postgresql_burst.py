"""A burst of REST issuance against two `campusca serve` nodes sharing one PostgreSQL: every request gets 201."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.support.ca import CaHome, free_port, make_csr, serving, write_public_url
from tests.support.postgres import two_nodes_on_postgres

pytestmark = pytest.mark.interop


async def _burst(urls: list[str], headers: dict[str, str], count: int) -> list[httpx.Response]:
    _, csr = make_csr(cn="burst-device")
    body = {"profile": "device", "csr": csr.decode(), "username": "alice"}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=count), timeout=60) as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(f"{urls[i % len(urls)]}/api/v1/certificates", json=body, headers=headers)
                    for i in range(count)
                )
            )
        )


def test_two_nodes_on_postgresql_issue_a_200_request_burst_without_a_refusal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with two_nodes_on_postgres(home) as (authority, _):
        url = authority.settings.effective_database_url
        authority.db.dispose()  # the nodes under test are `campusca serve` processes
        first = CaHome(home=home, port=free_port(), database_url=url)
        write_public_url(home, first.port)
        second_home = tmp_path / "second"
        shutil.copytree(home, second_home)  # the same key material and master key, another process
        second = CaHome(home=second_home, port=free_port(), database_url=url)
        token = first.cli("token", "create", "--role", "ra-officer", "--name", "burst").stdout.strip()
        headers = {"Authorization": f"Bearer {token.splitlines()[-1]}"}
        with serving(first) as one, serving(second) as two:
            responses = asyncio.run(_burst([one, two], headers, 200))
        statuses = [r.status_code for r in responses]
        assert statuses == [201] * 200, sorted(set(statuses))
        serials = {x509.load_pem_x509_certificate(r.json()["pem"].encode()).serial_number for r in responses}
        assert len(serials) == 200
        assert first.cli("audit", "verify", check=False).returncode == 0
