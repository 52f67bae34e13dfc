"""Pre-flight checks: the rows a migration's DDL would refuse or damage, counted before
any of its statements runs.

Each operation that adds a rule to existing rows (a shorter column, ``NOT NULL``, a
unique key, a foreign key, a check, a narrower type) gets a check: a ``COUNT`` of the
rows that break the rule and a query that lists them. ``migrate`` runs the checks of a
migration first and refuses it when one counts rows, so a database that cannot roll DDL
back (MySQL) is not left part-way, and a long rewrite on PostgreSQL is not wasted.

A check reads the database as it is before the migration. An operation whose table or
column an earlier operation of the same migration changed (or that follows raw SQL,
which may change any row) cannot be checked that way; its DDL decides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from oxyde.migrations.alter import AlterDdl
from oxyde.migrations.operations import (
    AddCheck,
    AddColumn,
    AddForeignKey,
    AddUnique,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropTable,
    Operation,
    RenameColumn,
    RenameTable,
    RunSQL,
)
from oxyde.migrations.state import ColumnState, SchemaState, TableState

__all__ = ["PreflightCheck", "checks_for", "touched_by"]

#: (table key, column or None for the whole table)
Ref = tuple[str, str | None]
#: what an operation may change; None: anything (raw SQL)
Touched = frozenset[Ref] | None


@dataclass(frozen=True)
class PreflightCheck:
    """One rule the rows must satisfy before an operation runs."""

    #: the index of the operation in its migration
    operation: int
    #: the rows it finds, e.g. "rows of mg_item whose name is longer than 100 characters"
    problem: str
    #: one row, one value: how many rows break the rule
    count_sql: str
    #: lists the offending rows (or groups of duplicates)
    find_sql: str
    #: the tables and columns the check reads
    refs: frozenset[Ref]


def _length(ddl: AlterDdl, column: str) -> str:
    name = {"postgres": "char_length", "mysql": "CHAR_LENGTH"}.get(ddl.dialect.name, "length")
    return f"{name}({column})"


def _not_an_integer(ddl: AlterDdl, column: str) -> str:
    if ddl.dialect.name == "postgres":
        return f"{column} !~ '^\\s*[-+]?[0-9]+\\s*$'"
    if ddl.dialect.name == "mysql":
        return f"{column} NOT REGEXP '^[[:space:]]*[-+]?[0-9]+[[:space:]]*$'"
    # SQLite would keep such text as it is in an INTEGER column
    return f"CAST(CAST({column} AS INTEGER) AS TEXT) <> TRIM({column})"


def _integer_digits(col: ColumnState) -> int | None:
    if col.max_digits is None:
        return None
    return col.max_digits - (col.decimal_places or 0)


def _rows(
    ddl: AlterDdl, table: TableState, where: str, problem: str, index: int, refs: set[Ref]
) -> PreflightCheck:
    source = ddl.table_sql(table)
    return PreflightCheck(
        operation=index,
        problem=problem,
        count_sql=f"SELECT COUNT(*) FROM {source} WHERE {where}",
        find_sql=f"SELECT * FROM {source} WHERE {where}",
        refs=frozenset(refs),
    )


def _duplicates(
    ddl: AlterDdl,
    table: TableState,
    columns: Sequence[str],
    where: str | None,
    what: str,
    index: int,
) -> PreflightCheck:
    q = ddl.q
    listed = ", ".join(q(c) for c in columns)
    # rows with a NULL in the key never collide
    conditions = [f"{q(c)} IS NOT NULL" for c in columns]
    if where:
        conditions.append(f"({where})")
    find = (
        f"SELECT {listed}, COUNT(*) AS copies FROM {ddl.table_sql(table)} "
        f"WHERE {' AND '.join(conditions)} GROUP BY {listed} HAVING COUNT(*) > 1"
    )
    return PreflightCheck(
        operation=index,
        problem=f"rows of {table.key} that share their {', '.join(columns)} ({what})",
        count_sql=f"SELECT COALESCE(SUM(copies), 0) FROM ({find}) AS oxyde_preflight",
        find_sql=find,
        refs=frozenset((table.key, c) for c in columns),
    )


def _narrowing(
    ddl: AlterDdl, table: TableState, old: ColumnState, new: ColumnState, index: int
) -> list[PreflightCheck]:
    """Rows whose value the column's new type cannot hold as it is."""
    column = ddl.q(old.name)
    refs: set[Ref] = {(table.key, old.name)}
    label = f"{table.key}.{old.name}"
    checks: list[PreflightCheck] = []
    if old.db_type is not None or new.db_type is not None:
        return checks  # a verbatim type: nothing to compare
    if old.kind == new.kind == "str" and new.max_length is not None:
        if old.max_length is None or new.max_length < old.max_length:
            checks.append(
                _rows(
                    ddl,
                    table,
                    f"{_length(ddl, column)} > {new.max_length}",
                    f"rows of {table.key} whose {old.name} is longer than "
                    f"{new.max_length} characters",
                    index,
                    refs,
                )
            )
    elif old.kind == new.kind == "decimal":
        old_digits, new_digits = _integer_digits(old), _integer_digits(new)
        if new_digits is not None and (old_digits is None or new_digits < old_digits):
            bound = "1" + "0" * new_digits
            checks.append(
                _rows(
                    ddl,
                    table,
                    f"ABS({column}) >= {bound}",
                    f"rows of {table.key} whose {old.name} has more than {new_digits} "
                    "digits before the decimal point",
                    index,
                    refs,
                )
            )
        places = new.decimal_places
        if places is not None and (old.decimal_places is None or places < old.decimal_places):
            checks.append(
                _rows(
                    ddl,
                    table,
                    f"{column} <> ROUND({column}, {places})",
                    f"rows of {table.key} whose {old.name} has more than {places} decimal "
                    "places (they would be rounded)",
                    index,
                    refs,
                )
            )
    elif old.kind == "str" and new.kind == "int":
        checks.append(
            _rows(
                ddl,
                table,
                _not_an_integer(ddl, column),
                f"rows of {table.key} whose {old.name} is not an integer",
                index,
                refs,
            )
        )
    elif old.kind in ("float", "decimal") and new.kind == "int":
        checks.append(
            _rows(
                ddl,
                table,
                f"{column} <> ROUND({column})",
                f"rows of {table.key} whose {old.name} has a fraction (it would be rounded)",
                index,
                refs,
            )
        )
    elif old.kind == "int" and new.kind == "bool":
        checks.append(
            _rows(
                ddl,
                table,
                f"{column} NOT IN (0, 1)",
                f"rows of {label} other than 0 and 1",
                index,
                refs,
            )
        )
    return checks


