"""Certificates issued per second over the REST API, against raw in-process signing, measured side by side.

The raw rate builds and signs the same kind of certificate (profile `device`, the same issuing CA key)
with `cryptography` in this process with nothing around it: one core's physical limit for the key type.
The REST rate, driven by `hey` (a Go load generator, so the client does not measure itself), includes
HTTP, the bearer token, CSR verification, the database row, the audit record and the commit.

    .venv/bin/python bench/issuance.py                      # SQLite, 2 workers, RSA-3072 CA
    .venv/bin/python bench/issuance.py --postgres           # PostgreSQL, two serve nodes on one database
    .venv/bin/python bench/issuance.py --key-type ec-p256
    .venv/bin/python bench/issuance.py --runs 5             # five measured runs on one site, and their median

With several workers the kernel spreads hey's connections over the workers' sockets by a hash of their
addresses, so one run may give 10 of 16 connections to one worker and the next 8; each run prints the
split it had (read from /proc halfway through), which explains most of the spread between runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from _site import IssuanceSite, connections_per_process, cpu_seconds, issuance_site
from campusca.config import load_settings
from campusca.pki.certificates import EndEntityRequest, build_end_entity, random_serial
from campusca.pki.profiles import get_profile
from campusca.services.authority import open_authority


def raw_rate(home: Path, database_url: str | None, seconds: float = 3.0) -> float:
    """Certificates built and signed per second in this process, on one core."""
    overrides = {"database_url": database_url} if database_url else {}
    authority = open_authority(load_settings(home, **overrides))
    ca = authority.ca("issuing")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    profile = get_profile("device")
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        request = EndEntityRequest(
            public_key=key.public_key(),
            subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"device-{count}")]),
            subject_alt_names=(x509.RFC822Name("alice@example.edu"),),
            not_before=authority.now(),
            serial=random_serial(),
        )
        build_end_entity(
            request, profile=profile, issuer_certificate=ca.certificate, issuer_key=ca.key, urls=ca.urls
        )
        count += 1
    return count / (time.perf_counter() - started)


def measure(site: IssuanceSite, requests: int, concurrency: int) -> tuple[float, float, float, list[int]]:
    """One measured run: REST rate, raw rate, serve CPU per certificate (s), connections per process."""
    split: list[int] = []
    ports = {int(url.rsplit(":", 1)[1].split("/")[0]) for url in site.urls}
    sampler = threading.Timer(1.0, lambda: split.extend(connections_per_process(site.ca.home, ports)))
    # Raw signing is measured just before and just after the REST run and averaged: on a shared machine
    # one 3 s sample alone moved by ±20 % between runs.
    raw_before = raw_rate(site.ca.home, site.ca.database_url)
    serve_cpu, started = cpu_seconds(site.ca.home), time.perf_counter()
    sampler.start()
    results = site.issue(requests=requests, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    serve_cpu = cpu_seconds(site.ca.home) - serve_cpu
    sampler.cancel()
    raw_after = raw_rate(site.ca.home, site.ca.database_url)
    raw = (raw_before + raw_after) / 2
    issued = sum(r.count(201) for r in results)
    others = {code: n for r in results for code, n in r.statuses.items() if code != 201}
    rest = issued / elapsed
    print(
        f"REST issuance       : {rest:8.1f} certificates/s ({issued} issued, other statuses {others or 'none'})"
    )
    print(
        f"raw build+sign      : {raw:8.1f} certificates/s (one core, same CA key; {raw_before:.0f} before "
        f"the REST run, {raw_after:.0f} after)"
    )
    print(f"ratio REST/raw      : {rest / raw:.2f}")
    print(
        f"serve CPU per cert  : {serve_cpu / max(issued, 1) * 1000:8.2f} ms (all serve processes; raw sign {1000 / raw:.2f} ms)"
    )
    print(f"connections         : {'/'.join(map(str, sorted(split, reverse=True))) or '?'} per serve process")
    return rest, raw, serve_cpu / max(issued, 1), split


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--key-type", default="rsa-3072")
    parser.add_argument("--postgres", action="store_true", help="two serve nodes on one PostgreSQL")
    parser.add_argument("--runs", type=int, default=1, help="measured runs on the same site")
    args = parser.parse_args()
    with issuance_site(args.key_type, postgres=args.postgres) as site:
        print(f"… {site.engine}", file=sys.stderr)
        site.warm_up()  # every worker has loaded its keys; the scheduler's start-up round is over
        print(
            f"issuing CA key: {args.key_type}; {site.engine}; {args.requests} requests, concurrency {args.concurrency}"
        )
        ratios = []
        for run in range(args.runs):
            if args.runs > 1:
                print(f"-- run {run + 1} of {args.runs}")
            rest, raw, _, _ = measure(site, args.requests, args.concurrency)
            ratios.append(rest / raw)
    if args.runs > 1:
        print(
            f"ratio REST/raw over {args.runs} runs: median {statistics.median(ratios):.2f}, "
            f"mean {statistics.fmean(ratios):.2f}, min {min(ratios):.2f}, max {max(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
