"""PostgreSQL DDL that does not hold a long lock on a live table (online mode).

Each operation's statements are rewritten so that the slow part (building an index,
scanning rows to validate a constraint) runs under a lock that lets writes through:

* indexes are built ``CONCURRENTLY`` (outside a transaction; a failed build leaves an
  invalid index, so the statement carries a cleanup that drops it before a retry);
* foreign keys and checks are added ``NOT VALID`` (a moment's lock), then
  ``VALIDATE CONSTRAINT`` scans the rows under a lock that does not block writes;
* a unique constraint is attached to a unique index built concurrently
  (``ADD CONSTRAINT ... UNIQUE USING INDEX``);
* ``SET NOT NULL`` comes after a validated ``CHECK (column IS NOT NULL)``, which lets
  PostgreSQL skip its scan under the exclusive lock; the check is dropped after.

The brief locks left are bounded by ``lock_timeout`` and retried by the executor. A type
change that rewrites the table has no such form: ``lint-migrations`` names it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from oxyde.migrations.alter import AlterDdl
from oxyde.migrations.operations import (
    AddCheck,
    AddForeignKey,
    AddUnique,
    AlterColumn,
    CreateIndex,
    DropIndex,
    Operation,
    Step,
)
from oxyde.migrations.state import SchemaState, TableState
from oxyde.sql.ddl import short_name

__all__ = ["OnlineSettings", "long_lock_tables", "online_steps"]


@dataclass(frozen=True)
class OnlineSettings:
    """How online mode waits: each statement runs under ``SET lock_timeout`` (seconds);
    one that times out waiting for its lock is retried up to ``retries`` times, with a
    growing pause, so that writes queued behind it go through in between.
    ``statement_timeout`` (seconds, None: no limit) bounds each statement's run."""

    lock_timeout: float = 2.0
    retries: int = 10
    statement_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.lock_timeout <= 0:
            raise ValueError(f"the online lock timeout must be positive, got {self.lock_timeout}")
        if self.retries < 0:
            raise ValueError(f"online retries must be 0 or more, got {self.retries}")
        if self.statement_timeout is not None and self.statement_timeout <= 0:
            raise ValueError(
                f"the statement timeout must be positive, got {self.statement_timeout}"
            )


_CREATE_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?")


def _index_ref(ddl: AlterDdl, table: TableState, name: str) -> str:
    return f"{ddl.q(table.schema)}.{ddl.q(name)}" if table.schema else ddl.q(name)


def _concurrent_index(ddl: AlterDdl, table: TableState, sql: str, name: str) -> Step:
    concurrent = _CREATE_INDEX.sub(
        lambda m: f"CREATE {m.group(1) or ''}INDEX CONCURRENTLY {m.group(2) or ''}", sql
    )
    return Step(
        concurrent,
        cleanup=f"DROP INDEX CONCURRENTLY IF EXISTS {_index_ref(ddl, table, name)}",
    )


def _unique_by_index(
    ddl: AlterDdl, table: TableState, name: str, columns: tuple[str, ...]
) -> list[Step]:
    listed = ", ".join(ddl.q(c) for c in columns)
    table_sql = ddl.table_sql(table)
    create = f"CREATE UNIQUE INDEX {ddl.q(name)} ON {table_sql} ({listed})"
    return [
        _concurrent_index(ddl, table, create, name),
        Step(
            f"ALTER TABLE {table_sql} ADD CONSTRAINT {ddl.q(name)} UNIQUE USING INDEX {ddl.q(name)}"
        ),
    ]


def _not_valid(ddl: AlterDdl, table: TableState, sql: str, name: str) -> list[Step]:
    return [
        Step(f"{sql} NOT VALID"),
        Step(f"ALTER TABLE {ddl.table_sql(table)} VALIDATE CONSTRAINT {ddl.q(name)}"),
    ]


def long_lock_tables(operations: Sequence[Operation]) -> list[str]:
    """The existing tables that ``operations`` would lock while they scan or build on
    PostgreSQL outside online mode (what makes a large table worth ``online = True``)."""
    tables: list[str] = []
    for op in operations:
        locks = isinstance(op, CreateIndex | AddForeignKey | AddCheck | AddUnique) or (
            isinstance(op, AlterColumn)
            and (op.changes.get("nullable") is False or op.changes.get("unique") is True)
        )
        table = getattr(op, "table", None)
        if locks and isinstance(table, str) and table not in tables:
            tables.append(table)
    return tables


def online_steps(
    operation: Operation,
    before: SchemaState,
    after: SchemaState,
    ddl: AlterDdl,
    steps: list[Step],
) -> list[Step]:
    """``steps`` (what ``operation`` renders) rewritten to take no long lock."""
    if isinstance(operation, CreateIndex):
        table = after.table(operation.table)
        return [_concurrent_index(ddl, table, s.sql, operation.index.name) for s in steps]
    if isinstance(operation, DropIndex):
        return [
            Step(s.sql.replace("DROP INDEX ", "DROP INDEX CONCURRENTLY IF EXISTS ", 1))
            for s in steps
        ]
    if isinstance(operation, AddForeignKey):
        table = after.table(operation.table)
        return [
            step
            for s in steps
            for step in _not_valid(ddl, table, s.sql, operation.foreign_key.name)
        ]
    if isinstance(operation, AddCheck):
        table = after.table(operation.table)
        return [step for s in steps for step in _not_valid(ddl, table, s.sql, operation.check.name)]
    if isinstance(operation, AddUnique):
        table = after.table(operation.table)
        return _unique_by_index(ddl, table, operation.unique.name, operation.unique.columns)
    if isinstance(operation, AlterColumn):
        return _alter_column(operation, after, ddl, steps)
    return steps


def _alter_column(
    operation: AlterColumn, after: SchemaState, ddl: AlterDdl, steps: list[Step]
) -> list[Step]:
    table = after.table(operation.table)
    table_sql = ddl.table_sql(table)
    column = ddl.q(operation.column)
    set_not_null = f"ALTER TABLE {table_sql} ALTER COLUMN {column} SET NOT NULL"
    unique_name = short_name(f"{table.name}_{operation.column}_key")
    add_unique = f"ALTER TABLE {table_sql} ADD CONSTRAINT {ddl.q(unique_name)} UNIQUE ("
    out: list[Step] = []
    for step in steps:
        if step.sql == set_not_null:
            check = ddl.q(short_name(f"{table.name}_{operation.column}_not_null"))
            out.extend(
                [
                    Step(
                        f"ALTER TABLE {table_sql} ADD CONSTRAINT {check} "
                        f"CHECK ({column} IS NOT NULL) NOT VALID"
                    ),
                    Step(f"ALTER TABLE {table_sql} VALIDATE CONSTRAINT {check}"),
                    replace(step),
                    Step(f"ALTER TABLE {table_sql} DROP CONSTRAINT {check}"),
                ]
            )
        elif step.sql.startswith(add_unique):
            out.extend(_unique_by_index(ddl, table, unique_name, (operation.column,)))
        else:
            out.append(step)
    return out
