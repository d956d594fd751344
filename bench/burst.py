"""A burst of concurrent REST issuance requests while /healthz is polled: back-pressure, not stalls.

Drives both with `hey` (Go): `burst` POSTs at once against `campusca serve --workers 2` (SQLite) or two
nodes on one PostgreSQL (`--postgres`), and prints the status counts, the slowest issuance answer and the
slowest /healthz answer seen during the burst.

    .venv/bin/python bench/burst.py [--burst 200] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

from _common import CaHome, make_csr, serving, temporary_ca, workers
from _hey import HeyResult, hey


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with ExitStack() as stack:
        database_url = None
        if args.postgres:
            from tests.support.postgres import postgres_cluster

            database_url = stack.enter_context(postgres_cluster())
        ca = stack.enter_context(temporary_ca("rsa-3072", database_url=database_url))
        token = (
            ca.cli("token", "create", "--role", "ra-officer", "--name", "burst")
            .stdout.strip()
            .splitlines()[-1]
        )
        _, csr = make_csr(cn="burst-device")
        body = Path(tempfile.mkdtemp()) / "body.json"
        body.write_text(json.dumps({"profile": "device", "csr": csr.decode(), "username": "alice"}))
        if args.postgres:
            from tests.support.ca import free_port

            second = CaHome(home=ca.home, port=free_port(), database_url=database_url)
            urls = [stack.enter_context(serving(ca)), stack.enter_context(serving(second))]
        else:
            urls = [stack.enter_context(serving(ca, workers=workers()))]
        health: list[HeyResult] = []
        poller = threading.Thread(
            target=lambda: health.append(
                hey(f"{urls[0]}/healthz", requests=400, concurrency=1, timeout_seconds=30)
            )
        )
        poller.start()
        bursts = _parallel(urls, args.burst, body, token)
        poller.join()
    statuses: dict[int, int] = {}
    for result in bursts:
        for code, count in result.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    engine = "PostgreSQL, 2 nodes" if args.postgres else f"SQLite, {workers()} workers"
    print(f"{engine}: {args.burst} concurrent issuance requests")
    print(f"statuses            : {dict(sorted(statuses.items()))}  (0 = transport error)")
    print(f"slowest issuance    : {max(r.slowest_seconds for r in bursts):.2f} s")
    print(
        f"slowest /healthz    : {health[0].slowest_seconds:.3f} s over {sum(health[0].statuses.values())} polls"
    )


def _parallel(urls: list[str], burst: int, body: Path, token: str) -> list[HeyResult]:
    results: list[HeyResult] = []
    threads = [
        threading.Thread(
            target=lambda url=url: results.append(
                hey(
                    f"{url}/api/v1/certificates",
                    requests=burst // len(urls),
                    concurrency=burst // len(urls),
                    method="POST",
                    body_file=body,
                    headers={"Authorization": f"Bearer {token}"},
                    content_type="application/json",
                )
            )
        )
        for url in urls
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


if __name__ == "__main__":
    main()
