"""The SQLite dialect: syntax flags, and how each value kind is stored as INTEGER/REAL/TEXT.

SQLite has no date, UUID, decimal or JSON types, so those kinds are stored as text in a
form whose text order matches the value order where that matters and read back into the
exact Python type. Datetimes and times are written in SQLite's own form (aware
values as their UTC wall time); comparisons treat each value as the text range of its
spellings, so rows written by SQLite's functions, the public Oxyde or older versions of
this package (six fraction digits always, a '+00:00' suffix) compare and sort right.
The value helpers here are shared by the MySQL dialect.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python

from oxyde import _impl
from oxyde.exceptions import DataError
from oxyde.sql.dialects.base import (
    ARG,
    ARG2,
    PATH_TEXT,
    Adapter,
    DdlStyle,
    Dialect,
    Syntax,
    json_compare,
    json_type_test,
)

__all__ = ["DDL_STYLE", "DECIMAL_ARITH", "SQLITE", "STORE_DECIMAL", "STORE_INT", "SYNTAX"]

#: SQL functions the SQLite backend registers (``oxyde/backends/sqlite/functions.py``)
DECIMAL_ARITH = "oxyde_decimal_arith"
STORE_DECIMAL = "oxyde_store_decimal"
STORE_INT = "oxyde_store_int"


# -- adapters (Python value -> stored value) ---------------------------------------------


def bool_to_int(value: Any) -> int:
    return 1 if value else 0


def datetime_to_text(value: datetime) -> str:
    # SQLite's own form (CURRENT_TIMESTAMP, datetime()), which the public Oxyde writes
    # too: 'YYYY-MM-DD HH:MM:SS', then '.ffffff' only when there are microseconds.
    # Instants are stored as their UTC wall time, as SQLite's functions keep them. Text
    # order is time order: a value without fraction is a prefix of the later ones.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds" if value.microsecond else "seconds")


def datetime_next_text(value: datetime) -> str:
    """The canonical text of the next microsecond: every spelling of ``value`` (fraction
    digits with trailing zeros, a '+00:00' suffix) sorts below it (``text_ranges``)."""
    try:
        return datetime_to_text(value + _MICROSECOND)
    except OverflowError:  # datetime.max: above every spelling of it
        return datetime_to_text(value) + "~"


def date_to_text(value: date) -> str:
    return value.isoformat()


def time_to_text(value: time) -> str:
    # as datetimes: SQLite's time() form, fraction only when there are microseconds
    return value.isoformat("microseconds" if value.microsecond else "seconds")


def time_next_text(value: time) -> str:
    if value.replace(tzinfo=None) == time.max:
        return time_to_text(value) + "~"
    moment = datetime.combine(date.min, value) + _MICROSECOND
    return time_to_text(moment.timetz())


_MICROSECOND = timedelta(microseconds=1)


def timedelta_to_micros(value: timedelta) -> int:
    # integer arithmetic: total_seconds() would round through a float
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def to_str(value: Any) -> str:
    return str(value)


def json_dumps(value: Any) -> str:
    # Values JSON has no form for (Decimal, dates, UUIDs in a list[...] field) are written
    # in Pydantic's JSON form, which the field's validator reads back exactly: a Decimal
    # as its string, never as a lossy number. NaN and infinities are not JSON: no
    # database's JSON functions read them, so they are refused before any write.
    try:
        return json.dumps(
            value,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=to_jsonable_python,
        )
    except ValueError as exc:
        raise DataError(f"JSON cannot hold NaN or infinity: {exc}") from None


def float_value(value: Any) -> Any:
    # SQLite stores a NaN REAL as NULL: refuse it rather than read back None
    if value != value:
        raise DataError("SQLite cannot store NaN (it would read back as NULL)")
    return value


def enum_value(value: Any) -> Any:
    # a member binds as its value; a plain str (already the value) passes through.
    # _value_ is a plain attribute; .value goes through a descriptor at twice the cost
    return value._value_ if isinstance(value, Enum) else value


# -- converters (stored value -> Python value) -------------------------------------------


# bool itself: the same result without a Python frame per value
int_to_bool: Adapter = bool


# compiled with the row loop (it runs once per row and column): see oxyde/_speedups/rowload.py
text_to_datetime: Adapter = _impl.rowload.text_to_datetime


def text_to_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def text_to_time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def micros_to_timedelta(value: Any) -> timedelta:
    return timedelta(microseconds=int(value))


def to_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    # str() first: Decimal(0.1) would carry the float's binary error
    return Decimal(str(value))


def json_loads(value: Any) -> Any:
    if isinstance(value, str | bytes | bytearray):
        return json.loads(value)
    return value


ADAPTERS: dict[str, Adapter] = {
    "float": float_value,
    "bool": bool_to_int,
    "datetime": datetime_to_text,
    "datetime_next": datetime_next_text,
    "date": date_to_text,
    "time": time_to_text,
    "time_next": time_next_text,
    "timedelta": timedelta_to_micros,
    "uuid": to_str,
    "decimal": to_str,
    "json": json_dumps,
    "array": json_dumps,
    "enum": enum_value,
}


def text_to_instant(value: Any) -> datetime:
    """Instants are stored as their UTC wall time; text with an offset is converted."""
    result = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if result.tzinfo is None:
        return result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


CONVERTERS: dict[str, Adapter] = {
    "datetime_tz": text_to_instant,
    "bool": int_to_bool,
    "datetime": text_to_datetime,
    "date": text_to_date,
    "time": text_to_time,
    "timedelta": micros_to_timedelta,
    "uuid": to_uuid,
    "decimal": to_decimal,
    "json": json_loads,
    "array": json_loads,
}

#: DDL type per kind; ``{n}``, ``{p}``, ``{s}`` are filled in by ``oxyde/sql/ddl.py``.
TYPE_NAMES: dict[str, str] = {
    "int": "INTEGER",
    "auto_pk": "INTEGER",
    "float": "REAL",
    "bool": "INTEGER",
    "str": "VARCHAR({n})",
    "bytes": "BLOB",
    "datetime": "TEXT",
    "date": "TEXT",
    "time": "TEXT",
    "timedelta": "INTEGER",
    "uuid": "TEXT",
    "decimal": "TEXT",
    "decimal_sized": "TEXT",
    "json": "TEXT",
    "array": "TEXT",
    "enum": "TEXT",
    "any": "TEXT",
}

_JSON_TEXT = ("json_extract(", ARG, ", ", PATH_TEXT, ")")
_JSON_TYPE = ("json_type(", ARG, ", ", PATH_TEXT, ")")
_LIKE_ESCAPE = " ESCAPE '\\'"


def _nul_safe_like(operator: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # SQLite's LIKE stops reading a value at its first NUL: values holding one go to the
    # connection's oxyde_like(), which reads all of it. (On SQLite LIKE folds ASCII case
    # and LOWER() only ASCII, as oxyde_like does.)
    return (
        "CASE WHEN instr(",
        ARG,
        ", char(0)) > 0 THEN oxyde_like(",
        ARG2,
        ", ",
        ARG,
        ") ELSE ",
        *operator,
        " END",
    )


SYNTAX = Syntax(
    marker="?",
    numbered=False,
    cast_text=("CAST(", ARG, " AS TEXT)"),
    cast_float=("CAST(", ARG, " AS REAL)"),
    # datetimes are stored as ISO text; strftime reads it (and any offset)
    extract={
        part: (f"CAST(strftime('{fmt}', ", ARG, ") AS INTEGER)")
        for part, fmt in (("year", "%Y"), ("month", "%m"), ("day", "%d"), ("hour", "%H"))
    },
    like=_nul_safe_like((ARG, " LIKE ", ARG2, _LIKE_ESCAPE)),
    ilike=_nul_safe_like(("LOWER(", ARG, ") LIKE LOWER(", ARG2, ")", _LIKE_ESCAPE)),
    # REGEXP is the backend's Python ``re`` function: an inline flag makes it ci
    regex=(ARG, " REGEXP ", ARG2),
    iregex=(ARG, " REGEXP ('(?i)' || ", ARG2, ")"),
    json_text=_JSON_TEXT,
    json_has=(*_JSON_TYPE, " IS NOT NULL"),
    json_cmp={
        "str": json_compare(_JSON_TYPE, ("text",), _JSON_TEXT),
        "num": json_compare(_JSON_TYPE, ("integer", "real"), _JSON_TEXT),
        # json_extract reads true/false as 1/0; json_type names them
        "bool": json_compare(_JSON_TYPE, ("true", "false"), _JSON_TYPE),
        "null": json_type_test(_JSON_TYPE, ("null",)),
    },
    # no row locks on SQLite (``row_locks``)
)

DDL_STYLE = DdlStyle(
    enum_types=False,
    inline_foreign_keys=True,
    inline_indexes=False,
    comments="none",
    table_options="",
    index_methods=False,
    partial_indexes=True,
    index_schema_on_name=True,
    schema_in_references=False,
    drop_cascade=False,
    backslash_escapes=False,
    hex_bytes_prefix=False,
    alter="rebuild",
)

SQLITE = Dialect(
    name="sqlite",
    quote='"',
    placeholder="qmark",
    array_in=False,
    # RETURNING needs SQLite 3.35+; apsw bundles a newer one
    returning=True,
    row_locks=False,
    random_sql="RANDOM()",
    offset_only_limit="-1",
    concat_style="pipes",
    true_sql="1 = 1",
    false_sql="1 = 0",
    upsert_style="on_conflict",
    syntax=SYNTAX,
    ddl=DDL_STYLE,
    adapters=ADAPTERS,
    converters=CONVERTERS,
    type_names=TYPE_NAMES,
    store_checks={"decimal": STORE_DECIMAL, "int": STORE_INT},
    decimal_arith=DECIMAL_ARITH,
    text_ranges=frozenset({"datetime", "time"}),
    # SQLITE_LIMIT_VARIABLE_NUMBER since SQLite 3.32 (apsw bundles a newer one)
    max_params=32_766,
    # apsw keeps prepared statements of up to 16 KB of SQL only (cache_stats()
    # "max_cacheable_bytes"); an IN list costs 3 bytes a key (", ?"). 4,000 keys leave room
    # for the rest of the SELECT, so every full batch reuses one prepared statement: 20,000
    # keys as five cached 4,000-key statements took half the time of one 20,000-key
    # statement prepared afresh each time.
    in_batch=4_000,
)
