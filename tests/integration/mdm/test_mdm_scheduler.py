"""The renewal scheduler in `campusca serve` renews over MDM once, whichever worker runs it, and
`campusca renew run-once` still runs a round while `serve` holds the scheduler lease."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from campusca.db.ota import JobLease
from tests.integration.mdm.conftest import mdm_site
from tests.support.iphone_simulator import SimulatedIPhone
from tests.support.mdm_client import MdmClient

_T = TypeVar("_T")


def _wait_for(condition: Callable[[], _T], timeout: float = 90) -> _T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)  # polling a background job's observable effect, with a deadline
    raise AssertionError("condition not met in time")


def test_two_workers_push_once_and_queue_one_install_profile(ca_template: Path, tmp_path: Path) -> None:
    with mdm_site(ca_template, tmp_path, workers=2, renewal_enabled=True, renewal_interval_seconds=1) as mdm:
        phone = SimulatedIPhone()
        client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
        client.enrol()
        mdm.site.ca.cli("device", "revoke", phone.udid)
        _wait_for(lambda: mdm.apns.pushes)
        seen: set[object] = set()

        def rounds() -> bool:
            with mdm.site.authority.db.read() as session:
                lease = session.execute(select(JobLease).where(JobLease.name == "renewal")).scalar_one()
                seen.add(lease.expires_at)
            return len(seen) >= 4

        _wait_for(rounds)
        assert len(mdm.apns.pushes) == 1
        commands = mdm.site.ca.cli_json("mdm", "commands", "--device", phone.udid)
        assert [c["request_type"] for c in commands] == ["InstallProfile"]


def test_renew_run_once_runs_while_serve_holds_the_scheduler_lease(ca_template: Path, tmp_path: Path) -> None:
    with mdm_site(ca_template, tmp_path, renewal_enabled=True, renewal_interval_seconds=3600) as mdm:

        def leader() -> bool:
            with mdm.site.authority.db.read() as session:
                return session.get(JobLease, "renewal") is not None

        _wait_for(leader)  # serve's scheduler has taken the lease (and keeps it for two hours)
        phone = SimulatedIPhone()
        client = MdmClient.from_final_profile(phone, mdm.site.enrol(phone))
        client.enrol()
        mdm.site.ca.cli("device", "revoke", phone.udid)
        report = mdm.site.ca.cli_json("renew", "run-once")
        assert report["ran"] is True and [r["push"] for r in report["mdm"]] == ["sent"]
