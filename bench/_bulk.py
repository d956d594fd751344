"""Fill a CA's SQLite database with many certificate rows fast (benchmarks of the read path only).

Rows are written with sqlite3 directly, in the format SQLAlchemy writes them, all sharing one real
certificate DER (the read path never parses it); serials are random 159-bit values as campusca makes them.
Also writes the same revoked entries as an `openssl ca` index.txt so OpenSSL can be measured on them.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

_REASONS = ("keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "unspecified")
_FORMAT = "%Y-%m-%d %H:%M:%S.000000"


def add_certificates(home: Path, *, count: int, revoked_every: int, seed: int = 5280) -> list[int]:
    """Add `count` certificates of the issuing CA, every `revoked_every`-th revoked; returns revoked serials."""
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    database = sqlite3.connect(home / "campusca.db")
    (ca_id,) = database.execute("SELECT id FROM certificate_authorities WHERE slug = 'issuing'").fetchone()
    (der,) = database.execute("SELECT der FROM certificates LIMIT 1").fetchone()
    now = datetime.now(UTC)
    not_before, not_after = (
        (now - timedelta(days=30)).strftime(_FORMAT),
        (now + timedelta(days=335)).strftime(_FORMAT),
    )
    revoked_serials: list[int] = []

    def rows(start: int, stop: int):  # type: ignore[no-untyped-def]
        for i in range(start, stop):
            serial = rng.getrandbits(159) | (1 << 150)
            revoked = i % revoked_every == 0 if revoked_every else False
            if revoked:
                revoked_serials.append(serial)
            yield (
                f"{serial:040x}",
                ca_id,
                "device",
                f"CN=bulk-{i}",
                not_before,
                not_after,
                der,
                hashlib.sha256(serial.to_bytes(20, "big")).hexdigest(),
                (now - timedelta(seconds=i)).strftime(_FORMAT) if revoked else None,
                _REASONS[i % len(_REASONS)] if revoked else None,
                not_before,
            )

    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=OFF")
    step = 50_000
    for start in range(0, count, step):
        with database:
            database.executemany(
                "INSERT INTO certificates (serial_hex, ca_id, profile, subject, not_before, not_after, der,"
                " fingerprint_sha256, revoked_at, revocation_reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows(start, min(count, start + step)),
            )
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return revoked_serials


def write_openssl_index(home: Path, directory: Path) -> int:
    """index.txt (`openssl ca` format) with every revoked certificate of the issuing CA; returns the count."""
    database = sqlite3.connect(home / "campusca.db")
    lines = 0
    with (directory / "index.txt").open("w") as out:
        query = (
            "SELECT serial_hex, revoked_at, revocation_reason FROM certificates c JOIN certificate_authorities a"
            " ON c.ca_id = a.id WHERE a.slug = 'issuing' AND revoked_at IS NOT NULL"
        )
        for serial_hex, revoked_at, reason in database.execute(query):
            when = (
                revoked_at[2:4] + revoked_at[5:7] + revoked_at[8:10] + revoked_at[11:13] + revoked_at[14:16]
            )
            when += revoked_at[17:19] + "Z"
            out.write(f"R\t491231235959Z\t{when},{reason}\t{serial_hex.upper()}\tunknown\t/CN=x\n")
            lines += 1
    database.close()
    (directory / "index.txt.attr").write_text("unique_subject = no\n")
    return lines
