"""The MySQL / MariaDB dialect: syntax flags and value adapters and converters.

Booleans are TINYINT(1), UUIDs CHAR(36), durations BIGINT microseconds and JSON text,
so those kinds are adapted both ways. DATETIME(6) has no time zone: an aware value is
stored as its UTC wall time and reads back naive (documented: such columns hold UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from oxyde.sql.dialects.base import Adapter, Dialect
from oxyde.sql.dialects.postgres import array_items
from oxyde.sql.dialects.sqlite import (
    bool_to_int,
    enum_value,
    int_to_bool,
    json_dumps,
    json_loads,
    micros_to_timedelta,
    timedelta_to_micros,
    to_str,
    to_uuid,
)

__all__ = ["MYSQL"]


def datetime_to_utc_naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def array_to_json(value: Any) -> str:
    return json_dumps(array_items(value))


def to_time(value: Any) -> time:
    # the driver returns TIME columns as a timedelta since midnight
    if isinstance(value, timedelta):
        micros = timedelta_to_micros(value)
        seconds, micro = divmod(micros, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return time(hour, minute, second, micro)
    return value if isinstance(value, time) else time.fromisoformat(str(value))


ADAPTERS: dict[str, Adapter] = {
    "bool": bool_to_int,
    "datetime": datetime_to_utc_naive,
    "timedelta": timedelta_to_micros,
    "uuid": to_str,
    "json": json_dumps,
    "array": array_to_json,
    "enum": enum_value,
}


def attach_utc(value: Any) -> Any:
    """DATETIME keeps no offset: instants are stored in UTC and read back as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


CONVERTERS: dict[str, Adapter] = {
    "datetime_tz": attach_utc,
    "bool": int_to_bool,
    "time": to_time,
    "timedelta": micros_to_timedelta,
    "uuid": to_uuid,
    "json": json_loads,
    "array": json_loads,
}

#: DDL type per kind; ``{n}``, ``{p}``, ``{s}``, ``{values}`` are filled in by ``ddl.py``.
TYPE_NAMES: dict[str, str] = {
    "int": "BIGINT",
    "auto_pk": "BIGINT AUTO_INCREMENT",
    "float": "DOUBLE",
    "bool": "TINYINT(1)",
    "str": "VARCHAR({n})",
    "bytes": "LONGBLOB",
    "datetime": "DATETIME(6)",
    "date": "DATE",
    "time": "TIME(6)",
    "timedelta": "BIGINT",
    "uuid": "CHAR(36)",
    "decimal": "DECIMAL(65,30)",
    "decimal_sized": "DECIMAL({p},{s})",
    "json": "JSON",
    "array": "JSON",
    "enum": "ENUM({values})",
    "any": "TEXT",
}


def _scan(sql: str) -> tuple[list[int], bool]:
    """Where ``?`` placeholders stand in ``sql`` (outside literals, quoted identifiers
    and comments), and whether a ``%s`` placeholder stands there."""
    marks: list[int] = []
    has_format = False
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i += 1
            while i < n:
                if sql[i] == "\\" and c != "`":
                    i += 2
                    continue
                if sql[i] == c:
                    if i + 1 < n and sql[i + 1] == c:
                        i += 2
                        continue
                    break
                i += 1
        elif c == "#" or (c == "-" and sql.startswith("-- ", i)):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif c == "?":
            marks.append(i)
        elif c == "%" and sql.startswith("%s", i):
            has_format = True
            i += 1
        i += 1
    return marks, has_format


def raw_sql(sql: str) -> str:
    """``execute_raw`` SQL as mysqlclient takes it. The driver %-formats every statement:
    SQL with ``?`` placeholders (the public Oxyde's style here) or none has them turned
    into ``%s`` and every literal ``%`` doubled; SQL already written with ``%s``
    placeholders is left as written (a literal ``%`` there is ``%%``)."""
    marks, has_format = _scan(sql)
    if has_format and not marks:
        return sql
    out: list[str] = []
    start = 0
    for at in marks:
        out.append(sql[start:at].replace("%", "%%"))
        out.append("%s")
        start = at + 1
    out.append(sql[start:].replace("%", "%%"))
    return "".join(out)


MYSQL = Dialect(
    name="mysql",
    quote="`",
    placeholder="format",
    array_in=False,
    returning=False,
    row_locks=True,
    random_sql="RAND()",
    offset_only_limit="18446744073709551615",
    # a MySQL string literal: '\\' is one backslash
    like_escape="ESCAPE '\\\\'",
    concat_style="concat",
    true_sql="TRUE",
    false_sql="FALSE",
    upsert_style="on_duplicate_key",
    adapters=ADAPTERS,
    converters=CONVERTERS,
    type_names=TYPE_NAMES,
    raw_sql=raw_sql,
)
