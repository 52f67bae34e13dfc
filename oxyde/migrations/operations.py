"""Migration operations: each one changes a ``SchemaState``, renders its SQL for one
dialect, knows its inverse, and writes itself as a ``ctx`` call in a migration file."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from oxyde.migrations.alter import AlterDdl
from oxyde.migrations.state import (
    CheckState,
    ColumnState,
    ForeignKeyState,
    IndexState,
    SchemaState,
    TableState,
    UniqueState,
)

__all__ = [
    "AddCheck",
    "AddColumn",
    "AddEnumValue",
    "AddForeignKey",
    "AddUnique",
    "AlterColumn",
    "AlterEnum",
    "CreateEnum",
    "CreateIndex",
    "CreateTable",
    "DropCheck",
    "DropColumn",
    "DropEnum",
    "DropForeignKey",
    "DropIndex",
    "DropTable",
    "DropUnique",
    "Operation",
    "RenameColumn",
    "RenameTable",
    "RequireManual",
    "RunSQL",
    "Step",
]

#: ``ColumnState`` attributes ``alter_column`` may change (the name has rename_column).
ALTERABLE = tuple(f.name for f in fields(ColumnState) if f.name != "name")


@dataclass(frozen=True)
class Step:
    """One SQL statement of a migration.

    ``early`` statements run and commit before the migration's transaction (PostgreSQL
    enum values, which a transaction cannot use until they are committed); they are
    written to be harmless when repeated. ``manual`` marks a step that cannot run: the
    migration needs hand-written SQL. ``operation`` is the index of the operation that
    rendered it in its migration (-1 outside a migration context). ``cleanup`` runs
    before the statement is tried again (PostgreSQL online mode: a failed concurrent
    index build leaves an invalid index behind).
    """

    sql: str
    early: bool = False
    manual: str | None = None
    operation: int = -1
    cleanup: str | None = None


class Operation:
    """One schema change."""

    def apply(self, state: SchemaState) -> None:
        """Change ``state`` as the database will be changed (raises if it cannot be)."""
        raise NotImplementedError

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        raise NotImplementedError

    def reverse(self, before: SchemaState) -> list[Operation]:
        """The operations undoing this one, given the state it was applied to."""
        raise NotImplementedError

    def code(self) -> str:
        """This operation as a ``ctx`` call in a migration file."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def name_hint(self) -> str:
        """A few words for the migration's file name."""
        return "auto"


def _steps(statements: list[str]) -> list[Step]:
    return [Step(s) for s in statements]


#: Generated lines longer than this are broken up (the body is indented 4 or 12).
_WIDTH = 88


def _py(value: Any, indent: int) -> str:
    """``repr(value)``, a long dict written one item per line."""
    text = repr(value)
    if not isinstance(value, dict) or len(text) + indent <= _WIDTH:
        return text
    pad = " " * (indent + 4)
    items = "".join(f"{pad}{k!r}: {v!r},\n" for k, v in value.items())
    return "{\n" + items + " " * indent + "}"


def _call(method: str, *args: Any, **kwargs: Any) -> str:
    parts = [repr(a) for a in args]
    parts.extend(f"{k}={v!r}" for k, v in kwargs.items())
    line = f"ctx.{method}({', '.join(parts)})"
    if len(line) + 4 <= _WIDTH:
        return line
    parts = [_py(a, 8) for a in args]
    parts.extend(f"{k}={_py(v, 8)}" for k, v in kwargs.items())
    return f"ctx.{method}(\n" + "".join(f"        {p},\n" for p in parts) + "    )"


def _short_table(key: str) -> str:
    return key.rpartition(".")[2]


