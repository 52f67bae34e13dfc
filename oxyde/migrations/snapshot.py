"""``snapshot_models``: the ``SchemaState`` the registered table models ask for.

Names of indexes, keys and constraints are derived exactly as ``oxyde.sql.ddl`` derives
them for ``create_tables``, so a database made either way has the same names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from oxyde.meta.metadata import Column, ModelMeta
from oxyde.meta.registry import get_meta, registered_tables
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
from oxyde.sql.ddl import enum_type_name, short_name

__all__ = ["column_state", "snapshot_models", "table_state"]

#: Python defaults a DDL DEFAULT can hold (``oxyde.sql.ddl`` renders these).
_LITERAL_DEFAULTS = (bool, int, float, str, bytes, Decimal, UUID, date, time, timedelta)


def snapshot_models(models: Iterable[type[Any]] | None = None) -> SchemaState:
    """The schema of ``models`` (default: every registered table model)."""
    classes = list(registered_tables().values()) if models is None else list(models)
    state = SchemaState()
    for model in classes:
        meta = get_meta(model)
        table = table_state(meta, state.enums)
        # Two models may share a table (a variant per database); as in the public
        # Oxyde, the one registered last describes it.
        state.tables[table.key] = table
    return state


def _enum_of(col: Column) -> type[Enum] | None:
    if col.db_type:
        return None
    if col.kind == "enum":
        return col.enum_cls  # type: ignore[no-any-return]
    if col.kind == "array" and col.item_kind == "enum":
        return col.item_type  # type: ignore[no-any-return]
    return None


def _default(col: Column) -> Any:
    if not col.has_default or col.default is None or (col.primary_key and col.auto_increment):
        return None
    value = col.default
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, _LITERAL_DEFAULTS):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def column_state(
    col: Column,
    enums: dict[str, tuple[str, ...]] | None = None,
    *,
    table: str = "",
    schema: str | None = None,
) -> ColumnState:
    """The state of one model column of ``table``; its enum type (if any, one per table
    and column as ``create_tables`` names it) is added to ``enums``."""
    enum_cls = _enum_of(col)
    enum_name = None
    if enum_cls is not None:
        enum_name = enum_type_name(table, col.column, schema)
        values = tuple(str(member.value) for member in enum_cls)
        if enums is not None:
            known = enums.setdefault(enum_name, values)
            if known != values:
                raise ValueError(
                    f"enum type {enum_name!r} is used with different values: "
                    f"{list(known)} and {list(values)} (two Enum classes share a name?)"
                )
    return ColumnState(
        name=col.column,
        kind=col.kind,
        nullable=col.nullable,
        primary_key=col.primary_key,
        auto_increment=col.auto_increment,
        unique=col.unique,
        max_length=col.max_length,
        max_digits=col.max_digits,
        decimal_places=col.decimal_places,
        db_type=col.db_type,
        default=_default(col),
        db_default=col.db_default,
        enum=enum_name,
        item_kind=col.item_kind if col.kind == "array" else None,
        timezone=col.timezone,
        comment=col.comment,
    ).normalized()


def table_state(meta: ModelMeta, enums: dict[str, tuple[str, ...]] | None = None) -> TableState:
    """The state of one model's table."""
    name = meta.table_name
    table = TableState(name=name, schema=meta.schema, comment=meta.comment)
    for col in meta.columns.values():
        table.columns[col.column] = column_state(col, enums, table=name, schema=meta.schema)

    def column_names(fields: Iterable[str]) -> tuple[str, ...]:
        out = []
        for f in fields:
            col = meta.columns.get(f)
            if col is None and f in meta.field_by_column:
                col = meta.columns[meta.field_by_column[f]]
            if col is None:
                raise ValueError(f"{name}: unknown field {f!r}")
            out.append(col.column)
        return tuple(out)

    for col in meta.columns.values():
        if col.index and not col.unique and not col.primary_key:
            index_name = col.index_name or short_name(f"{name}_{col.column}_idx")
            table.indexes[index_name] = IndexState(
                index_name, (col.column,), method=col.index_method
            )
    for index in meta.indexes:
        columns = column_names(index.fields)
        index_name = index.name or short_name(f"{name}_{'_'.join(columns)}_idx")
        table.indexes[index_name] = IndexState(
            index_name, columns, unique=bool(index.unique), where=index.where, method=index.method
        )
    for group in meta.unique_together:
        columns = column_names(group)
        unique_name = short_name(f"{name}_{'_'.join(columns)}_uniq")
        table.uniques[unique_name] = UniqueState(unique_name, columns)
    for i, check in enumerate(meta.constraints, start=1):
        check_name = check.name or short_name(f"chk_{name}_{i}")
        table.checks[check_name] = CheckState(check_name, check.expression)
    for col in meta.columns.values():
        fk = col.fk
        if fk is None:
            continue
        target: ModelMeta = fk.target._db_meta
        target_col = target.columns.get(fk.target_field)
        fk_name = short_name(f"fk_{name}_{col.column}")
        table.foreign_keys[fk_name] = ForeignKeyState(
            name=fk_name,
            column=col.column,
            ref_table=qualified(target.table_name, target.schema),
            ref_column=target_col.column if target_col is not None else fk.target_field,
            on_delete=fk.on_delete.upper(),
            on_update=fk.on_update.upper(),
        )
    return table
