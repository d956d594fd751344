"""Database.upgrade: migrates a fresh database, and on one already at the heads does nothing without Alembic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from campusca.db import Database
from campusca.db.engine import MIGRATIONS_DIR, migration_heads


def test_the_heads_read_from_the_scripts_are_alembics_heads() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert migration_heads() == set(ScriptDirectory.from_config(config).get_heads())


def test_upgrade_migrates_a_fresh_database_to_the_heads(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert database.applied_revisions() == set()

    database.upgrade()

    assert database.applied_revisions() == migration_heads()


def test_upgrading_a_database_at_the_heads_never_imports_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    Database(url).upgrade()
    script = (
        "import sys; from campusca.db import Database; "
        f"Database({url!r}).upgrade(); print('alembic' in sys.modules)"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=dict(os.environ)
    )

    assert result.stdout.strip() == "False"
