"""Memory of a serve worker with a million certificates in the database (issue 12: under 150 MB).

A throw-away EC P-256 CA gets 10^6 certificates (every 20th revoked: 50 000 CRL entries; rows written
directly, bench/_bulk.py). `campusca serve` then answers, in phases: the full and delta CRL downloads;
as many distinct OCSP queries as a worker keeps pre-produced answers (`ocsp_cache_entries`, half for
revoked and half for good certificates); and other traffic (REST certificate pages and searches over the
whole table, /metrics, /healthz). After each phase every worker's resident set (VmRSS) and its peak
(VmHWM) are read from /proc, with the proportional set size (PSS: libraries shared by the workers
counted once) and a breakdown from /proc/PID/smaps (shared libraries, glibc's main heap,
glibc's per-thread malloc arenas, other anonymous memory: pymalloc arenas, large blocks, thread stacks).
Prints campusca's peak, the budget, and the ratio.

    .venv/bin/python bench/rss.py [--certificates N] [--queries N] [--workers N]

With `--workers 1` (the default) uvicorn runs the app in the `serve` process itself; with more, the
workers are its spawned children, and each gets `--queries` queries on average.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from _bulk import add_certificates
from _common import serving, temporary_ca
from campusca.pki.ocsp import issuer_hashes

BUDGET_MB = 150
TARGET_PEAK_MB = 125
_ARENA_BYTES = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit: each non-main arena reserves this much


def serve_process(port: int) -> int:
    """The pid of the `campusca … serve --port <port>` process this script started."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in words and str(port).encode() in words:
            return int(proc.name)
    raise SystemExit(f"no serve process on port {port}")


def worker_processes(serve_pid: int, workers: int) -> list[int]:
    """The processes running the app: the serve process itself, or its spawned uvicorn workers."""
    if workers == 1:
        return [serve_pid]
    children = Path(f"/proc/{serve_pid}/task/{serve_pid}/children").read_text().split()
    spawned = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return sorted(spawned)


