"""CREATE / DROP statements for a model's table, its enum types, indexes and foreign keys.

Everything comes from ``ModelMeta`` (``oxyde/meta/metadata.py``). Types come from the
dialect's ``type_names``; the other per-dialect differences of DDL are the data in
its ``DdlStyle`` (``Dialect.ddl``), so this module has no dialect branches. Statements
are idempotent where the database allows (``IF NOT EXISTS``), so ``create_tables`` can
run again.
Statements are SQL: whoever runs them passes each through ``Dialect.driver_text`` (with
``%s`` placeholders a literal ``%`` is written ``%%``), the one place that escaping
happens. Foreign keys are separate ``ALTER TABLE`` statements (except on SQLite, which declares
them inline) so that tables referencing each other can all be created first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final
from uuid import UUID

from oxyde.meta.metadata import Column, ForeignKey, ModelMeta
from oxyde.sql.dialects.base import DdlStyle, Dialect

__all__ = [
    "DdlStyle",
    "IndexDef",
    "column_sql",
    "column_type",
    "create_index_sql",
    "create_table_statements",
    "ddl_style",
    "default_sql",
    "drop_table_statements",
    "enum_type_name",
    "foreign_key_statements",
    "reference_sql",
    "short_name",
    "string_literal",
]

#: Longest identifier PostgreSQL keeps (MySQL allows 64); longer generated names are
#: shortened with a hash so they stay unique instead of being cut (PG) or refused (MySQL).
MAX_NAME: Final = 63

_FK_ACTIONS: Final = frozenset({"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"})


def ddl_style(dialect: Dialect) -> DdlStyle:
    """The DDL rules of ``dialect`` (``Dialect.ddl``)."""
    return dialect.ddl


# -- names and literals ------------------------------------------------------------------


def short_name(name: str) -> str:
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def enum_type_name(table: str, column: str, schema: str | None = None) -> str:
    """The PostgreSQL type of an enum column (or an array of enums): one per table and
    column, ``post_status_enum`` for column ``status`` of table ``post``, so that two
    models' enums never share a type and each is created and dropped with its table."""
    prefix = f"{schema}_" if schema else ""
    return short_name(f"{prefix}{table}_{column}_enum")


def _enum_class(col: Column) -> type[Enum] | None:
    """The Enum class behind an enum or enum-array column without a verbatim db_type."""
    if col.db_type:
        return None
    if col.kind == "enum":
        return col.enum_cls  # type: ignore[no-any-return]
    if col.kind == "array" and col.item_kind == "enum":
        return col.item_type  # type: ignore[no-any-return]
    return None


def string_literal(value: str, style: DdlStyle) -> str:
    if style.backslash_escapes:
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"


def _table(meta: ModelMeta, dialect: Dialect) -> str:
    name = dialect.quote_ident(meta.table_name)
    if meta.schema:
        return f"{dialect.quote_ident(meta.schema)}.{name}"
    return name


def _enum_values(col: Column) -> list[str]:
    if col.enum_cls is None:
        raise ValueError(f"column {col.column!r} is an enum column without an enum class")
    return [str(member.value) for member in col.enum_cls]


# -- types -------------------------------------------------------------------------------


def column_type(col: Column, dialect: Dialect, enum_type: str | None = None) -> str:
    """The DDL type of ``col`` on ``dialect``: ``db_type`` if given, else by value kind.

    ``enum_type`` names the PostgreSQL type of an enum column (``enum_type_name``)."""
    if col.db_type:
        return col.db_type
    names = dialect.type_names
    if col.primary_key and col.auto_increment:
        return names["auto_pk"]
    kind = col.kind
    if kind == "datetime" and col.timezone:
        return names.get("datetime_tz", names["datetime"])
    if kind == "str":
        return names["str"].format(n=col.max_length or 255)
    if kind == "decimal":
        if col.max_digits is None:
            return names["decimal"]
        return names["decimal_sized"].format(p=col.max_digits, s=col.decimal_places or 0)
    if kind == "enum":
        template = names["enum"]
        values = _enum_values(col)
        style = ddl_style(dialect)
        if enum_type is None and "{enum_type}" in template:
            raise ValueError(f"column {col.column!r}: the name of its enum type is needed")
        return template.format(
            enum_type=dialect.quote_ident(enum_type or ""),
            values=", ".join(string_literal(v, style) for v in values),
        )
    if kind == "array":
        template = names["array"]
        if "{item}" not in template:
            return template
        item = Column(
            name=col.name,
            column=col.column,
            kind=col.item_kind or "any",
            python_type=col.item_type,
            enum_cls=col.item_type if col.item_kind == "enum" else None,
        )
        return template.format(item=column_type(item, dialect, enum_type))
    try:
        return names[kind]
    except KeyError:
        raise ValueError(
            f"dialect {dialect.name!r} has no column type for kind {kind!r} "
            f"(column {col.column!r}); set db_type"
        ) from None


