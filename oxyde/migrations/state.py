"""The schema as plain data: tables, columns, indexes, keys, checks and enum types.

A ``SchemaState`` is what the database looks like after a list of migrations, or what
the models ask for (``oxyde.migrations.snapshot``). It is independent of the dialect:
migration files describe it, and DDL for one database is rendered from it. Every part
converts to and from the plain dicts written in migration files.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = [
    "CheckState",
    "ColumnState",
    "ForeignKeyState",
    "IndexState",
    "SchemaState",
    "TableState",
    "UniqueState",
    "qualified",
]

#: Size attributes that matter for a kind; others are dropped by ``normalized``.
_KINDS_WITH_SIZE = {"str": ("max_length",), "decimal": ("max_digits", "decimal_places")}


def qualified(name: str, schema: str | None) -> str:
    """The key of a table in ``SchemaState.tables``: ``schema.name`` or ``name``."""
    return f"{schema}.{name}" if schema else name


@dataclass
class ColumnState:
    """One column; ``default`` is a Python constant, ``db_default`` raw SQL."""

    name: str
    kind: str
    nullable: bool = False
    primary_key: bool = False
    auto_increment: bool = False
    unique: bool = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    db_type: str | None = None
    default: Any = None
    db_default: str | None = None
    #: the enum type of an enum column (or of the items of an array column)
    enum: str | None = None
    item_kind: str | None = None
    timezone: bool = False
    comment: str | None = None

    def type_signature(self) -> tuple[Any, ...]:
        """What decides the column's SQL type (not its nullability, default or key)."""
        return (
            self.kind,
            self.db_type,
            self.max_length,
            self.max_digits,
            self.decimal_places,
            self.enum,
            self.item_kind,
            self.timezone,
            self.auto_increment,
        )

    def to_dict(self) -> dict[str, Any]:
        """The dict a migration file holds: the name, the kind and what differs from
        the defaults."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for f in fields(self):
            if f.name in ("name", "kind"):
                continue
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnState:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"column {data.get('name')!r}: unknown key(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(known))}"
            )
        for key in ("name", "kind"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"a column needs a {key!r} string, got {dict(data)!r}")
        return cls(**dict(data))

    def normalized(self) -> ColumnState:
        """Sizes that do not matter for the kind dropped, so equal columns compare equal."""
        sizes = _KINDS_WITH_SIZE.get(self.kind, ())
        changes: dict[str, Any] = {
            name: None
            for name in ("max_length", "max_digits", "decimal_places")
            if name not in sizes
        }
        if self.kind == "str" and self.max_length is None and self.db_type is None:
            changes["max_length"] = 255
        if self.kind == "decimal" and self.max_digits is not None and self.decimal_places is None:
            changes["decimal_places"] = 0
        if self.kind != "datetime":
            changes["timezone"] = False
        if self.primary_key:
            changes["nullable"] = False
            changes["unique"] = False
        return replace(self, **changes)


@dataclass(frozen=True)
class IndexState:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None
    method: str | None = None

    def signature(self) -> tuple[Any, ...]:
        return (self.columns, self.unique, self.where, self.method)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "columns": list(self.columns)}
        if self.unique:
            out["unique"] = True
        if self.where is not None:
            out["where"] = self.where
        if self.method is not None:
            out["method"] = self.method
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexState:
        _check_keys("index", data, {"name", "columns", "unique", "where", "method"})
        return cls(
            name=_name(data, "index"),
            columns=_columns(data.get("columns"), "index"),
            unique=bool(data.get("unique", False)),
            where=data.get("where"),
            method=data.get("method"),
        )


@dataclass(frozen=True)
class ForeignKeyState:
    name: str
    column: str
    #: key of the referenced table in ``SchemaState.tables``
    ref_table: str
    ref_column: str
    on_delete: str = "RESTRICT"
    on_update: str = "CASCADE"

    def signature(self) -> tuple[Any, ...]:
        return (self.column, self.ref_table, self.ref_column, self.on_delete, self.on_update)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "column": self.column,
            "ref_table": self.ref_table,
            "ref_column": self.ref_column,
            "on_delete": self.on_delete,
            "on_update": self.on_update,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForeignKeyState:
        keys = {"name", "column", "columns", "ref_table", "ref_column", "ref_columns"}
        _check_keys("foreign key", data, keys | {"on_delete", "on_update"})
        column = data.get("column", data.get("columns"))
        ref_column = data.get("ref_column", data.get("ref_columns"))
        return cls(
            name=_name(data, "foreign key"),
            column=_single(column, "foreign key column"),
            ref_table=str(data["ref_table"]),
            ref_column=_single(ref_column, "foreign key ref_column"),
            on_delete=_action(data.get("on_delete", "RESTRICT")),
            on_update=_action(data.get("on_update", "CASCADE")),
        )


@dataclass(frozen=True)
class CheckState:
    name: str
    expression: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "expression": self.expression}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckState:
        _check_keys("check", data, {"name", "expression"})
        expression = data.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise ValueError(f"a check needs an 'expression' string, got {dict(data)!r}")
        return cls(name=_name(data, "check"), expression=expression)


@dataclass(frozen=True)
class UniqueState:
    """A unique constraint over several columns (``Meta.unique_together``)."""

    name: str
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "columns": list(self.columns)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UniqueState:
        _check_keys("unique constraint", data, {"name", "columns"})
        return cls(
            name=_name(data, "unique constraint"),
            columns=_columns(data.get("columns"), "unique constraint"),
        )


@dataclass
class TableState:
    name: str
    schema: str | None = None
    comment: str | None = None
    columns: dict[str, ColumnState] = field(default_factory=dict)
    indexes: dict[str, IndexState] = field(default_factory=dict)
    foreign_keys: dict[str, ForeignKeyState] = field(default_factory=dict)
    checks: dict[str, CheckState] = field(default_factory=dict)
    uniques: dict[str, UniqueState] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return qualified(self.name, self.schema)

    def column(self, name: str) -> ColumnState:
        try:
            return self.columns[name]
        except KeyError:
            raise ValueError(
                f"table {self.key!r} has no column {name!r}; columns: {', '.join(self.columns)}"
            ) from None

    def copy(self) -> TableState:
        return copy.deepcopy(self)


@dataclass
class SchemaState:
    tables: dict[str, TableState] = field(default_factory=dict)
    #: enum type name -> its values, in order
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def apply_operation(self, op: Mapping[str, Any]) -> None:
        """Apply one of the public Oxyde's operation dicts (``{"type": ...}``) to this
        state (see ``oxyde.migrations.public``)."""
        from oxyde.migrations.context import MigrationContext
        from oxyde.migrations.public import apply_public_operation

        ctx = MigrationContext(self)
        apply_public_operation(ctx, op)

    def to_snapshot(self, dialect: str = "sqlite") -> dict[str, Any]:
        """This state as the public Oxyde's snapshot dict."""
        from oxyde.migrations.public import to_snapshot

        return to_snapshot(self, dialect)

    def copy(self) -> SchemaState:
        return copy.deepcopy(self)

    def table(self, key: str) -> TableState:
        try:
            return self.tables[key]
        except KeyError:
            known = ", ".join(sorted(self.tables)) or "none"
            raise ValueError(f"no table {key!r} in the schema (tables: {known})") from None

    def enum_users(self, enum: str) -> list[tuple[TableState, ColumnState]]:
        """The columns whose type is (an array of) ``enum``."""
        return [
            (table, column)
            for table in self.tables.values()
            for column in table.columns.values()
            if column.enum == enum
        ]

    def referencing(self, key: str) -> list[tuple[TableState, ForeignKeyState]]:
        """Foreign keys of any table that point at table ``key``."""
        return [
            (table, fk)
            for table in self.tables.values()
            for fk in table.foreign_keys.values()
            if fk.ref_table == key
        ]


# -- validation helpers ------------------------------------------------------------------


def _check_keys(what: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{what} {data.get('name')!r}: unknown key(s) {', '.join(unknown)}")


def _name(data: Mapping[str, Any], what: str) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a {what} needs a 'name' string, got {dict(data)!r}")
    return name


def _columns(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise ValueError(f"a {what} needs a list of column names, got {value!r}")
    names = tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"a {what} needs a list of column names, got {value!r}")
    return names


def _single(value: Any, what: str) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Sequence) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    raise ValueError(f"{what} must name one column (multi-column keys are not supported)")


_ACTIONS = ("CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION")


def _action(value: Any) -> str:
    action = " ".join(str(value).replace("_", " ").upper().split())
    if action not in _ACTIONS:
        raise ValueError(f"unknown foreign key action {value!r}; expected one of {_ACTIONS}")
    return action
