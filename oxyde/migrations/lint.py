"""``lint-migrations``: the operations of migration files that lock or rewrite a table
on a given database, each with what that database does and the safe way instead.

The rules follow what is known to hurt a live database (the squawk rule set for
PostgreSQL is the reference, and its rule names are kept where they exist). Tables
created by the same migration are new and empty, so their operations are not flagged.
PostgreSQL online mode (``--online`` or ``online = True``) is the safe form of the index
and constraint rules, so those are not flagged for a migration that runs online.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from oxyde.migrations.alter import alter_ddl
from oxyde.migrations.context import MigrationContext
from oxyde.migrations.loader import Migration
from oxyde.migrations.operations import (
    AddCheck,
    AddColumn,
    AddForeignKey,
    AddUnique,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropIndex,
    Operation,
    RenameColumn,
    RenameTable,
)
from oxyde.migrations.state import ColumnState, SchemaState
from oxyde.sql.dialects import get_dialect

__all__ = ["RULES", "LintFinding", "lint_migrations"]

#: rule name -> what it is about
RULES = {
    "adding-field-with-volatile-default": "a new column whose default is computed per row",
    "adding-required-field": "a new NOT NULL column without a default",
    "changing-column-type": "a column type change that rewrites or copies the table",
    "setting-not-null": "NOT NULL on an existing column",
    "require-concurrent-index-creation": "an index built under a lock that blocks writes",
    "require-concurrent-index-deletion": "an index dropped under an exclusive lock",
    "constraint-missing-not-valid": "a foreign key or check validated under a lock",
    "disallowed-unique-constraint": "a unique constraint built under a lock",
    "table-rebuild": "SQLite copies the whole table",
    "renaming-column": "a column renamed under running code",
    "renaming-table": "a table renamed under running code",
}

_VOLATILE = re.compile(
    r"\b(random|gen_random_uuid|uuid_generate_v[14]|clock_timestamp|timeofday|nextval|"
    r"uuid|rand|sys_guid)\s*\(",
    re.IGNORECASE,
)

_ONLINE = "run it with `oxyde migrate --online` (or `online = True` in the file)"
_EXPAND = "add the new column, fill it in batches, switch the code to it, then drop the old one"
_WINDOW = (
    "run it when writes to the table may wait, or with an online schema change tool "
    "(gh-ost, pt-online-schema-change)"
)


@dataclass(frozen=True)
class LintFinding:
    migration: str
    operation: str
    rule: str
    #: what the database does
    problem: str
    #: the safe alternative
    instead: str

    def line(self, dialect: str) -> str:
        return (
            f"{self.migration}: {self.operation} [{self.rule}] {dialect}: {self.problem}. "
            f"Instead: {self.instead}."
        )


def _widens(old: ColumnState, new: ColumnState) -> bool:
    """A type change that only makes a string or decimal larger (no rewrite on
    PostgreSQL)."""
    if (old.kind, old.db_type, old.enum) != (new.kind, new.db_type, new.enum):
        return False
    if old.kind == "str":
        return new.max_length is None or (
            old.max_length is not None and new.max_length >= old.max_length
        )
    if old.kind == "decimal" and old.max_digits is not None and new.max_digits is not None:
        return new.decimal_places == old.decimal_places and new.max_digits >= old.max_digits
    return False


def _rules(
    op: Operation, before: SchemaState, after: SchemaState, dialect: str, online: bool
) -> list[tuple[str, str, str]]:
    """``(rule, problem, instead)`` for ``op`` on ``dialect``."""
    pg, my, lite = dialect == "postgres", dialect == "mysql", dialect == "sqlite"
    table = getattr(op, "table", "")
    found: list[tuple[str, str, str]] = []
    if isinstance(op, AddColumn):
        col = op.column
        if col.db_default is not None and _VOLATILE.search(col.db_default):
            what = {
                "postgres": f"a volatile default rewrites every row of {table} under an "
                "ACCESS EXCLUSIVE lock",
                "mysql": f"a non-constant default makes the ADD COLUMN copy {table}",
                "sqlite": f"ADD COLUMN cannot take it: {table} is rebuilt",
            }[dialect]
            found.append(
                (
                    "adding-field-with-volatile-default",
                    what,
                    "add the column nullable without a default, set the default after, "
                    "fill the old rows in batches",
                )
            )
        elif not col.nullable and col.default is None and col.db_default is None:
            found.append(
                (
                    "adding-required-field",
                    "it fails on a table that has rows"
                    if not my
                    else "the rows get an implicit zero value (0, '') silently",
                    "add it nullable or with a default, fill the rows, then make it NOT NULL",
                )
            )
        elif lite and (col.unique or col.db_default is not None):
            found.append(("table-rebuild", f"SQLite rebuilds {table} to add it", _WINDOW))
    elif isinstance(op, AlterColumn):
        old = before.table(op.table).column(op.column)
        new = after.table(op.table).column(op.column)
        if lite:
            found.append(
                (
                    "table-rebuild",
                    f"SQLite rebuilds {table}: every row is copied while writers wait",
                    "run it when writes may pause for the copy",
                )
            )
            return found
        if old.type_signature() != new.type_signature():
            if pg and not _widens(old, new):
                found.append(
                    (
                        "changing-column-type",
                        f"the table {table} and its indexes are rewritten under an ACCESS "
                        "EXCLUSIVE lock (reads and writes wait)",
                        _EXPAND,
                    )
                )
            elif my:
                found.append(
                    (
                        "changing-column-type",
                        f"MODIFY COLUMN copies {table} (writes wait) unless it only lengthens "
                        "a VARCHAR within its length byte",
                        _EXPAND,
                    )
                )
        # InnoDB makes a column NOT NULL in place, letting writes through
        if old.nullable and not new.nullable and pg and not online:
            found.append(
                (
                    "setting-not-null",
                    f"SET NOT NULL scans {table} under an ACCESS EXCLUSIVE lock",
                    _ONLINE + " (a validated CHECK first, then SET NOT NULL without a scan)",
                )
            )
        if new.unique and not old.unique and pg and not online:
            found.append(
                (
                    "disallowed-unique-constraint",
                    f"the unique index is built while writes to {table} wait",
                    _ONLINE + " (CREATE UNIQUE INDEX CONCURRENTLY, then USING INDEX)",
                )
            )
    elif isinstance(op, CreateIndex):
        if pg and not online:
            found.append(
                (
                    "require-concurrent-index-creation",
                    f"CREATE INDEX blocks writes to {table} while it builds",
                    _ONLINE + " (CREATE INDEX CONCURRENTLY)",
                )
            )
    elif isinstance(op, DropIndex):
        if pg and not online:
            found.append(
                (
                    "require-concurrent-index-deletion",
                    f"DROP INDEX waits for an ACCESS EXCLUSIVE lock on {table}, and queries "
                    "queue behind it",
                    _ONLINE + " (DROP INDEX CONCURRENTLY)",
                )
            )
    elif isinstance(op, AddForeignKey | AddCheck):
        what = "foreign key" if isinstance(op, AddForeignKey) else "check"
        if pg and not online:
            found.append(
                (
                    "constraint-missing-not-valid",
                    f"adding the {what} scans {table} while writes to it wait",
                    _ONLINE + " (NOT VALID, then VALIDATE CONSTRAINT)",
                )
            )
        elif my:
            found.append(
                (
                    "constraint-missing-not-valid",
                    f"adding the {what} copies {table} (ALGORITHM=COPY) while writes wait",
                    _WINDOW,
                )
            )
        elif lite:
            found.append(("table-rebuild", f"SQLite rebuilds {table} to add the {what}", _WINDOW))
    elif isinstance(op, AddUnique):
        if pg and not online:
            found.append(
                (
                    "disallowed-unique-constraint",
                    f"the unique index is built while writes to {table} wait",
                    _ONLINE + " (CREATE UNIQUE INDEX CONCURRENTLY, then USING INDEX)",
                )
            )
        elif lite:
            found.append(("table-rebuild", f"SQLite rebuilds {table}", _WINDOW))
    elif isinstance(op, RenameColumn):
        found.append(
            (
                "renaming-column",
                "code still running with the old name fails until it is deployed",
                _EXPAND,
            )
        )
    elif isinstance(op, RenameTable):
        found.append(
            (
                "renaming-table",
                "code still running with the old name fails until it is deployed",
                "create the new table, write to both, move the reads, then drop the old one",
            )
        )
    return found


def lint_migrations(
    migrations: Sequence[Migration],
    dialect: str,
    *,
    names: Sequence[str] | None = None,
    online: bool = False,
    exclude: Sequence[str] = (),
) -> list[LintFinding]:
    """The findings of the ``upgrade`` of ``migrations`` (those in ``names``, or all) on
    ``dialect``; ``online``: as run with ``--online``. ``exclude`` names rules to skip."""
    unknown = sorted(set(exclude) - set(RULES))
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}; rules: {', '.join(RULES)}")
    alter_ddl(get_dialect(dialect))  # a clear error for an unknown dialect
    wanted = set(names) if names is not None else None
    findings: list[LintFinding] = []
    state = SchemaState()
    for migration in migrations:
        ctx = MigrationContext(state.copy(), dialect=dialect)
        migration.run(ctx)
        if wanted is None or migration.name in wanted:
            replayed = MigrationContext(state.copy(), dialect=dialect)
            new: set[str] = set()
            for op in ctx.operations:
                before = replayed.state.copy()
                replayed.run(op)
                if isinstance(op, CreateTable):
                    new.add(op.table.key)
                    continue
                if getattr(op, "table", None) in new:
                    continue
                for rule, problem, instead in _rules(
                    op, before, replayed.state, dialect, online or migration.online
                ):
                    if rule not in exclude:
                        findings.append(
                            LintFinding(migration.name, op.describe(), rule, problem, instead)
                        )
        state = ctx.state
    return findings
