"""Memory of a serve worker with a million certificates in the database (issue 12: under 150 MB).

A throw-away EC P-256 CA gets 10^6 certificates (every 20th revoked: 50 000 CRL entries; rows written
directly, bench/_bulk.py). `campusca serve --workers 1` then answers the full and delta CRL downloads and
as many distinct OCSP queries as it keeps pre-produced answers (`ocsp_cache_entries`), and the worker's
resident set (VmRSS) and its peak (VmHWM) are read from /proc, next to the same process's RSS right after
start-up. Prints campusca's figure, the 150 MB budget, and the ratio.

    .venv/bin/python bench/rss.py [--certificates N] [--queries N]
"""

from __future__ import annotations

import argparse
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


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000, help="distinct OCSP queries (fills the cache)")
    args = parser.parse_args()
    with temporary_ca("ec-p256") as ca:
        print(f"… adding {args.certificates} certificates", file=sys.stderr, flush=True)
        revoked = add_certificates(ca.home, count=args.certificates, revoked_every=20)
        ca.cli("crl", "generate")
        with serving(ca, workers=1) as url:
            pid = serve_process(ca.port)
            started_mb, _ = memory_mb(pid)
            # Forget the start-up peak (a password KDF runs at import): the peak printed is the load's.
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            issuer = x509.load_der_x509_certificate(httpx.get(f"{url}/ca/issuing.crt").content)
            name_hash, key_hash = issuer_hashes(issuer)
            crl_bytes = len(httpx.get(f"{url}/crl/issuing.crl", timeout=120).content)
            httpx.get(f"{url}/crl/issuing.delta.crl", timeout=120)

            def query(serial: int) -> int:
                request = (
                    ocsp.OCSPRequestBuilder()
                    .add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())
                    .build()
                    .public_bytes(serialization.Encoding.DER)
                )
                return httpx.post(f"{url}/ocsp", content=request, timeout=60).status_code

            print(f"… {args.queries} distinct OCSP queries", file=sys.stderr, flush=True)
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(query, revoked[: args.queries]))
            assert statuses.count(200) == len(statuses)
            rss, peak = memory_mb(pid)
    print(
        f"serve worker, {args.certificates} certificates, {len(revoked)} revoked (CRL {crl_bytes / 1e6:.1f} MB),"
    )
    print(f"{len(statuses)} distinct OCSP answers kept; figures from a loaded, shared machine")
    print(f"  RSS after start-up   {started_mb:6.0f} MB")
    print(f"  RSS after the load   {rss:6.0f} MB   peak {peak:.0f} MB")
    print(
        f"  budget               {BUDGET_MB:6d} MB   campusca/budget {rss / BUDGET_MB:.2f} (peak {peak / BUDGET_MB:.2f})"
    )


if __name__ == "__main__":
    main()
