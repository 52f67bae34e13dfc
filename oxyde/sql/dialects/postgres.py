"""The PostgreSQL dialect: syntax flags and driver-agnostic value adapters and converters.

PostgreSQL has a native type for every value kind, so little is adapted here; the
psycopg backend derives its own variant (``oxyde/backends/postgres/types.py``) on top.
"""

from __future__ import annotations

from datetime import UTC
from enum import Enum
from typing import Any

from oxyde.sql.dialects.base import (
    ARG,
    ARG2,
    OP,
    PATH_ARRAY,
    Adapter,
    DdlStyle,
    Dialect,
    Syntax,
    json_compare,
    json_type_test,
)
from oxyde.sql.dialects.sqlite import enum_value, json_dumps, json_loads

__all__ = ["DDL_STYLE", "POSTGRES", "SYNTAX"]


def array_items(value: Any) -> Any:
    # enum members inside an array bind as their values, like a scalar enum
    return [item._value_ if isinstance(item, Enum) else item for item in value]


def to_int(value: Any) -> int:
    # SUM() over BIGINT is NUMERIC: an aggregate of an int field must read back as int
    return value if type(value) is int else int(value)


def to_float(value: Any) -> float:
    # AVG() over integers is NUMERIC
    return value if type(value) is float else float(value)


ADAPTERS: dict[str, Adapter] = {
    "json": json_dumps,
    "array": array_items,
    "enum": enum_value,
}


def to_utc(value: Any) -> Any:
    """TIMESTAMPTZ values come back in the session's zone; oxyde hands them out in UTC."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


CONVERTERS: dict[str, Adapter] = {
    "datetime_tz": to_utc,
    "json": json_loads,
}

#: DDL type per kind; ``{n}``, ``{p}``, ``{s}``, ``{item}`` are filled in by ``ddl.py``.
TYPE_NAMES: dict[str, str] = {
    "int": "BIGINT",
    "auto_pk": "BIGSERIAL",
    "float": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "str": "VARCHAR({n})",
    "bytes": "BYTEA",
    "datetime": "TIMESTAMP",
    "datetime_tz": "TIMESTAMPTZ",
    "date": "DATE",
    "time": "TIME",
    "timedelta": "INTERVAL",
    "uuid": "UUID",
    "decimal": "NUMERIC",
    "decimal_sized": "NUMERIC({p},{s})",
    "json": "JSONB",
    "array": "{item}[]",
    "enum": "{enum_type}",
    "any": "TEXT",
}

# JSON key paths bind as a text array; #> and #>> follow them
_PATH = ("CAST(", PATH_ARRAY, " AS TEXT[])")
_JSON_VALUE = ("(", ARG, " #> ", *_PATH, ")")
_JSON_TEXT = ("(", ARG, " #>> ", *_PATH, ")")
_JSON_TYPE = ("jsonb_typeof", *_JSON_VALUE)
_LIKE_ESCAPE = " ESCAPE '\\'"

SYNTAX = Syntax(
    marker="$",
    numbered=True,
    cast_text=("CAST(", ARG, " AS TEXT)"),
    cast_float=("CAST(", ARG, " AS DOUBLE PRECISION)"),
    # EXTRACT is NUMERIC on PostgreSQL 14+: made an integer, like the other dialects'
    extract={
        part: (f"CAST(EXTRACT({part.upper()} FROM ", ARG, ") AS INTEGER)")
        for part in ("year", "month", "day", "hour")
    },
    like=(ARG, " LIKE ", ARG2, _LIKE_ESCAPE),
    ilike=("LOWER(", ARG, ") LIKE LOWER(", ARG2, ")", _LIKE_ESCAPE),
    regex=(ARG, " ~ ", ARG2),
    iregex=(ARG, " ~* ", ARG2),
    json_text=_JSON_TEXT,
    json_has=(*_JSON_VALUE, " IS NOT NULL"),
    json_cmp={
        "str": json_compare(_JSON_TYPE, ("string",), _JSON_TEXT),
        # CASE keeps the cast away from values of other types (and tests the type)
        "num": (
            "(CAST(CASE WHEN ",
            *json_type_test(_JSON_TYPE, ("number",)),
            " THEN ",
            *_JSON_TEXT,
            " END AS NUMERIC) ",
            OP,
            " ",
            ARG2,
            ")",
        ),
        "bool": json_compare(_JSON_TYPE, ("boolean",), _JSON_TEXT),
        "null": json_type_test(_JSON_TYPE, ("null",)),
    },
)

DDL_STYLE = DdlStyle(
    enum_types=True,
    inline_foreign_keys=False,
    inline_indexes=False,
    comments="statement",
    table_options="",
    index_methods=True,
    partial_indexes=True,
    index_schema_on_name=False,
    schema_in_references=True,
    drop_cascade=True,
    backslash_escapes=False,
    hex_bytes_prefix=True,
    alter="in_place",
)

POSTGRES = Dialect(
    name="postgres",
    quote='"',
    placeholder="numeric",
    array_in=True,
    returning=True,
    row_locks=True,
    random_sql="RANDOM()",
    offset_only_limit=None,
    concat_style="pipes",
    true_sql="TRUE",
    false_sql="FALSE",
    upsert_style="on_conflict",
    syntax=SYNTAX,
    ddl=DDL_STYLE,
    adapters=ADAPTERS,
    converters=CONVERTERS,
    type_names=TYPE_NAMES,
    # the protocol counts parameters in an int16; IN lists bind one array anyway
    max_params=65_535,
)
