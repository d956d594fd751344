"""Core statements run straight on the DBAPI cursor, for the few statements every request runs.

`Connection.execute` costs 50-80 µs of Python per statement (its execution context, parameter and
result set-up), where SQLite answers a lookup by key in a few: a token check and a holder read took
161 µs through it and 9 µs on the cursor. A `DirectStatement` keeps what SQLAlchemy gives that
matters: the statement is written in Core (the schema is defined once), compiled once per dialect,
and its values go through the same bind and result processors, so a value is stored and read exactly
as through `Connection.execute`. It runs in the caller's `Connection` and transaction (beginning it
if needed, as `execute` would), and a DBAPI error comes back as SQLAlchemy's own exception, so busy
and integrity handling see no difference. What it skips: statement events and the compiled cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

_Processor = Callable[[Any], Any] | None


class _Compiled:
    """A statement compiled for one dialect: its SQL, how to lay out its values, how to read its rows."""

    __slots__ = ("sql", "_names", "_positional", "_defaults", "_bind_processors", "_result_processors")

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: tuple[str, ...]) -> None:
        # An INSERT or UPDATE without .values() names the columns it is given, as Connection.execute does.
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys))
        self.sql = compiled.string
        self._positional = compiled.positional
        self._names: tuple[str, ...] = (
            tuple(compiled.positiontup or ()) if self._positional else tuple(compiled.binds)
        )
        # Values the statement carries itself (a literal in a WHERE clause becomes a bound parameter).
        self._defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self._bind_processors: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)  # noqa: SLF001
        processors = tuple(
            entry.type._cached_result_processor(dialect, None)  # noqa: SLF001
            for entry in compiled._result_columns  # noqa: SLF001
        )
        # None when no column needs one: rows are then passed through as they come.
        self._result_processors: tuple[_Processor, ...] | None = processors if any(processors) else None

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        laid_out = {}
        for name in self._names:
            value = params[name] if name in params else self._defaults[name]
            processor = self._bind_processors.get(name)
            laid_out[name] = processor(value) if processor is not None else value
        return tuple(laid_out[name] for name in self._names) if self._positional else laid_out

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        if self._result_processors is None:
            return tuple(raw)
        return tuple(
            processor(value) if processor is not None else value
            for processor, value in zip(self._result_processors, raw, strict=True)
        )


class DirectStatement:
    """A Core statement (built once, at import) that `rows()` runs on the connection's DBAPI cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled_for: dict[tuple[str, tuple[str, ...]], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with `params` in `connection`'s transaction; the rows it returns, if any."""
        compiled = self._compiled(connection.dialect, tuple(params))
        values = compiled.values(params)
        if not connection.in_transaction():
            connection.begin()  # as Connection.execute would (autobegin): our BEGIN hooks run
        dbapi = connection.dialect.loaded_dbapi
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, values)
            fetched = cursor.fetchall() if cursor.description is not None else []
        except dbapi.Error as error:
            raise DBAPIError.instance(compiled.sql, values, error, dbapi.Error) from error
        finally:
            cursor.close()
        return [compiled.row(raw) for raw in fetched]

    def one_or_none(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.rows(connection, params)
        if len(rows) > 1:
            raise ValueError("the statement returned more than one row")
        return rows[0] if rows else None

    def _compiled(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        compiled = self._compiled_for.get((dialect.name, keys))
        if compiled is None:
            with self._lock:
                compiled = self._compiled_for.setdefault(
                    (dialect.name, keys), _Compiled(self._statement, dialect, keys)
                )
        return compiled


class DirectInsert:
    """A multi-row INSERT … RETURNING on the DBAPI cursor: one statement for however many rows.

    What SQLAlchemy's "insertmanyvalues" does for `Connection.execute(insert(t).returning(…), rows)`,
    compiled once per column set and row count (a group commit writes at most a few dozen). Rows
    come back in no particular order on SQLite: match them by a returned column.
    """

    def __init__(self, table: Table, *returning: ColumnElement[Any]) -> None:
        self._table = table
        self._returning = returning
        self._statements: dict[tuple[tuple[str, ...], int], DirectStatement] = {}
        self._lock = threading.Lock()

    def rows(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        if not rows:
            return []
        keys = tuple(rows[0])
        statement = self._statements.get((keys, len(rows)))
        if statement is None:
            with self._lock:
                statement = self._statements.setdefault((keys, len(rows)), self._statement(keys, len(rows)))
        return statement.rows(
            connection, {f"{key}__{i}": row[key] for i, row in enumerate(rows) for key in keys}
        )

    def _statement(self, keys: tuple[str, ...], count: int) -> DirectStatement:
        columns = self._table.c
        values = [
            {key: bindparam(f"{key}__{i}", type_=columns[key].type) for key in keys} for i in range(count)
        ]
        return DirectStatement(insert(self._table).values(values).returning(*self._returning))
