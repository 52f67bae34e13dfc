"""``MigrationContext``: the ``ctx`` a migration's ``upgrade`` / ``downgrade`` receives.

Every ``ctx`` call records one operation and applies it to the context's schema state,
so replaying the migration files rebuilds the schema they describe without a database.
When the context renders SQL (``sql=True``), each operation's statements for the
context's dialect are collected in ``steps``, which is what ``migrate`` runs and
``sqlmigrate`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from oxyde.migrations import legacy
from oxyde.migrations.alter import AlterDdl, alter_ddl
from oxyde.migrations.online import online_steps
from oxyde.migrations.operations import (
    AddCheck,
    AddColumn,
    AddEnumValue,
    AddForeignKey,
    AddUnique,
    AlterColumn,
    AlterEnum,
    CreateEnum,
    CreateIndex,
    CreateTable,
    DropCheck,
    DropColumn,
    DropEnum,
    DropForeignKey,
    DropIndex,
    DropTable,
    DropUnique,
    Operation,
    RenameColumn,
    RenameTable,
    RequireManual,
    RunSQL,
    Step,
)
from oxyde.migrations.preflight import PreflightCheck, Touched, blocked, checks_for, touched_by
from oxyde.migrations.state import (
    CheckState,
    ColumnState,
    ForeignKeyState,
    IndexState,
    SchemaState,
    TableState,
    UniqueState,
    qualified,
)
from oxyde.sql.dialects import get_dialect
from oxyde.sql.dialects.base import Dialect

__all__ = ["MigrationContext"]

FieldSpec = Mapping[str, Any] | ColumnState


def _column(spec: FieldSpec) -> ColumnState:
    if not isinstance(spec, ColumnState) and legacy.is_public_field(spec):
        spec = legacy.column_dict(spec)
    column = spec if isinstance(spec, ColumnState) else ColumnState.from_dict(spec)
    return column.normalized()


class MigrationContext:
    """Schema operations for migration files (see ``docs/migrations.md``)."""

    def __init__(
        self,
        state: SchemaState | None = None,
        *,
        dialect: Dialect | str = "sqlite",
        sql: bool = False,
        online: bool = False,
    ) -> None:
        self.state = state if state is not None else SchemaState()
        self._dialect = get_dialect(dialect) if isinstance(dialect, str) else dialect
        self._ddl: AlterDdl | None = alter_ddl(self._dialect) if sql else None
        #: render PostgreSQL statements that take no long lock (``oxyde.migrations.online``)
        self.online = online and self._dialect.name == "postgres"
        #: the operations recorded so far, in order
        self.operations: list[Operation] = []
        #: the SQL of those operations (only when rendering SQL)
        self.steps: list[Step] = []
        #: the pre-flight checks of those operations (only when rendering SQL)
        self.checks: list[PreflightCheck] = []
        #: what each operation changes, for the checks of the ones after it
        self.touched: list[Touched] = []
        # Enum values can only be added ahead of the migration's transaction to types
        # that exist before it starts.
        self._enums_before = set(self.state.enums)
        #: set while a file written by the public Oxyde runs: its ``alter_column``
        #: defaults are SQL text (see ``oxyde.migrations.legacy``)
        self.public_format = False

    @property
    def dialect(self) -> str:
        """The name of the database the migration runs on: "postgres", "sqlite", "mysql"."""
        return self._dialect.name

    def run(self, operation: Operation) -> None:
        """Record ``operation``: apply it to the state and render its SQL."""
        ddl = self._ddl
        before = self.state.copy() if ddl is not None else None
        operation.apply(self.state)
        index = len(self.operations)
        self.operations.append(operation)
        if ddl is not None and before is not None:
            steps = operation.sql(ddl, before, self.state)
            if getattr(operation, "name", None) not in self._enums_before:
                steps = [replace(s, early=False) if s.early else s for s in steps]
            if self.online:
                steps = online_steps(operation, before, self.state, ddl, steps)
            self.steps.extend(replace(s, operation=index) for s in steps)
            self.checks.extend(checks_for(operation, before, self.state, ddl, index))
            self.touched.append(touched_by(operation))

    def preflight(self, start: int = 0) -> list[PreflightCheck]:
        """The pre-flight checks of the operations from the ``start``-th on that can be
        checked before any of them runs (see ``oxyde.migrations.preflight``)."""
        return [
            check
            for check in self.checks
            if check.operation >= start
            and not blocked(check, self.touched[start : check.operation])
        ]

    # -- tables ----------------------------------------------------------------------

    def create_table(
        self,
        name: str,
        fields: Iterable[FieldSpec],
        indexes: Iterable[Mapping[str, Any]] | None = None,
        foreign_keys: Iterable[Mapping[str, Any]] | None = None,
        checks: Iterable[Mapping[str, Any]] | None = None,
        uniques: Iterable[Mapping[str, Any]] | None = None,
        *,
        schema: str | None = None,
        comment: str | None = None,
    ) -> None:
        table = TableState(name=name, schema=schema, comment=comment)
        for spec in fields:
            column = _column(spec)
            if column.name in table.columns:
                raise ValueError(f"create_table({name!r}) lists column {column.name!r} twice")
            table.columns[column.name] = column
        if not table.columns:
            raise ValueError(f"create_table({name!r}) needs at least one field")
        for data in indexes or ():
            index = IndexState.from_dict(legacy.index_dict(data))
            table.indexes[index.name] = index
        for data in foreign_keys or ():
            fk = ForeignKeyState.from_dict(data)
            table.foreign_keys[fk.name] = fk
        for data in checks or ():
            check = CheckState.from_dict(data)
            table.checks[check.name] = check
        for data in uniques or ():
            unique = UniqueState.from_dict(data)
            table.uniques[unique.name] = unique
        self.run(CreateTable(table))

    def drop_table(self, name: str) -> None:
        self.run(DropTable(name))

    def rename_table(self, old_name: str, new_name: str) -> None:
        self.run(RenameTable(old_name, new_name))

    # -- columns ---------------------------------------------------------------------

    def add_column(self, table: str, field: FieldSpec) -> None:
        self.run(AddColumn(table, _column(field)))

    def drop_column(self, table: str, field_name: str) -> None:
        """Drop a column, and the indexes, unique constraints and foreign keys of its
        own table that use it."""
        name = field_name
        state = self.state.table(table)
        for fk in list(state.foreign_keys.values()):
            if fk.column == name:
                self.run(DropForeignKey(table, fk.name))
        for index in list(state.indexes.values()):
            if name in index.columns:
                self.run(DropIndex(table, index.name))
        for unique in list(state.uniques.values()):
            if name in unique.columns:
                self.run(DropUnique(table, unique.name))
        self.run(DropColumn(table, name))

    def rename_column(self, table: str, old_name: str, new_name: str) -> None:
        self.run(RenameColumn(table, old_name, new_name))

    def alter_column(self, table: str, field_name: str, **changes: Any) -> None:
        """Change attributes of a column: ``kind``, ``nullable``, ``default``,
        ``db_default``, ``unique``, ``max_length``, ``max_digits``, ``decimal_places``,
        ``db_type``, ``enum``, ``item_kind``, ``timezone``, ``comment``."""
        column = field_name
        if not changes:
            raise ValueError(f"alter_column({table!r}, {column!r}) needs at least one change")
        if self.public_format or legacy.PUBLIC_CHANGE_KEYS.intersection(changes):
            # The public Oxyde's keys: a column_type spec, an SQL default.
            kind = self.state.table(table).column(column).kind
            changes = legacy.column_changes(kind, changes, f"alter_column({table!r}, {column!r})")
        one_by_one = self._ddl is not None and (not self._ddl.transactional or self.online)
        if one_by_one and len(changes) > 1:
            # Where each statement commits, one statement per operation: a run that
            # stops between them can then be continued or reversed operation by operation.
            keys = {k: v for k, v in changes.items() if k != "unique"}
            if "unique" in changes and keys:
                self.run(AlterColumn(table, column, keys))
                self.run(AlterColumn(table, column, {"unique": changes["unique"]}))
                return
        self.run(AlterColumn(table, column, dict(changes)))

    # -- indexes and constraints -----------------------------------------------------

    def create_index(self, table: str, index: Mapping[str, Any]) -> None:
        self.run(CreateIndex(table, IndexState.from_dict(legacy.index_dict(index))))

    def drop_index(self, table: str, index_name: str) -> None:
        self.run(DropIndex(table, index_name))

    def add_foreign_key(
        self,
        table: str,
        name: str,
        columns: str | Sequence[str],
        ref_table: str,
        ref_columns: str | Sequence[str],
        on_delete: str = "RESTRICT",
        on_update: str = "CASCADE",
    ) -> None:
        fk = ForeignKeyState.from_dict(
            {
                "name": name,
                "column": columns,
                "ref_table": ref_table,
                "ref_column": ref_columns,
                "on_delete": on_delete,
                "on_update": on_update,
            }
        )
        self.run(AddForeignKey(table, fk))

    def drop_foreign_key(self, table: str, name: str) -> None:
        self.run(DropForeignKey(table, name))

    def add_check(self, table: str, name: str, expression: str) -> None:
        self.run(AddCheck(table, CheckState.from_dict({"name": name, "expression": expression})))

    def drop_check(self, table: str, name: str) -> None:
        self.run(DropCheck(table, name))

    def add_unique(self, table: str, name: str, columns: Sequence[str]) -> None:
        self.run(AddUnique(table, UniqueState.from_dict({"name": name, "columns": columns})))

    def drop_unique(self, table: str, name: str) -> None:
        self.run(DropUnique(table, name))

    # -- enum types ------------------------------------------------------------------

    def create_enum_type(self, name: str, values: Sequence[str]) -> None:
        self.run(CreateEnum(name, tuple(values)))

    def drop_enum_type(self, name: str) -> None:
        self.run(DropEnum(name))

    def add_enum_value(
        self,
        name: str,
        value: str,
        fields: Sequence[Mapping[str, Any]] | None = None,
        *,
        before: str | None = None,
    ) -> None:
        """Add ``value`` to an enum type (``fields``, written by the public Oxyde, lists
        the columns using it; they are known from the schema here)."""
        self.run(AddEnumValue(name, value, before))

    def alter_enum_type(
        self,
        name: str,
        old_values: Sequence[str] | None = None,
        new_values: Sequence[str] | None = None,
    ) -> None:
        """Set the values of an enum type (to remove or reorder values).

        ``alter_enum_type(name, values)`` sets them; the public Oxyde's files write
        ``alter_enum_type(name, old_values=..., new_values=...)``."""
        values = new_values if new_values is not None else old_values
        if values is None:
            raise ValueError(f"alter_enum_type({name!r}) needs the new values")
        self.run(AlterEnum(name, tuple(values)))

    # -- anything else ---------------------------------------------------------------

    def execute(self, sql: str) -> None:
        """Run an SQL statement as written (it does not change the recorded schema)."""
        self.run(RunSQL(sql))

    def require_manual(self, message: str) -> None:
        """Mark a step the migration cannot do by itself; running it fails with
        ``message``, ``sqlmigrate`` shows it as a comment."""
        self.run(RequireManual(message))

    # -- introspection ---------------------------------------------------------------

    def has_raw_sql(self) -> bool:
        """Whether an ``execute()`` step was recorded (its effect is not in the state)."""
        return any(isinstance(op, RunSQL) for op in self.operations)

    def get_collected_operations(self) -> list[Operation]:
        """The operations recorded so far (``operations``)."""
        return list(self.operations)

    def has_table(self, name: str, schema: str | None = None) -> bool:
        return qualified(name, schema) in self.state.tables
