"""The ``oxyde_migrations`` table: which migrations a database has applied.

One row per applied migration. ``partial`` is set only where a database cannot undo a
failed migration (MySQL commits each DDL statement): it says how many of the
migration's statements ran (``upgrade 2/5``), so the recorded state stays true and
the next run refuses to guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oxyde.backends.base import Executor
from oxyde.migrations.alter import alter_ddl
from oxyde.migrations.errors import MigrationError
from oxyde.migrations.state import ColumnState, SchemaState, TableState
from oxyde.sql.dialects.base import Dialect

__all__ = ["TABLE", "AppliedMigration", "MigrationRecorder", "upgrade_table"]

TABLE = "oxyde_migrations"


def _table_state() -> SchemaState:
    table = TableState(name=TABLE)
    for column in (
        ColumnState("id", "int", primary_key=True, auto_increment=True),
        ColumnState("name", "str", max_length=255, unique=True),
        ColumnState("applied_at", "datetime"),
        ColumnState("partial", "str", max_length=64, nullable=True),
    ):
        table.columns[column.name] = column
    return SchemaState(tables={TABLE: table})


@dataclass(frozen=True)
class AppliedMigration:
    name: str
    applied_at: Any
    #: None when complete, else what ran of it ("upgrade 2/5", "downgrade 1/3")
    partial: str | None = None


def placeholders(dialect: Dialect, count: int) -> list[str]:
    """Bind markers in ``dialect``'s placeholder style."""
    return dialect.markers(count)


class MigrationRecorder:
    """Reads and writes the ``oxyde_migrations`` table through one executor."""

    def __init__(self, executor: Executor) -> None:
        self.ex = executor
        self.dialect = executor.dialect
        self.table = self.dialect.quote_ident(TABLE)

    async def ensure_table(self) -> None:
        ddl = alter_ddl(self.dialect)
        for sql in ddl.create_table(_table_state(), TABLE, if_not_exists=True):
            if sql.startswith("CREATE TABLE"):
                await self.ex.execute(self.dialect.driver_text(sql), ())
        await upgrade_table(self.ex)

    async def applied(self) -> list[AppliedMigration]:
        q = self.dialect.quote_ident
        rows = await self.ex.fetch(
            f"SELECT {q('name')}, {q('applied_at')}, {q('partial')} FROM {self.table} "
            f"ORDER BY {q('id')}",
            (),
        )
        convert = self.dialect.converters.get("datetime")
        out = []
        for name, applied_at, partial in rows:
            if convert is not None and applied_at is not None:
                applied_at = convert(applied_at)
            out.append(AppliedMigration(str(name), applied_at, partial))
        return out

    async def is_applied(self, name: str) -> bool:
        q = self.dialect.quote_ident
        (marker,) = placeholders(self.dialect, 1)
        rows = await self.ex.fetch(
            f"SELECT 1 FROM {self.table} WHERE {q('name')} = {marker}", (name,)
        )
        return bool(rows)

    async def record(self, name: str, partial: str | None = None) -> None:
        await self.remove(name)
        q = self.dialect.quote_ident
        markers = ", ".join(placeholders(self.dialect, 3))
        now = datetime.now(UTC).replace(tzinfo=None)
        adapt = self.dialect.adapters.get("datetime")
        values: Sequence[Any] = (name, adapt(now) if adapt is not None else now, partial)
        await self.ex.execute(
            f"INSERT INTO {self.table} ({q('name')}, {q('applied_at')}, {q('partial')}) "
            f"VALUES ({markers})",
            values,
        )

    async def remove(self, name: str) -> None:
        q = self.dialect.quote_ident
        (marker,) = placeholders(self.dialect, 1)
        await self.ex.execute(f"DELETE FROM {self.table} WHERE {q('name')} = {marker}", (name,))


async def upgrade_table(ex: Executor) -> list[str]:
    """Add the columns this package needs to an ``oxyde_migrations`` table made by the
    public Oxyde (``id, name, applied_at``), in place; returns the names added.

    The table's rows stay as they are: the migrations it lists remain applied."""
    dialect = ex.dialect
    table = _table_state().tables[TABLE]
    names, _ = await ex.fetch_described(
        f"SELECT * FROM {dialect.quote_ident(TABLE)} WHERE 1 = 0", (), write=False
    )
    present = {str(name).lower() for name in names}
    added = []
    ddl = alter_ddl(dialect)
    for column in table.columns.values():
        if column.name in present:
            continue
        if not column.nullable:
            raise MigrationError(
                f"the {TABLE} table has no {column.name!r} column and it cannot be added "
                f"in place (it has the columns {', '.join(sorted(present))})"
            )
        before = _table_state()
        del before.tables[TABLE].columns[column.name]
        for sql in ddl.add_column(before, _table_state(), TABLE, column.name):
            await ex.execute(dialect.driver_text(sql), ())
        added.append(column.name)
    return added
