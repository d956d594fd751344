"""An auditor checks that nobody edited, removed or reordered the audit trail."""

from __future__ import annotations

import json
import sqlite3

from tests.support.ca import CaHome


def _sql(ca: CaHome, statement: str) -> None:
    with sqlite3.connect(ca.home / "campusca.db") as db:
        db.execute(statement)


def test_intact_trail_verifies_and_lists_secret_free(ca: CaHome) -> None:
    ca.cli("user", "set-password", "bob", "--password", "a-secret-password-123")
    token = ca.cli("token", "create", "--role", "auditor").stdout.strip().splitlines()[-1]
    verdict = ca.cli_json("audit", "verify")
    assert verdict["ok"] is True and verdict["records"] > 10  # type: ignore[index]
    records = ca.cli_json("audit", "list", "--limit", "1000")
    actions = {r["action"] for r in records}  # type: ignore[union-attr]
    assert {
        "ca.initialised",
        "certificate.issued",
        "crl.published",
        "person.added",
        "token.created",
        "person.password_set",
    } <= actions
    dumped = json.dumps(records)
    assert "a-secret-password-123" not in dumped and token not in dumped


def test_edited_record_is_named(ca: CaHome) -> None:
    _sql(ca, "update audit_records set actor = 'mallory' where seq = 3")
    result = ca.cli("audit", "verify", check=False)
    assert result.returncode == 1
    assert "record 3" in result.stderr


def test_deleted_record_is_named(ca: CaHome) -> None:
    _sql(ca, "delete from audit_records where seq = 5")
    result = ca.cli("audit", "verify", check=False)
    assert result.returncode == 1 and "record 5" in result.stderr


def test_deleted_last_record_is_noticed(ca: CaHome) -> None:
    _sql(ca, "delete from audit_records where seq = (select max(seq) from audit_records)")
    assert ca.cli("audit", "verify", check=False).returncode == 1


def test_reordered_records_are_noticed(ca: CaHome) -> None:
    # Swap the contents of two records while keeping their sequence numbers.
    with sqlite3.connect(ca.home / "campusca.db") as db:
        a = db.execute(
            "select at, actor, action, target, details, prev_hash, hash from audit_records where seq=2"
        ).fetchone()
        b = db.execute(
            "select at, actor, action, target, details, prev_hash, hash from audit_records where seq=4"
        ).fetchone()
        cols = "at=?, actor=?, action=?, target=?, details=?, prev_hash=?, hash=?"
        db.execute(f"update audit_records set {cols} where seq=2", b)
        db.execute(f"update audit_records set {cols} where seq=4", a)
    result = ca.cli("audit", "verify", check=False)
    assert result.returncode == 1 and "record 2" in result.stderr
