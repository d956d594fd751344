"""The renewal job lease: one holder at a time, renewed by its holder, taken over once it expires."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from campusca.services.authority import Authority
from campusca.services.ota.reenrollment import acquire_lease, release_lease, run_once


def test_only_one_process_holds_the_renewal_lease_until_it_expires(authority: Authority) -> None:
    assert acquire_lease(authority, "node-a", ttl_seconds=60)
    assert not acquire_lease(authority, "node-b", ttl_seconds=60)
    assert acquire_lease(authority, "node-a", ttl_seconds=60)  # the holder renews
    later = replace(authority, clock=lambda: authority.now() + timedelta(seconds=61))
    assert acquire_lease(later, "node-b", ttl_seconds=60)  # node-a stopped renewing
    assert not acquire_lease(later, "node-a", ttl_seconds=60)


def test_a_released_lease_is_free_at_once(authority: Authority) -> None:
    assert acquire_lease(authority, "cli:1", ttl_seconds=600)
    release_lease(authority, "cli:1")
    assert acquire_lease(authority, "node-a", ttl_seconds=60)
    release_lease(authority, "someone-else")  # releasing a lease one does not hold changes nothing
    assert not acquire_lease(authority, "node-b", ttl_seconds=60)


def test_a_renewal_run_without_devices_does_nothing(authority: Authority) -> None:
    report = run_once(authority)
    assert report.ran and report.invitations == () and report.retried == ()
