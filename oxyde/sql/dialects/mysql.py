"""The MySQL / MariaDB dialect: syntax flags and value adapters and converters.

Booleans are TINYINT(1), UUIDs CHAR(36), durations BIGINT microseconds and JSON text,
so those kinds are adapted both ways. DATETIME(6) has no time zone: an aware value is
stored as its UTC wall time and reads back naive (documented: such columns hold UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

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

__all__ = ["DDL_STYLE", "MYSQL", "SYNTAX"]


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


_JSON_EXTRACT = ("JSON_EXTRACT(", ARG, ", ", PATH_TEXT, ")")
_JSON_TEXT = ("JSON_UNQUOTE(", *_JSON_EXTRACT, ")")
_JSON_TYPE = ("JSON_TYPE(", *_JSON_EXTRACT, ")")
# a MySQL string literal: '\\' is one backslash
_LIKE_ESCAPE = " ESCAPE '\\\\'"

SYNTAX = Syntax(
    marker="%s",
    numbered=False,
    # MySQL's CAST knows CHAR, not TEXT
    cast_text=("CAST(", ARG, " AS CHAR)"),
    cast_float=("CAST(", ARG, " AS DOUBLE)"),
    extract={
        part: (f"CAST(EXTRACT({part.upper()} FROM ", ARG, ") AS SIGNED)")
        for part in ("year", "month", "day", "hour")
    },
    # MySQL compares with the column's (usually case-insensitive) collation
    like=(ARG, " LIKE BINARY ", ARG2, _LIKE_ESCAPE),
    ilike=("LOWER(", ARG, ") LIKE LOWER(", ARG2, ")", _LIKE_ESCAPE),
    # REGEXP follows the collation (case-insensitive by default): say it explicitly.
    # Lower-casing the pattern instead would turn \D into \d.
    regex=(ARG, " REGEXP CONCAT('(?-i)', ", ARG2, ")"),
    iregex=(ARG, " REGEXP CONCAT('(?i)', ", ARG2, ")"),
    json_text=_JSON_TEXT,
    # JSON_EXTRACT gives SQL NULL only for a missing path, a JSON null otherwise
    json_has=(*_JSON_EXTRACT, " IS NOT NULL"),
    json_cmp={
        # JSON strings compare exactly, not under the column's collation
        "str": json_compare(_JSON_TYPE, ("STRING",), _JSON_TEXT, ("CAST(", ARG2, " AS BINARY)")),
        "num": json_compare(
            _JSON_TYPE,
            ("INTEGER", "UNSIGNED INTEGER", "DOUBLE", "DECIMAL"),
            ("CAST(", *_JSON_TEXT, " AS DOUBLE)"),
        ),
        "bool": json_compare(_JSON_TYPE, ("BOOLEAN",), _JSON_TEXT),
        "null": json_type_test(_JSON_TYPE, ("NULL",)),
    },
    # MariaDB knows neither FOR SHARE nor OF; MySQL 8 accepts the older spelling. Without
    # OF every joined table's rows are locked: more, never less.
    lock_share=" LOCK IN SHARE MODE",
    lock_of=False,
    insert_defaults=" () VALUES ()",
    insert_defaults_more=", ()",
)

DDL_STYLE = DdlStyle(
    enum_types=False,
    inline_foreign_keys=False,
    inline_indexes=True,
    comments="inline",
    table_options=" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    index_methods=False,
    partial_indexes=False,
    index_schema_on_name=False,
    schema_in_references=True,
    drop_cascade=False,
    backslash_escapes=True,
    hex_bytes_prefix=False,
    expression_default_kinds=frozenset({"json", "array", "bytes", "any"}),
    alter="restate",
)

MYSQL = Dialect(
    name="mysql",
    quote="`",
    placeholder="format",
    array_in=False,
    returning=False,
    row_locks=True,
    random_sql="RAND()",
    offset_only_limit="18446744073709551615",
    concat_style="concat",
    true_sql="TRUE",
    false_sql="FALSE",
    upsert_style="on_duplicate_key",
    syntax=SYNTAX,
    ddl=DDL_STYLE,
    adapters=ADAPTERS,
    converters=CONVERTERS,
    type_names=TYPE_NAMES,
    raw_sql=raw_sql,
    # a prepared statement's limit; mysqlclient binds client-side, where the
    # bound is max_allowed_packet (16 MiB and more by default): 65,535 small values fit
    max_params=65_535,
)
