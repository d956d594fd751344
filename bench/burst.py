"""A burst of concurrent REST issuance requests while /healthz is polled: back-pressure, not stalls.

Drives both with `hey` (Go): `burst` POSTs at once against `campusca serve --workers 2` (SQLite) or two
nodes on one PostgreSQL (`--postgres`), and prints the status counts, the slowest issuance answer and the
slowest /healthz answer seen during the burst.

    .venv/bin/python bench/burst.py [--burst 200] [--postgres]
"""

from __future__ import annotations

import argparse
import threading

from _hey import HeyResult, hey
from _site import issuance_site


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with issuance_site(postgres=args.postgres) as site:
        health: list[HeyResult] = []
        poller = threading.Thread(
            target=lambda: health.append(
                hey(f"{site.urls[0]}/healthz", requests=400, concurrency=1, timeout_seconds=30)
            )
        )
        poller.start()
        bursts = site.issue(requests=args.burst, concurrency=args.burst)
        poller.join()
    statuses: dict[int, int] = {}
    for result in bursts:
        for code, count in result.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    print(f"{site.engine}: {args.burst} concurrent issuance requests")
    print(f"statuses            : {dict(sorted(statuses.items()))}  (0 = transport error)")
    print(f"slowest issuance    : {max(r.slowest_seconds for r in bursts):.2f} s")
    print(
        f"slowest /healthz    : {health[0].slowest_seconds:.3f} s over {sum(health[0].statuses.values())} polls"
    )


if __name__ == "__main__":
    main()
