"""Instructions per REST issuance, counted by valgrind: a steady measure where timings are not.

On a shared machine CPU time per request moved by half between two identical runs (docs/environment.md);
callgrind's instruction count is the same twice. This runs N issuances through the ASGI app in one
process (bench/_asgi_issuance_loop.py: token check, CSR, holder, build and sign, the group commit, the
answer) under `valgrind --tool=callgrind`, then the same with N = 0, and prints the difference per
issuance. With `--compare DIR` it counts another source tree (a git worktree's `src`) on a copy of the
same CA and prints the ratio: the yes/no for a code change.

Under valgrind OpenSSL takes slower generic code paths, so the RSA signature is a larger share of the
count (~29 M of ~37 M instructions for RSA-3072) than of the time on the real CPU; compare versions of
the Python around it, not against other measures.

    .venv/bin/python bench/instructions.py                          # ~3 minutes
    .venv/bin/python bench/instructions.py --compare ../base/src    # this tree against another
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, make_csr, temporary_ca

LOOP = Path(__file__).with_name("_asgi_issuance_loop.py")


def instructions(source: Path, home: Path, token: str, csr: Path, count: int, scratch: Path) -> int:
    """Instructions callgrind counts for `count` issuances (plus warm-up and start-up) with `source` first."""
    run_home = scratch / f"home-{count}"
    shutil.rmtree(run_home, ignore_errors=True)
    shutil.copytree(home, run_home)
    out = scratch / f"callgrind-{count}.out"
    env = {**os.environ, "PYTHONPATH": str(source), "CAMPUSCA_HOME": str(run_home)}
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(LOOP)]
    subprocess.run(
        [*command, str(run_home), token, str(csr), str(count)], check=True, env=env, capture_output=True
    )
    totals = re.search(r"^totals:\s+(\d+)", out.read_text(), re.MULTILINE)
    if totals is None:
        raise SystemExit(f"no totals in {out}")
    return int(totals.group(1))


def per_issuance(source: Path, home: Path, token: str, csr: Path, count: int) -> float:
    with tempfile.TemporaryDirectory(prefix="campusca-callgrind-") as scratch:
        print(f"… counting {source} (twice under valgrind, about a minute each)", file=sys.stderr)
        base = instructions(source, home, token, csr, 0, Path(scratch))
        loaded = instructions(source, home, token, csr, count, Path(scratch))
    return (loaded - base) / count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40, help="issuances counted (default 40)")
    parser.add_argument("--compare", type=Path, help="another source tree (its src directory) to count too")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    with temporary_ca("rsa-3072") as ca:
        token = (
            ca.cli("token", "create", "--role", "ra-officer", "--name", "bench")
            .stdout.strip()
            .splitlines()[-1]
        )
        _, csr_pem = make_csr(cn="bench-device")
        csr = ca.home.parent / "device.csr"
        csr.write_bytes(csr_pem)
        ours = per_issuance(REPO / "src", ca.home, token, csr, args.requests)
        print(f"instructions per REST issuance, this tree ({REPO / 'src'}): {ours / 1e6:8.2f} M")
        if args.compare is not None:
            theirs = per_issuance(args.compare.resolve(), ca.home, token, csr, args.requests)
            print(f"instructions per REST issuance, {args.compare}: {theirs / 1e6:8.2f} M")
            print(f"ratio this tree / other: {ours / theirs:.3f}")


if __name__ == "__main__":
    main()
