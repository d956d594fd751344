"""What every CLI command shares: the data directory, the authority, JSON output, one-line errors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from campusca.config import Settings, load_settings
from campusca.services.authority import Authority, open_authority

# rich is imported where a command prints with it, not at import: `campusca serve` runs the web app in
# this process (and its workers import this module again), where it would be 2 MB for nothing.
CLI_ACTOR = "cli"


@dataclass
class CliState:
    home: Path | None = None
    _authority: Authority | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        return load_settings(self.home)

    def authority(self) -> Authority:
        if self._authority is None:
            settings = self.settings()
            if not (settings.home / "campusca.db").exists() and settings.database_url is None:
                fail(
                    f"no campusca data in {settings.home.resolve()}; run 'campusca init' first (or set --home)"
                )
            self._authority = open_authority(settings)
        return self._authority


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def fail(message: str, code: int = 1) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    Console().print(t)
