"""A throw-away PostgreSQL cluster on 127.0.0.1 for tests (Debian's postgresql binaries)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from campusca.config import load_settings
from campusca.keys import KeyType
from campusca.services.authority import Authority, open_authority
from campusca.services.demo import add_demo_data
from campusca.services.setup import initialise
from tests.support.ca import free_port
from tests.support.peers import require_peer


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(*args: str) -> list[str]:
    # PostgreSQL refuses to run as root; CI and the sessions here are root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a private cluster and yield a SQLAlchemy URL to an empty database in it."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries are not installed")
    root = Path(tempfile.mkdtemp(prefix="campusca-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    try:
        subprocess.run(
            _as_postgres(
                str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"
            ),
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "campusca"
            ),
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/campusca"
    finally:
        subprocess.run(
            _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def two_nodes_on_postgres(home: Path, **settings: object) -> Iterator[tuple[Authority, Authority]]:
    """A demo CA on a private PostgreSQL, seen by two authorities: two nodes sharing one database.

    Skips when PostgreSQL is missing on a laptop, fails under CI. `settings` override both nodes'.
    """
    require_peer("runuser")
    if postgres_bin() is None:
        require_peer("initdb")
    with postgres_cluster() as url:
        first, _ = initialise(
            load_settings(home, database_url=url, **settings),
            org_name="Example University",
            key_type=KeyType.EC_P256,
        )
        add_demo_data(first)
        second = open_authority(load_settings(home, database_url=url, **settings))
        try:
            yield first, second
        finally:
            first.db.dispose()
            second.db.dispose()