# -- tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTable(Operation):
    table: TableState

    def apply(self, state: SchemaState) -> None:
        key = self.table.key
        if key in state.tables:
            raise ValueError(f"table {key!r} already exists")
        table = self.table.copy()
        pks = [c.name for c in table.columns.values() if c.primary_key]
        if len(pks) > 1:
            raise ValueError(f"table {key!r}: more than one primary key column ({pks})")
        for col in table.columns.values():
            if col.enum is not None and col.enum not in state.enums:
                raise ValueError(
                    f"table {key!r}: column {col.name!r} uses enum type {col.enum!r}, which "
                    "does not exist; create it first"
                )
        for index in table.indexes.values():
            _check_columns(table, index.columns, f"index {index.name!r}")
        for unique in table.uniques.values():
            _check_columns(table, unique.columns, f"unique constraint {unique.name!r}")
        for fk in table.foreign_keys.values():
            _check_columns(table, (fk.column,), f"foreign key {fk.name!r}")
            if fk.ref_table != key:
                _check_reference(state, fk)
        state.tables[key] = table

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.create_table(after, self.table.key))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropTable(self.table.key)]

    def code(self) -> str:
        t = self.table
        lines = [f"ctx.create_table(\n        {t.name!r},\n        fields=["]
        lines.extend(f"            {_py(c.to_dict(), 12)}," for c in t.columns.values())
        lines.append("        ],")
        for label, items in (
            ("indexes", t.indexes),
            ("foreign_keys", t.foreign_keys),
            ("checks", t.checks),
            ("uniques", t.uniques),
        ):
            if items:
                lines.append(f"        {label}=[")
                lines.extend(f"            {_py(item.to_dict(), 12)}," for item in items.values())
                lines.append("        ],")
        if t.schema:
            lines.append(f"        schema={t.schema!r},")
        if t.comment:
            lines.append(f"        comment={t.comment!r},")
        lines.append("    )")
        return "\n".join(lines)

    def describe(self) -> str:
        return f"Create table {self.table.key}"

    def name_hint(self) -> str:
        return f"create_{self.table.name}"


@dataclass(frozen=True)
class DropTable(Operation):
    table: str

    def apply(self, state: SchemaState) -> None:
        state.table(self.table)
        others = [
            f"{t.key}.{fk.column}" for t, fk in state.referencing(self.table) if t.key != self.table
        ]
        if others:
            raise ValueError(
                f"cannot drop table {self.table!r}: foreign keys point at it from "
                f"{', '.join(others)}; drop those first"
            )
        del state.tables[self.table]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_table(before, self.table))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [CreateTable(before.table(self.table).copy())]

    def code(self) -> str:
        return _call("drop_table", self.table)

    def describe(self) -> str:
        return f"Drop table {self.table}"

    def name_hint(self) -> str:
        return f"drop_{_short_table(self.table)}"


@dataclass(frozen=True)
class RenameTable(Operation):
    old: str
    new: str

    def _new_key(self, state: SchemaState) -> str:
        table = state.table(self.old)
        name = _short_table(self.new)
        return f"{table.schema}.{name}" if table.schema else name

    def apply(self, state: SchemaState) -> None:
        new_key = self._new_key(state)
        if new_key in state.tables:
            raise ValueError(f"cannot rename {self.old!r}: table {new_key!r} exists")
        table = state.tables.pop(self.old)
        table.name = _short_table(self.new)
        state.tables[new_key] = table
        for other in state.tables.values():
            for name, fk in list(other.foreign_keys.items()):
                if fk.ref_table == self.old:
                    other.foreign_keys[name] = replace(fk, ref_table=new_key)

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.rename_table(before, after, self.old, self._new_key(before)))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [RenameTable(self._new_key(before), _short_table(self.old))]

    def code(self) -> str:
        return _call("rename_table", self.old, self.new)

    def describe(self) -> str:
        return f"Rename table {self.old} to {self.new}"

    def name_hint(self) -> str:
        return f"rename_{_short_table(self.old)}_to_{_short_table(self.new)}"


