"""The PostgreSQL dialect: syntax flags and driver-agnostic value adapters and converters.

PostgreSQL has a native type for every value kind, so little is adapted here; the
psycopg backend derives its own variant (``oxyde/backends/postgres/types.py``) on top.
"""

from __future__ import annotations

from datetime import UTC
from enum import Enum
from typing import Any

from oxyde.sql.dialects.base import Adapter, Dialect
from oxyde.sql.dialects.sqlite import enum_value, json_dumps, json_loads

__all__ = ["POSTGRES"]


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

POSTGRES = Dialect(
    name="postgres",
    quote='"',
    placeholder="numeric",
    array_in=True,
    returning=True,
    row_locks=True,
    random_sql="RANDOM()",
    offset_only_limit=None,
    like_escape="ESCAPE '\\'",
    concat_style="pipes",
    true_sql="TRUE",
    false_sql="FALSE",
    upsert_style="on_conflict",
    adapters=ADAPTERS,
    converters=CONVERTERS,
    type_names=TYPE_NAMES,
)
