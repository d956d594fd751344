"""Full CRL generation at campus scale: campusca (streamed) against `openssl ca -gencrl` on the same entries.

A throw-away CA gets 10^5, then 10^6 revoked certificates (rows written directly, bench/_bulk.py). For each
size, one process re-signs the issuing CA's full CRL (`republish_crl`: reserve the number, stream the rows
from the database, sign, store) and `openssl ca -gencrl` signs a CRL from an index.txt with the same
entries and the same CA key. Prints both times, both peak RSS, and the ratios.

    .venv/bin/python bench/crl.py                   # 100000 and 1000000 entries
    .venv/bin/python bench/crl.py --sizes 20000     # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from _bulk import add_certificates, write_openssl_index
from _common import REPO, temporary_ca
from campusca.config import load_settings
from campusca.services.authority import open_authority

_OPENSSL_CONFIG = """[ ca ]
default_ca = bench
[ bench ]
database = index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 1
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
"""


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def generate_once(home: Path) -> None:
    """Child mode: re-sign the full CRL once; print seconds, RSS before and peak RSS during, as JSON."""
    from campusca.services.ca.crls import republish_crl

    authority = open_authority(load_settings(home))
    ca = authority.ca("issuing")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: imports (a KDF at import) peak higher
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    number = republish_crl(authority, ca, actor="bench")
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {"seconds": seconds, "before_mb": before / 1024, "peak_mb": peak / 1024, "crl_number": number}
        )
    )


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command under GNU time; (seconds, its peak RSS in MB, stdout).

    Not os.wait4: a child spawned from this process keeps this process's peak RSS across exec.
    """
    out_path, rss_path = cwd / ".timed.out", cwd / ".timed.rss"
    with out_path.open("wb") as out:
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-o", str(rss_path), "-f", "%M", *command],
            stdout=out,
            cwd=cwd,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{command[0]} failed with {result.returncode}")
    return seconds, int(rss_path.read_text().split()[-1]) / 1024, out_path.read_text()


def campusca_run(home: Path) -> tuple[float, float, float]:
    """(seconds, RSS before, peak RSS while generating) of one generation in a fresh process."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{os.environ.get('PYTHONPATH', '')}"}
    _, _, out = timed([sys.executable, __file__, "--generate-once", str(home)], cwd=home, env=env)
    figures = json.loads(out.strip().splitlines()[-1])
    return figures["seconds"], figures["before_mb"], figures["peak_mb"]


def openssl_files(home: Path, directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    ca = open_authority(load_settings(home)).ca("issuing")
    (directory / "ca.pem").write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "ca.key").write_bytes(
        ca.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (directory / "openssl.cnf").write_text(_OPENSSL_CONFIG)
    (directory / "crlnumber").write_text("1000\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--generate-once", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_once:
        generate_once(args.generate_once)
        return
    rows = []
    with temporary_ca() as ca:
        workdir = ca.home / "openssl-ca"
        openssl_files(ca.home, workdir)
        present = 0
        for size in sorted(int(s) for s in args.sizes.split(",")):
            print(f"… adding {size - present} revoked certificates", file=sys.stderr, flush=True)
            add_certificates(ca.home, count=size - present, revoked_every=1, seed=size)
            present = size
            entries = write_openssl_index(ca.home, workdir)
            ours, our_before, our_peak = campusca_run(ca.home)
            theirs, their_peak, _ = timed(
                ["openssl", "ca", "-batch", "-config", "openssl.cnf", "-gencrl", "-out", "crl.pem"],
                cwd=workdir,
            )
            crl_mb = (ca.home / "openssl-ca" / "crl.pem").stat().st_size / 1e6 * 3 / 4
            rows.append((entries, ours, theirs, our_before, our_peak, their_peak, crl_mb))
    print("Full CRL generation, RSA-3072 CA, one process each (figures from a loaded, shared machine)")
    print(
        f"{'entries':>9} {'DER MB':>7} {'campusca s':>11} {'openssl s':>10} {'ratio':>6}"
        f" {'campusca RSS before/peak MB':>28} {'openssl peak MB':>16}"
    )
    for entries, ours, theirs, before, peak, their_peak, crl_mb in rows:
        print(
            f"{entries:>9} {crl_mb:>7.1f} {ours:>11.2f} {theirs:>10.2f} {ours / theirs:>6.2f}"
            f" {before:>18.0f} / {peak:<7.0f} {their_peak:>16.0f}"
        )


if __name__ == "__main__":
    main()