# -- columns -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AddColumn(Operation):
    table: str
    column: ColumnState

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.column.name in table.columns:
            raise ValueError(f"table {self.table!r} already has a column {self.column.name!r}")
        if self.column.primary_key:
            raise ValueError(f"{self.table}.{self.column.name}: cannot add a primary key column")
        if self.column.enum is not None and self.column.enum not in state.enums:
            raise ValueError(f"unknown enum type {self.column.enum!r}; create it first")
        table.columns[self.column.name] = replace(self.column)

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.add_column(before, after, self.table, self.column.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropColumn(self.table, self.column.name)]

    def code(self) -> str:
        return _call("add_column", self.table, self.column.to_dict())

    def describe(self) -> str:
        return f"Add column {self.column.name} to {self.table}"

    def name_hint(self) -> str:
        return f"add_{self.column.name}_to_{_short_table(self.table)}"


@dataclass(frozen=True)
class DropColumn(Operation):
    table: str
    column: str

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        col = table.column(self.column)
        if col.primary_key:
            raise ValueError(f"{self.table}.{self.column}: cannot drop the primary key column")
        users = _column_users(state, table, self.column)
        if users:
            raise ValueError(
                f"cannot drop {self.table}.{self.column}: {', '.join(users)} use it; "
                "drop those first"
            )
        del table.columns[self.column]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_column(before, after, self.table, self.column))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [AddColumn(self.table, replace(before.table(self.table).column(self.column)))]

    def code(self) -> str:
        return _call("drop_column", self.table, self.column)

    def describe(self) -> str:
        return f"Drop column {self.column} from {self.table}"

    def name_hint(self) -> str:
        return f"drop_{self.column}_from_{_short_table(self.table)}"


@dataclass(frozen=True)
class RenameColumn(Operation):
    table: str
    old: str
    new: str

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        col = table.column(self.old)
        if self.new in table.columns:
            raise ValueError(f"table {self.table!r} already has a column {self.new!r}")
        table.columns = {
            (self.new if name == self.old else name): (
                replace(col, name=self.new) if name == self.old else c
            )
            for name, c in table.columns.items()
        }

        def swap(columns: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(self.new if c == self.old else c for c in columns)

        table.indexes = {k: replace(v, columns=swap(v.columns)) for k, v in table.indexes.items()}
        table.uniques = {k: replace(v, columns=swap(v.columns)) for k, v in table.uniques.items()}
        for other in state.tables.values():
            for name, fk in list(other.foreign_keys.items()):
                if other is table and fk.column == self.old:
                    fk = replace(fk, column=self.new)
                if fk.ref_table == self.table and fk.ref_column == self.old:
                    fk = replace(fk, ref_column=self.new)
                other.foreign_keys[name] = fk

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.rename_column(before, after, self.table, self.old, self.new))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [RenameColumn(self.table, self.new, self.old)]

    def code(self) -> str:
        return _call("rename_column", self.table, self.old, self.new)

    def describe(self) -> str:
        return f"Rename column {self.table}.{self.old} to {self.new}"

    def name_hint(self) -> str:
        return f"rename_{self.old}_to_{self.new}"


@dataclass(frozen=True)
class AlterColumn(Operation):
    table: str
    column: str
    changes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.changes) - set(ALTERABLE))
        if unknown:
            raise ValueError(
                f"alter_column({self.table!r}, {self.column!r}): unknown change(s) "
                f"{', '.join(unknown)}; valid: {', '.join(ALTERABLE)}"
            )

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        col = table.column(self.column)
        new = replace(col, **self.changes)
        if new.enum is not None and new.enum not in state.enums:
            raise ValueError(f"unknown enum type {new.enum!r}; create it first")
        if new.primary_key != col.primary_key:
            raise ValueError(f"{self.table}.{self.column}: the primary key cannot be changed")
        table.columns[self.column] = new

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.alter_column(before, after, self.table, self.column))

    def reverse(self, before: SchemaState) -> list[Operation]:
        old = before.table(self.table).column(self.column)
        return [AlterColumn(self.table, self.column, {k: getattr(old, k) for k in self.changes})]

    def code(self) -> str:
        return _call("alter_column", self.table, self.column, **self.changes)

    def describe(self) -> str:
        what = ", ".join(f"{k}={v!r}" for k, v in self.changes.items())
        return f"Alter column {self.table}.{self.column} ({what})"

    def name_hint(self) -> str:
        return f"alter_{self.column}_on_{_short_table(self.table)}"


