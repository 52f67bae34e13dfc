"""The SQLite dialect: syntax flags, and how each value kind is stored as INTEGER/REAL/TEXT.

SQLite has no date, UUID, decimal or JSON types, so those kinds are stored as text in a
form whose text order matches the value order where that matters (datetimes: aware
values are stored in UTC; times always carry microseconds) and read back into the exact
Python type. The value helpers here are shared by the MySQL dialect.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from oxyde.sql.dialects.base import Adapter, Dialect

__all__ = ["SQLITE"]


# -- adapters (Python value -> stored value) ---------------------------------------------


def bool_to_int(value: Any) -> int:
    return 1 if value else 0


def datetime_to_text(value: datetime) -> str:
    # one fixed-width form per instant, so comparing the text compares the times
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")


def date_to_text(value: date) -> str:
    return value.isoformat()


def time_to_text(value: time) -> str:
    return value.isoformat("microseconds")


def timedelta_to_micros(value: timedelta) -> int:
    # integer arithmetic: total_seconds() would round through a float
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def to_str(value: Any) -> str:
    return str(value)


def json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def enum_value(value: Any) -> Any:
    # a member binds as its value; a plain str (already the value) passes through.
    # _value_ is a plain attribute; .value goes through a descriptor at twice the cost
    return value._value_ if isinstance(value, Enum) else value


# -- converters (stored value -> Python value) -------------------------------------------


def int_to_bool(value: Any) -> bool:
    return bool(value)


def text_to_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


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
    "bool": bool_to_int,
    "datetime": datetime_to_text,
    "date": date_to_text,
    "time": time_to_text,
    "timedelta": timedelta_to_micros,
    "uuid": to_str,
    "decimal": to_str,
    "json": json_dumps,
    "array": json_dumps,
    "enum": enum_value,
}


def text_to_instant(value: Any) -> datetime:
    """Instants are stored as UTC text with their offset; older naive text counts as UTC."""
    result = text_to_datetime(value)
    return result if result.tzinfo is not None else result.replace(tzinfo=UTC)


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
    like_escape="ESCAPE '\\'",
    concat_style="pipes",
    true_sql="1 = 1",
    false_sql="1 = 0",
    upsert_style="on_conflict",
    adapters=ADAPTERS,
    converters=CONVERTERS,
    type_names=TYPE_NAMES,
)