def status_fields(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (libraries) counted once across the processes sharing them."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def smaps_breakdown(pid: int) -> dict[str, float]:
    """Resident MB by kind of mapping (from /proc/PID/smaps)."""
    kinds = {"libraries": 0.0, "main heap": 0.0, "malloc arenas": 0.0, "other anonymous": 0.0}
    arenas = 0
    mappings: list[tuple[int, int, str, str, int]] = []  # start, end, perms, path, rss kB
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            start, end = (int(x, 16) for x in head[0].split("-"))
            mappings.append((start, end, head[1], head[5] if len(head) > 5 else "", 0))
        elif head[0] == "Rss:":
            start, end, perms, path, _ = mappings[-1]
            mappings[-1] = (start, end, perms, path, int(head[1]))
    for i, (start, end, _perms, path, rss_kb) in enumerate(mappings):
        if path == "[heap]":
            kind = "main heap"
        elif path.startswith("/"):
            kind = "libraries"
        elif path:  # [stack], [vdso], …
            kind = "other anonymous"
        else:
            # A non-main arena: a 64 MB-aligned reservation, its used part followed by ---p up to 64 MB.
            following = mappings[i + 1] if i + 1 < len(mappings) else None
            whole = end - start + (following[1] - following[0] if following and following[0] == end else 0)
            is_arena = start % _ARENA_BYTES == 0 and whole == _ARENA_BYTES
            arenas += is_arena
            kind = "malloc arenas" if is_arena else "other anonymous"
        kinds[kind] += rss_kb / 1024
    kinds["arena count"] = arenas
    return kinds


def report(phase: str, pids: list[int]) -> float:
    """Print one line per worker; returns the highest peak."""
    highest = 0.0
    for pid in pids:
        fields = status_fields(pid)
        rss, peak = int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
        parts = smaps_breakdown(pid)
        print(
            f"  {phase:20s} pid {pid:7d}  RSS {rss:4.0f}  peak {peak:4.0f}  PSS {pss_mb(pid):4.0f} MB"
            f"  threads {fields['Threads']:>2s}"
            f"   libraries {parts['libraries']:4.0f}  main heap {parts['main heap']:4.0f}"
            f"  {int(parts['arena count']):2d} arenas {parts['malloc arenas']:4.0f}"
            f"  other anon {parts['other anonymous']:4.0f}",
            flush=True,
        )
        highest = max(highest, peak)
    return highest


def sample_serials(home: Path, count: int) -> list[int]:
    """`count` serials of the issuing CA: half revoked, half good (answers `unknown` are not kept)."""
    database = sqlite3.connect(home / "campusca.db")
    query = (
        "SELECT serial_hex FROM certificates WHERE revoked_at IS {} NULL"
        " AND ca_id = (SELECT id FROM certificate_authorities WHERE slug = 'issuing') LIMIT ?"
    )
    revoked = [int(s, 16) for (s,) in database.execute(query.format("NOT"), (count // 2,))]
    good = [int(s, 16) for (s,) in database.execute(query.format(""), (count - len(revoked),))]
    database.close()
    return revoked + good


def ocsp_queries(url: str, serials: list[int]) -> list[int]:
    issuer = x509.load_der_x509_certificate(httpx.get(f"{url}/ca/issuing.crt").content)
    name_hash, key_hash = issuer_hashes(issuer)
    with httpx.Client(timeout=60) as client:

        def query(serial: int) -> int:
            request = (
                ocsp.OCSPRequestBuilder()
                .add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())
                .build()
                .public_bytes(serialization.Encoding.DER)
            )
            return client.post(f"{url}/ocsp", content=request).status_code

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(query, serials))


def other_traffic(ca_cli, url: str) -> None:  # type: ignore[no-untyped-def]
    """REST pages and searches over the whole certificate table, metrics, health."""
    token = ca_cli("token", "create", "--role", "auditor").stdout.strip().splitlines()[-1]
    with httpx.Client(timeout=120, headers={"authorization": f"Bearer {token}"}) as client:
        for params in (
            {"limit": 1000},
            {"limit": 1000, "offset": 500_000},
            {"status": "revoked", "limit": 1000},
            {"status": "valid", "limit": 1000, "offset": 20_000},
            {"profile": "device", "limit": 10, "offset": 90_000},
        ):
            client.get(f"{url}/api/v1/certificates", params=params).raise_for_status()
        for path in ("/metrics", "/healthz", "/", "/login"):
            client.get(f"{url}{path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000, help="distinct OCSP queries per worker")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with temporary_ca("ec-p256") as ca:
        print(f"… adding {args.certificates} certificates", file=sys.stderr, flush=True)
        revoked = add_certificates(ca.home, count=args.certificates, revoked_every=20)
        ca.cli("crl", "generate")
        serials = sample_serials(ca.home, args.queries * args.workers)
        print("serve worker memory, MB (figures from a loaded, shared machine)")
        with serving(ca, workers=args.workers) as url:
            pids = worker_processes(serve_process(ca.port), args.workers)
            report("after start-up", pids)
            # Forget the start-up peak: the peaks printed below are the load's.
            for pid in pids:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            crl_bytes = len(httpx.get(f"{url}/crl/issuing.crl", timeout=120).content)
            httpx.get(f"{url}/crl/issuing.delta.crl", timeout=120).raise_for_status()
            report("after CRL downloads", pids)
            print(f"… {len(serials)} distinct OCSP queries", file=sys.stderr, flush=True)
            statuses = ocsp_queries(url, serials)
            assert statuses.count(200) == len(statuses), statuses
            report("after OCSP queries", pids)
            other_traffic(ca.cli, url)
            peak = report("after other traffic", pids)
    print(
        f"{args.certificates} certificates, {len(revoked)} revoked (CRL {crl_bytes / 1e6:.1f} MB),"
        f" {len(statuses)} distinct OCSP answers over {args.workers} worker(s)"
    )
    print(
        f"  highest peak {peak:.0f} MB; budget {BUDGET_MB} MB: campusca/budget {peak / BUDGET_MB:.2f};"
        f" margin target {TARGET_PEAK_MB} MB: {peak / TARGET_PEAK_MB:.2f}"
    )


if __name__ == "__main__":
    main()