# -- indexes and constraints ---------------------------------------------------------------


@dataclass(frozen=True)
class CreateIndex(Operation):
    table: str
    index: IndexState

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        _check_new_name(state, self.index.name, "index")
        _check_columns(table, self.index.columns, f"index {self.index.name!r}")
        table.indexes[self.index.name] = self.index

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.create_index(before, after, self.table, self.index.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropIndex(self.table, self.index.name)]

    def code(self) -> str:
        return _call("create_index", self.table, self.index.to_dict())

    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.table}"

    def name_hint(self) -> str:
        return f"index_{_short_table(self.table)}_{'_'.join(self.index.columns)}"


@dataclass(frozen=True)
class DropIndex(Operation):
    table: str
    name: str

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.name not in table.indexes:
            raise ValueError(f"table {self.table!r} has no index {self.name!r}")
        del table.indexes[self.name]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_index(before, after, self.table, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [CreateIndex(self.table, before.table(self.table).indexes[self.name])]

    def code(self) -> str:
        return _call("drop_index", self.table, self.name)

    def describe(self) -> str:
        return f"Drop index {self.name} on {self.table}"

    def name_hint(self) -> str:
        return f"drop_{self.name}"


@dataclass(frozen=True)
class AddForeignKey(Operation):
    table: str
    foreign_key: ForeignKeyState

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        fk = self.foreign_key
        if fk.name in table.foreign_keys:
            raise ValueError(f"table {self.table!r} already has a foreign key {fk.name!r}")
        _check_columns(table, (fk.column,), f"foreign key {fk.name!r}")
        _check_reference(state, fk)
        table.foreign_keys[fk.name] = fk

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.add_foreign_key(before, after, self.table, self.foreign_key.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropForeignKey(self.table, self.foreign_key.name)]

    def code(self) -> str:
        fk = self.foreign_key
        return _call(
            "add_foreign_key",
            self.table,
            fk.name,
            fk.column,
            fk.ref_table,
            fk.ref_column,
            on_delete=fk.on_delete,
            on_update=fk.on_update,
        )

    def describe(self) -> str:
        fk = self.foreign_key
        return f"Add foreign key {self.table}.{fk.column} -> {fk.ref_table}.{fk.ref_column}"

    def name_hint(self) -> str:
        return f"add_fk_{_short_table(self.table)}_{self.foreign_key.column}"


@dataclass(frozen=True)
class DropForeignKey(Operation):
    table: str
    name: str

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.name not in table.foreign_keys:
            raise ValueError(f"table {self.table!r} has no foreign key {self.name!r}")
        del table.foreign_keys[self.name]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_foreign_key(before, after, self.table, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [AddForeignKey(self.table, before.table(self.table).foreign_keys[self.name])]

    def code(self) -> str:
        return _call("drop_foreign_key", self.table, self.name)

    def describe(self) -> str:
        return f"Drop foreign key {self.name} on {self.table}"

    def name_hint(self) -> str:
        return f"drop_{self.name}"


@dataclass(frozen=True)
class AddCheck(Operation):
    table: str
    check: CheckState

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.check.name in table.checks:
            raise ValueError(f"table {self.table!r} already has a check {self.check.name!r}")
        table.checks[self.check.name] = self.check

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.add_check(before, after, self.table, self.check.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropCheck(self.table, self.check.name)]

    def code(self) -> str:
        return _call("add_check", self.table, self.check.name, self.check.expression)

    def describe(self) -> str:
        return f"Add check {self.check.name} on {self.table}: {self.check.expression}"

    def name_hint(self) -> str:
        return f"add_{self.check.name}"


@dataclass(frozen=True)
class DropCheck(Operation):
    table: str
    name: str

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.name not in table.checks:
            raise ValueError(f"table {self.table!r} has no check {self.name!r}")
        del table.checks[self.name]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_check(before, after, self.table, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [AddCheck(self.table, before.table(self.table).checks[self.name])]

    def code(self) -> str:
        return _call("drop_check", self.table, self.name)

    def describe(self) -> str:
        return f"Drop check {self.name} on {self.table}"

    def name_hint(self) -> str:
        return f"drop_{self.name}"


@dataclass(frozen=True)
class AddUnique(Operation):
    table: str
    unique: UniqueState

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.unique.name in table.uniques:
            raise ValueError(f"table {self.table!r} already has a constraint {self.unique.name!r}")
        _check_columns(table, self.unique.columns, f"unique constraint {self.unique.name!r}")
        table.uniques[self.unique.name] = self.unique

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.add_unique(before, after, self.table, self.unique.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropUnique(self.table, self.unique.name)]

    def code(self) -> str:
        return _call("add_unique", self.table, self.unique.name, list(self.unique.columns))

    def describe(self) -> str:
        return f"Add unique {self.unique.name} on {self.table} ({', '.join(self.unique.columns)})"

    def name_hint(self) -> str:
        return f"add_{self.unique.name}"


@dataclass(frozen=True)
class DropUnique(Operation):
    table: str
    name: str

    def apply(self, state: SchemaState) -> None:
        table = state.table(self.table)
        if self.name not in table.uniques:
            raise ValueError(f"table {self.table!r} has no unique constraint {self.name!r}")
        del table.uniques[self.name]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_unique(before, after, self.table, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [AddUnique(self.table, before.table(self.table).uniques[self.name])]

    def code(self) -> str:
        return _call("drop_unique", self.table, self.name)

    def describe(self) -> str:
        return f"Drop unique {self.name} on {self.table}"

    def name_hint(self) -> str:
        return f"drop_{self.name}"


# -- enum types --------------------------------------------------------------------------


def _check_values(name: str, values: tuple[str, ...]) -> None:
    if not values:
        raise ValueError(f"enum type {name!r} needs at least one value")
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"enum type {name!r}: values must be strings, got {list(values)!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"enum type {name!r} lists a value twice: {list(values)!r}")


@dataclass(frozen=True)
class CreateEnum(Operation):
    name: str
    values: tuple[str, ...]

    def apply(self, state: SchemaState) -> None:
        if self.name in state.enums:
            raise ValueError(f"enum type {self.name!r} already exists")
        _check_values(self.name, self.values)
        state.enums[self.name] = tuple(self.values)

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.create_enum(after, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [DropEnum(self.name)]

    def code(self) -> str:
        return _call("create_enum_type", self.name, list(self.values))

    def describe(self) -> str:
        return f"Create enum type {self.name} ({', '.join(self.values)})"

    def name_hint(self) -> str:
        return f"create_{self.name}"


@dataclass(frozen=True)
class DropEnum(Operation):
    name: str

    def apply(self, state: SchemaState) -> None:
        if self.name not in state.enums:
            raise ValueError(f"no enum type {self.name!r}")
        users = [f"{t.key}.{c.name}" for t, c in state.enum_users(self.name)]
        if users:
            raise ValueError(f"cannot drop enum type {self.name!r}: used by {', '.join(users)}")
        del state.enums[self.name]

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return _steps(ddl.drop_enum(before, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [CreateEnum(self.name, before.enums[self.name])]

    def code(self) -> str:
        return _call("drop_enum_type", self.name)

    def describe(self) -> str:
        return f"Drop enum type {self.name}"

    def name_hint(self) -> str:
        return f"drop_{self.name}"


@dataclass(frozen=True)
class AddEnumValue(Operation):
    name: str
    value: str
    #: insert before this existing value (default: at the end)
    before: str | None = None

    def apply(self, state: SchemaState) -> None:
        if self.name not in state.enums:
            raise ValueError(f"no enum type {self.name!r}")
        values = list(state.enums[self.name])
        if self.value in values:
            raise ValueError(f"enum type {self.name!r} already has the value {self.value!r}")
        if self.before is None:
            values.append(self.value)
        else:
            if self.before not in values:
                raise ValueError(f"enum type {self.name!r} has no value {self.before!r}")
            values.insert(values.index(self.before), self.value)
        state.enums[self.name] = tuple(values)

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        statements = ddl.add_enum_value(before, after, self.name)
        return [Step(s, early=True) for s in statements.early] + _steps(statements.main)

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [AlterEnum(self.name, before.enums[self.name])]

    def code(self) -> str:
        if self.before is None:
            return _call("add_enum_value", self.name, self.value)
        return _call("add_enum_value", self.name, self.value, before=self.before)

    def describe(self) -> str:
        return f"Add value {self.value!r} to enum type {self.name}"

    def name_hint(self) -> str:
        return f"add_{self.value}_to_{self.name}"


@dataclass(frozen=True)
class AlterEnum(Operation):
    """Set an enum type's values (removing or reordering them)."""

    name: str
    values: tuple[str, ...]

    def apply(self, state: SchemaState) -> None:
        if self.name not in state.enums:
            raise ValueError(f"no enum type {self.name!r}")
        _check_values(self.name, self.values)
        state.enums[self.name] = tuple(self.values)

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        if before.enums[self.name] == after.enums[self.name]:
            return []
        return _steps(ddl.alter_enum(before, after, self.name))

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [AlterEnum(self.name, before.enums[self.name])]

    def code(self) -> str:
        return _call("alter_enum_type", self.name, list(self.values))

    def describe(self) -> str:
        return f"Set the values of enum type {self.name} to ({', '.join(self.values)})"

    def name_hint(self) -> str:
        return f"alter_{self.name}"


# -- raw SQL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSQL(Operation):
    statement: str

    def apply(self, state: SchemaState) -> None:
        if not isinstance(self.statement, str) or not self.statement.strip():
            raise ValueError("ctx.execute() needs an SQL string")

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return [Step(self.statement)]

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [RequireManual(f"undo: {self.statement}")]

    def code(self) -> str:
        return _call("execute", self.statement)

    def describe(self) -> str:
        return f"Run SQL: {self.statement}"


@dataclass(frozen=True)
class RequireManual(Operation):
    message: str

    def apply(self, state: SchemaState) -> None:
        return None

    def sql(self, ddl: AlterDdl, before: SchemaState, after: SchemaState) -> list[Step]:
        return [Step(f"-- manual migration required: {self.message}", manual=self.message)]

    def reverse(self, before: SchemaState) -> list[Operation]:
        return [RequireManual(self.message)]

    def code(self) -> str:
        return _call("require_manual", self.message)

    def describe(self) -> str:
        return f"Manual step: {self.message}"


# -- checks shared by operations -----------------------------------------------------------


def _check_columns(table: TableState, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{what} on {table.key!r} names unknown column(s) {', '.join(missing)}; "
            f"columns: {', '.join(table.columns)}"
        )


def _check_reference(state: SchemaState, fk: ForeignKeyState) -> None:
    target = state.tables.get(fk.ref_table)
    if target is None:
        raise ValueError(
            f"foreign key {fk.name!r} points at table {fk.ref_table!r}, which does not exist"
        )
    if fk.ref_column not in target.columns:
        raise ValueError(
            f"foreign key {fk.name!r} points at {fk.ref_table}.{fk.ref_column}, which does "
            "not exist"
        )


def _check_new_name(state: SchemaState, name: str, what: str) -> None:
    # index names are unique per schema on PostgreSQL and SQLite
    for table in state.tables.values():
        if name in table.indexes:
            raise ValueError(f"an {what} named {name!r} already exists (on {table.key!r})")


def _column_users(state: SchemaState, table: TableState, column: str) -> list[str]:
    users = [f"index {i.name}" for i in table.indexes.values() if column in i.columns]
    users += [f"unique constraint {u.name}" for u in table.uniques.values() if column in u.columns]
    users += [f"foreign key {f.name}" for f in table.foreign_keys.values() if f.column == column]
    users += [
        f"foreign key {f.name} of {t.key}"
        for t, f in state.referencing(table.key)
        if f.ref_column == column
    ]
    return users
