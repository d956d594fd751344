"""The transaction rule (docs/architecture.md), enforced on the adapters' source.

`lint-imports` keeps `campusca.db` and `sqlalchemy` out of `web/` and `cli/`; this test closes the other
door: no adapter reaches the database through `authority.db`, so every write it causes happens inside a
service call that has committed before the adapter answers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import campusca

ADAPTERS = [Path(campusca.__file__).parent / name for name in ("web", "cli")]
SOURCES = sorted(p for root in ADAPTERS for p in root.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(Path(campusca.__file__).parent)))
def test_adapter_never_opens_a_database_transaction(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    uses = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "db"]
    assert not uses, f"{path.name} lines {uses} use `.db`: call a service function that owns its transaction"


def test_the_rule_sees_a_violation() -> None:
    offending = ast.parse(
        "def handler(authority):\n    with authority.db.write() as session:\n        pass\n"
    )
    assert any(isinstance(n, ast.Attribute) and n.attr == "db" for n in ast.walk(offending))