def default_sql(col: Column, dialect: Dialect, style: DdlStyle) -> str | None:
    """The DEFAULT clause value: ``db_default`` verbatim, else a plain constant's literal."""
    if col.db_default is not None:
        return col.db_default
    if not col.has_default or col.default is None or (col.primary_key and col.auto_increment):
        return None
    value = col.default
    if isinstance(value, Enum):
        value = value.value
    elif not isinstance(value, _PLAIN_DEFAULTS):
        return None  # a factory or an object: the application fills it in
    adapt = dialect.adapters.get(col.kind)
    if adapt is not None:
        value = adapt(value)
    literal = _literal(value, style)
    if literal is not None and col.kind in style.expression_default_kinds:
        literal = f"({literal})"
    return literal


_PLAIN_DEFAULTS: Final = (
    bool,
    int,
    float,
    str,
    bytes,
    Decimal,
    UUID,
    date,
    time,
    timedelta,
    dict,
    list,
)


def _literal(value: Any, style: DdlStyle) -> str | None:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
        )
    if isinstance(value, str):
        return string_literal(value, style)
    if isinstance(value, UUID):
        return string_literal(str(value), style)
    if isinstance(value, bytes):
        if style.hex_bytes_prefix:
            return f"'\\x{value.hex()}'"
        return f"X'{value.hex()}'"
    if isinstance(value, datetime):
        return string_literal(value.isoformat(" "), style)
    if isinstance(value, date | time):
        return string_literal(value.isoformat(), style)
    if isinstance(value, timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        return string_literal(f"{micros} microseconds", style)
    return None  # lists and dicts the dialect does not turn into text


# -- CREATE ------------------------------------------------------------------------------


def column_sql(col: Column, dialect: Dialect, style: DdlStyle, enum_type: str | None = None) -> str:
    parts = [dialect.quote_ident(col.column), column_type(col, dialect, enum_type)]
    if col.primary_key:
        # an auto-numbered key never takes NULL; NOT NULL on SQLite's INTEGER PRIMARY KEY
        # would only get in the way of its rowid numbering
        if not col.auto_increment:
            parts.append("NOT NULL")
    elif not col.nullable:
        parts.append("NOT NULL")
    default = default_sql(col, dialect, style)
    if default is not None:
        parts.append(f"DEFAULT {default}")
    if col.primary_key:
        parts.append("PRIMARY KEY")
    elif col.unique:
        parts.append("UNIQUE")
    if col.comment and style.comments == "inline":
        parts.append(f"COMMENT {string_literal(col.comment, style)}")
    return " ".join(parts)


def _columns_of(meta: ModelMeta, fields: tuple[str, ...] | list[str], what: str) -> list[str]:
    out = []
    for name in fields:
        col = meta.columns.get(name)
        if col is None:
            # a database column name is accepted as well
            field = meta.field_by_column.get(name)
            col = meta.columns.get(field) if field is not None else None
        if col is None:
            raise ValueError(
                f"{meta.table_name}: {what} names unknown field {name!r}; "
                f"fields: {', '.join(meta.columns)}"
            )
        out.append(col.column)
    return out


def reference_sql(fk: ForeignKey, dialect: Dialect, style: DdlStyle) -> str:
    target: ModelMeta = fk.target._db_meta
    target_col = target.columns.get(fk.target_field)
    column = target_col.column if target_col is not None else fk.target_field
    table = dialect.quote_ident(target.table_name)
    if target.schema and style.schema_in_references:
        table = f"{dialect.quote_ident(target.schema)}.{table}"
    on_delete = fk.on_delete.upper()
    on_update = fk.on_update.upper()
    for action in (on_delete, on_update):
        if action not in _FK_ACTIONS:
            raise ValueError(
                f"foreign key {fk.name!r}: unknown action {action!r}; "
                f"expected one of {', '.join(sorted(_FK_ACTIONS))}"
            )
    return (
        f"FOREIGN KEY ({dialect.quote_ident(fk.column)}) REFERENCES {table} "
        f"({dialect.quote_ident(column)}) ON DELETE {on_delete} ON UPDATE {on_update}"
    )


@dataclass(frozen=True)
class IndexDef:
    name: str
    columns: list[str]
    unique: bool
    where: str | None
    method: str | None


def _indexes(meta: ModelMeta, style: DdlStyle) -> list[IndexDef]:
    table = meta.table_name
    out: list[IndexDef] = []
    for col in meta.columns.values():
        if col.index and not col.unique and not col.primary_key:
            name = col.index_name or short_name(f"{table}_{col.column}_idx")
            out.append(IndexDef(name, [col.column], False, None, col.index_method))
    for index in meta.indexes:
        columns = _columns_of(meta, tuple(index.fields), "an index")
        name = index.name or short_name(f"{table}_{'_'.join(columns)}_idx")
        if index.where and not style.partial_indexes:
            raise ValueError(
                f"index {name!r} on {table!r}: partial indexes (where=) are not supported "
                "by this database"
            )
        out.append(IndexDef(name, columns, bool(index.unique), index.where, index.method))
    return out


def _enum_statements(meta: ModelMeta, dialect: Dialect, style: DdlStyle) -> list[str]:
    statements: list[str] = []
    for col in meta.columns.values():
        enum_cls = _enum_class(col)
        if enum_cls is None:
            continue
        type_name = enum_type_name(meta.table_name, col.column, meta.schema)
        values = ", ".join(string_literal(str(m.value), style) for m in enum_cls)
        # CREATE TYPE has no IF NOT EXISTS: swallow the duplicate inside a block
        statements.append(
            f"DO $$ BEGIN CREATE TYPE {dialect.quote_ident(type_name)} AS ENUM ({values}); "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    return statements


def create_table_statements(
    meta: ModelMeta, dialect: Dialect, *, if_not_exists: bool = True
) -> list[str]:
    """Enum types, CREATE TABLE, comments and indexes for ``meta``, in execution order.

    Foreign keys are added afterwards by ``foreign_key_statements`` (inline on SQLite).
    """
    style = ddl_style(dialect)
    q = dialect.quote_ident
    table = _table(meta, dialect)
    statements = _enum_statements(meta, dialect, style) if style.enum_types else []

    items = [
        column_sql(col, dialect, style, enum_type_name(meta.table_name, col.column, meta.schema))
        for col in meta.columns.values()
    ]
    for fields in meta.unique_together:
        columns = _columns_of(meta, tuple(fields), "unique_together")
        name = short_name(f"{meta.table_name}_{'_'.join(columns)}_uniq")
        items.append(f"CONSTRAINT {q(name)} UNIQUE ({', '.join(q(c) for c in columns)})")
    for i, check in enumerate(meta.constraints, start=1):
        name = check.name or short_name(f"chk_{meta.table_name}_{i}")
        items.append(f"CONSTRAINT {q(name)} CHECK ({check.expression})")
    if style.inline_foreign_keys:
        items.extend(
            reference_sql(col.fk, dialect, style)
            for col in meta.columns.values()
            if col.fk is not None
        )
    indexes = _indexes(meta, style)
    if style.inline_indexes:
        for index in indexes:
            kind = "UNIQUE KEY" if index.unique else "KEY"
            items.append(f"{kind} {q(index.name)} ({', '.join(q(c) for c in index.columns)})")

    options = style.table_options
    if meta.comment and style.comments == "inline":
        options += f" COMMENT={string_literal(meta.comment, style)}"
    exists = "IF NOT EXISTS " if if_not_exists else ""
    statements.append(f"CREATE TABLE {exists}{table} ({', '.join(items)}){options}")

    if style.comments == "statement":
        if meta.comment:
            statements.append(f"COMMENT ON TABLE {table} IS {string_literal(meta.comment, style)}")
        for col in meta.columns.values():
            if col.comment:
                comment = string_literal(col.comment, style)
                statements.append(f"COMMENT ON COLUMN {table}.{q(col.column)} IS {comment}")

    if not style.inline_indexes:
        for index in indexes:
            statements.append(create_index_sql(meta, dialect, style, index, if_not_exists))
    return statements


def create_index_sql(
    meta: ModelMeta, dialect: Dialect, style: DdlStyle, index: IndexDef, if_not_exists: bool
) -> str:
    q = dialect.quote_ident
    name = q(index.name)
    table = q(meta.table_name)
    if meta.schema:
        if style.index_schema_on_name:
            name = f"{q(meta.schema)}.{name}"
        else:
            table = f"{q(meta.schema)}.{table}"
    unique = "UNIQUE " if index.unique else ""
    exists = "IF NOT EXISTS " if if_not_exists else ""
    using = f" USING {index.method}" if index.method and style.index_methods else ""
    columns = ", ".join(q(c) for c in index.columns)
    where = f" WHERE {index.where}" if index.where else ""
    return f"CREATE {unique}INDEX {exists}{name} ON {table}{using} ({columns}){where}"


def foreign_key_statements(meta: ModelMeta, dialect: Dialect) -> list[str]:
    """``ALTER TABLE ... ADD CONSTRAINT`` per foreign key; ``[]`` where they are inline."""
    style = ddl_style(dialect)
    if style.inline_foreign_keys:
        return []
    table = _table(meta, dialect)
    statements = []
    for col in meta.columns.values():
        if col.fk is None:
            continue
        name = dialect.quote_ident(short_name(f"fk_{meta.table_name}_{col.column}"))
        statements.append(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {reference_sql(col.fk, dialect, style)}"
        )
    return statements


def drop_table_statements(
    meta: ModelMeta, dialect: Dialect, *, if_exists: bool = True
) -> list[str]:
    """DROP TABLE for ``meta`` (PostgreSQL: CASCADE, which drops foreign keys onto it),
    then its enum types (PostgreSQL), which belong to its columns alone."""
    style = ddl_style(dialect)
    exists = "IF EXISTS " if if_exists else ""
    cascade = " CASCADE" if style.drop_cascade else ""
    statements = [f"DROP TABLE {exists}{_table(meta, dialect)}{cascade}"]
    if style.enum_types:
        for col in meta.columns.values():
            if _enum_class(col) is not None:
                name = enum_type_name(meta.table_name, col.column, meta.schema)
                statements.append(f"DROP TYPE IF EXISTS {dialect.quote_ident(name)}")
    return statements