def checks_for(
    operation: Operation, before: SchemaState, after: SchemaState, ddl: AlterDdl, index: int
) -> list[PreflightCheck]:
    """The checks of ``operation`` (the ``index``-th of its migration), which changes
    ``before`` into ``after``."""
    q = ddl.q
    if isinstance(operation, AlterColumn):
        table = before.table(operation.table)
        old = table.column(operation.column)
        new = after.table(operation.table).column(operation.column)
        refs: set[Ref] = {(table.key, old.name)}
        checks: list[PreflightCheck] = []
        if old.type_signature() != new.type_signature():
            checks.extend(_narrowing(ddl, table, old, new, index))
        if old.nullable and not new.nullable:
            checks.append(
                _rows(
                    ddl,
                    table,
                    f"{q(old.name)} IS NULL",
                    f"rows of {table.key} whose {old.name} is NULL (the column becomes NOT NULL)",
                    index,
                    refs,
                )
            )
        if new.unique and not old.unique:
            checks.append(_duplicates(ddl, table, (old.name,), None, "it becomes unique", index))
        return checks
    if isinstance(operation, AddColumn):
        col = operation.column
        table = before.table(operation.table)
        fills = col.default is not None or col.db_default is not None or col.auto_increment
        if not col.nullable and not fills:
            return [
                _rows(
                    ddl,
                    table,
                    "1 = 1",
                    f"rows of {table.key} (a NOT NULL column {col.name} without a default "
                    "cannot be added to a table that has rows)",
                    index,
                    {(table.key, None)},
                )
            ]
        return []
    if isinstance(operation, CreateIndex) and operation.index.unique:
        table = before.table(operation.table)
        ix = operation.index
        return [_duplicates(ddl, table, ix.columns, ix.where, f"unique index {ix.name}", index)]
    if isinstance(operation, AddUnique):
        table = before.table(operation.table)
        u = operation.unique
        return [_duplicates(ddl, table, u.columns, None, f"unique constraint {u.name}", index)]
    if isinstance(operation, AddForeignKey):
        table = before.table(operation.table)
        fk = operation.foreign_key
        target = before.table(fk.ref_table)
        child, parent = q("oxyde_child"), q("oxyde_parent")
        where = (
            f"{child}.{q(fk.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
            f"{ddl.table_sql(target)} {parent} WHERE {parent}.{q(fk.ref_column)} = "
            f"{child}.{q(fk.column)})"
        )
        source = f"{ddl.table_sql(table)} {child}"
        return [
            PreflightCheck(
                operation=index,
                problem=f"rows of {table.key} whose {fk.column} has no match in "
                f"{target.key}.{fk.ref_column} (foreign key {fk.name})",
                count_sql=f"SELECT COUNT(*) FROM {source} WHERE {where}",
                find_sql=f"SELECT {child}.* FROM {source} WHERE {where}",
                refs=frozenset({(table.key, fk.column), (target.key, fk.ref_column)}),
            )
        ]
    if isinstance(operation, AddCheck):
        table = before.table(operation.table)
        check = operation.check
        # the columns the expression names, as words (else: the whole table)
        named: set[Ref] = {
            (table.key, c)
            for c in table.columns
            if re.search(rf"(?<![\w.]){re.escape(c)}(?!\w)", check.expression)
        }
        # a row whose expression is NULL passes a check, as in the database
        return [
            _rows(
                ddl,
                table,
                f"NOT ({check.expression})",
                f"rows of {table.key} failing check {check.name} ({check.expression})",
                index,
                named or {(table.key, None)},
            )
        ]
    return []


def touched_by(operation: Operation) -> Touched:
    """What ``operation`` changes that a later check of its migration may read."""
    if isinstance(operation, RunSQL):
        return None
    if isinstance(operation, CreateTable):
        return frozenset({(operation.table.key, None)})
    if isinstance(operation, DropTable):
        return frozenset({(operation.table, None)})
    if isinstance(operation, RenameTable):
        return frozenset({(operation.old, None), (operation.new, None)})
    if isinstance(operation, AddColumn):
        return frozenset({(operation.table, operation.column.name)})
    if isinstance(operation, AlterColumn | DropColumn):
        return frozenset({(operation.table, operation.column)})
    if isinstance(operation, RenameColumn):
        return frozenset({(operation.table, operation.old), (operation.table, operation.new)})
    return frozenset()


def blocked(check: PreflightCheck, touched: Sequence[Touched]) -> bool:
    """Whether an operation before the check's (``touched``) changed what it reads."""
    for changes in touched:
        if changes is None:
            return True
        for table, column in changes:
            for ref_table, ref_column in check.refs:
                if table == ref_table and (column is None or ref_column in (None, column)):
                    return True
    return False
