"""Instructions per REST issuance or SCEP enrollment, counted by valgrind: a steady measure where timings are not.

On a shared machine CPU time per request moved by half between two identical runs (docs/environment.md);
callgrind's instruction count is the same twice. This runs N issuances through the ASGI app in one
process (bench/_asgi_issuance_loop.py: token check, CSR, holder, build and sign, the group commit, the
answer) under `valgrind --tool=callgrind`, then the same with N = 0, and prints the difference per
issuance. With `--scep` it counts SCEP PKCSReqs instead (bench/_asgi_scep_loop.py, RSA-2048 as
bench/scep.py: parse and decrypt, challenge, sign, record, CertRep), each with its own challenge,
built once and replayed on a copy of the same CA for every count. With `--compare DIR` it counts
another source tree (a git worktree's `src`) the same way and prints the ratio: the yes/no for a code change.

Under valgrind the RSA operations are a far larger share of the count (~29 M of ~37 M instructions
for one RSA-3072 REST issuance) than of the time on the real CPU, so the count is split: what runs in
`cryptography`'s native library (its OpenSSL and its Rust X.509 code) and the rest (Python, SQLite),
which is what a change to campusca's own code moves. Compare versions, not against other measures.

    .venv/bin/python bench/instructions.py                          # ~3 minutes
    .venv/bin/python bench/instructions.py --compare ../base/src    # this tree against another
    .venv/bin/python bench/instructions.py --scep --compare ../base/src
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _common import REPO, make_csr, temporary_ca

BENCH = Path(__file__).parent
WARMUP = 3  # requests each loop makes before the counted ones


@dataclass(frozen=True)
class Workload:
    """What one loop runs: its script, its arguments after HOME, and how to check a run's home."""

    name: str
    loop: Path
    arguments: tuple[str, ...]
    check: Callable[[Path, int], None] = lambda _home, _count: None


def instructions(source: Path, home: Path, work: Workload, count: int, scratch: Path) -> Counts:
    """Instructions callgrind counts for `count` requests (plus warm-up and start-up) with `source` first."""
    run_home = scratch / f"home-{count}"
    shutil.rmtree(run_home, ignore_errors=True)
    shutil.copytree(home, run_home)
    out = scratch / f"callgrind-{count}.out"
    env = {**os.environ, "PYTHONPATH": str(source), "CAMPUSCA_HOME": str(run_home)}
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(work.loop)]
    subprocess.run(
        [*command, str(run_home), *work.arguments, str(count)], check=True, env=env, capture_output=True
    )
    work.check(run_home, count)
    return split_by_library(out)


def split_by_library(out: Path) -> Counts:
    """All instructions, and those in `cryptography`'s native library (its OpenSSL and Rust X.509).

    Read from callgrind's own file: each cost line belongs to the object named by the last `ob=`,
    except the line after `calls=`, which is the inclusive cost of a call (counted where it is spent).
    """
    names: dict[str, str] = {}
    per_object: dict[str, int] = {}
    current, after_call, stated = "", False, None
    with out.open() as lines:
        for line in lines:
            if line.startswith("totals:"):
                stated = int(line.split()[1])
            elif line.startswith(("ob=", "cob=")):  # both name objects, in one table of compressed names
                reference, _, name = line.partition("=")[2].strip().partition(" ")
                if name:
                    names[reference] = name
                if line.startswith("ob="):
                    current = names.get(reference, reference)
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                    continue
                cost = line.split()
                if len(cost) > 1:
                    per_object[current] = per_object.get(current, 0) + int(cost[-1])
    total = sum(per_object.values())
    if stated != total:
        raise SystemExit(f"{out}: the cost lines do not add up to callgrind's totals")
    native = sum(cost for name, cost in per_object.items() if Path(name).name.startswith("_rust"))
    return Counts(total, native)


@dataclass(frozen=True)
class Counts:
    total: float
    native_crypto: float

    @property
    def rest(self) -> float:
        """Python, SQLite and everything else campusca's own code decides."""
        return self.total - self.native_crypto

    def minus(self, other: Counts, per: int) -> Counts:
        return Counts((self.total - other.total) / per, (self.native_crypto - other.native_crypto) / per)


def per_request(source: Path, home: Path, work: Workload, count: int) -> Counts:
    with tempfile.TemporaryDirectory(prefix="campusca-callgrind-") as scratch:
        print(f"… counting {source} (twice under valgrind, about a minute each)", file=sys.stderr)
        base = instructions(source, home, work, 0, Path(scratch))
        loaded = instructions(source, home, work, count, Path(scratch))
    return loaded.minus(base, count)


def show(work: Workload, where: str, counts: Counts) -> None:
    print(
        f"instructions per {work.name}, {where}: {counts.total / 1e6:8.2f} M "
        f"(cryptography's native library {counts.native_crypto / 1e6:.2f} M, the rest {counts.rest / 1e6:.2f} M)"
    )


@contextmanager
def rest_issuance(requests: int) -> Iterator[tuple[Path, Workload]]:
    with temporary_ca("rsa-3072") as ca:
        token = (
            ca.cli("token", "create", "--role", "ra-officer", "--name", "bench")
            .stdout.strip()
            .splitlines()[-1]
        )
        _, csr_pem = make_csr(cn="bench-device")
        csr = ca.home.parent / "device.csr"
        csr.write_bytes(csr_pem)
        yield ca.home, Workload("REST issuance", BENCH / "_asgi_issuance_loop.py", (token, str(csr)))


@contextmanager
def scep_enrollment(requests: int) -> Iterator[tuple[Path, Workload]]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from scep import KEY_POOL, campusca_requests

    with temporary_ca("rsa-2048") as ca:
        keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(KEY_POOL)]
        bodies = campusca_requests(ca.home, WARMUP + requests, keys, "callgrind")
        requests_file = ca.home.parent / "pkcsreqs.bin"
        requests_file.write_bytes(b"".join(len(body).to_bytes(4, "big") + body for body in bodies))

        def check(home: Path, count: int) -> None:
            """Every request, warm-up included, issued a certificate: a refusal would be cheaper."""
            with sqlite3.connect(home / "campusca.db") as db:
                (issued,) = db.execute(
                    "SELECT count(*) FROM scep_enrollments WHERE status = 'issued'"
                ).fetchone()
            if issued != WARMUP + count:
                raise SystemExit(f"{issued} of {WARMUP + count} SCEP requests issued a certificate")

        yield ca.home, Workload("SCEP enrollment", BENCH / "_asgi_scep_loop.py", (str(requests_file),), check)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40, help="requests counted (default 40)")
    parser.add_argument("--compare", type=Path, help="another source tree (its src directory) to count too")
    parser.add_argument(
        "--scep", action="store_true", help="count SCEP enrollments instead of REST issuances"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    workload = scep_enrollment if args.scep else rest_issuance
    with workload(args.requests) as (home, work):
        ours = per_request(REPO / "src", home, work, args.requests)
        show(work, f"this tree ({REPO / 'src'})", ours)
        if args.compare is not None:
            theirs = per_request(args.compare.resolve(), home, work, args.requests)
            show(work, str(args.compare), theirs)
            print(
                f"ratio this tree / other: {ours.total / theirs.total:.3f} (the rest: {ours.rest / theirs.rest:.3f})"
            )


if __name__ == "__main__":
    main()
