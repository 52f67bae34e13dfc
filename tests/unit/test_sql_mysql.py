"""Golden SQL and bound parameters for MySQL / MariaDB (``%s`` placeholders, backticks)."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from oxyde.sql import MYSQL, render
from oxyde.sql.ir import Node
from tests.support.irkit import col, p, select, sql_helpers

where, expr = sql_helpers(MYSQL)


STATEMENTS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (
        select(
            cols=((col("id"), None),),
            where=("cmp", "=", col("a"), p(0, "int")),
            order_by=((col("id"), True),),
            limit=p(1, "int"),
            offset=p(2, "int"),
        ),
        [1, 10, 20],
        "SELECT `id` FROM `t` WHERE `a` = %s ORDER BY `id` DESC LIMIT %s OFFSET %s",
        [1, 10, 20],
    ),
    # OFFSET needs a LIMIT: the largest one MySQL takes
    (
        select(offset=p(0, "int")),
        [5],
        "SELECT * FROM `t` LIMIT 18446744073709551615 OFFSET %s",
        [5],
    ),
    (
        select(lock=("update", False, True, ())),
        [],
        "SELECT * FROM `t` FOR UPDATE SKIP LOCKED",
        [],
    ),
    # MariaDB has neither FOR SHARE nor OF: the spelling both servers accept
    (
        select(lock=("share", True, False, ("t",))),
        [],
        "SELECT * FROM `t` LOCK IN SHARE MODE NOWAIT",
        [],
    ),
    (
        select(src=("table", "we`ird", "db", "a", ()), cols=((col("co`l", "a"), "o`ut"),)),
        [],
        "SELECT `a`.`co``l` AS `o``ut` FROM `db`.`we``ird` AS `a`",
        [],
    ),
    # with %s placeholders every literal % in the text is doubled
    (
        select(
            src=("table", "100%", None, None, ()),
            cols=((col("x%y"), "p%"), (("raw", "price % 7"), None)),
            where=("cmp", "=", ("op", "%", col("a"), ("lit", "2")), p(0, "int")),
        ),
        [1],
        "SELECT `x%%y` AS `p%%`, (price %% 7) FROM `100%%` WHERE (`a` %% 2) = %s",
        [1],
    ),
    (select(order_by=((("random",), False),)), [], "SELECT * FROM `t` ORDER BY RAND()", []),
    (
        ("insert", "t", None, ("a", "b"), ("int", "bool"), 2, None, None),
        [1, True, 2, False],
        "INSERT INTO `t` (`a`, `b`) VALUES (%s, %s), (%s, %s)",
        [1, 1, 2, 0],
    ),
    (
        ("insert", "t", None, (), (), 2, None, None),
        [],
        "INSERT INTO `t` () VALUES (), ()",
        [],
    ),
    (
        ("insert", "t", None, ("a",), ("int",), 1, None, ("ignore", ("a",))),
        [1],
        "INSERT INTO `t` (`a`) VALUES (%s) ON DUPLICATE KEY UPDATE `a` = `a`",
        [1],
    ),
    (
        (
            "insert",
            "t",
            None,
            ("a", "b", "c"),
            ("int",) * 3,
            1,
            None,
            ("update", ("a",), ("b", "c")),
        ),
        [1, 2, 3],
        "INSERT INTO `t` (`a`, `b`, `c`) VALUES (%s, %s, %s) "
        "ON DUPLICATE KEY UPDATE `b` = VALUES(`b`), `c` = VALUES(`c`)",
        [1, 2, 3],
    ),
    (
        (
            "update",
            "t",
            None,
            (("a", p(0, "int")), ("b", ("op", "+", col("b"), p(1, "int")))),
            ("in", col("id"), "int", 2, 2),
            None,
        ),
        [1, 2, [7, 8]],
        "UPDATE `t` SET `a` = %s, `b` = (`b` + %s) WHERE `id` IN (%s, %s)",
        [1, 2, 7, 8],
    ),
    (
        ("delete", "t", "db", ("cmp", "=", col("id"), p(0, "int")), None),
        [1],
        "DELETE FROM `db`.`t` WHERE `id` = %s",
        [1],
    ),
    (
        (
            "union",
            (
                select(cols=((col("a"), None),), limit=p(0, "int")),
                select(cols=((col("a"), None),)),
            ),
            (False,),
            ((col("a"), False),),
            None,
            p(1, "int"),
        ),
        [3, 4],
        "SELECT * FROM (SELECT `a` FROM `t` LIMIT %s) AS `_u0` UNION SELECT `a` FROM `t` "
        "ORDER BY `a` LIMIT 18446744073709551615 OFFSET %s",
        [3, 4],
    ),
]


@pytest.mark.parametrize(("ir", "values", "sql", "params"), STATEMENTS)
def test_statement_golden(ir: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert render(ir, values, MYSQL) == (sql, params)


def test_returning_is_refused() -> None:
    # the caller emulates RETURNING on MySQL; asking for it is a bug, not a silent drop
    with pytest.raises(ValueError, match=r"does not support delete \.\.\. RETURNING"):
        render(("delete", "t", None, None, ("id",)), [], MYSQL)


def test_mariadb_returning_on_insert_and_delete_only() -> None:
    mariadb = dataclasses.replace(MYSQL, returning_on=frozenset({"insert", "delete"}))
    insert = ("insert", "t", None, ("a",), ("int",), 1, ("id",), None)
    delete = ("delete", "t", None, None, ("id", "a"))
    update = ("update", "t", None, (("a", p(0, "int")),), None, ("id",))
    assert render(insert, [1], mariadb) == ("INSERT INTO `t` (`a`) VALUES (%s) RETURNING `id`", [1])
    assert render(delete, [], mariadb) == ("DELETE FROM `t` RETURNING `id`, `a`", [])
    with pytest.raises(ValueError, match=r"does not support update \.\.\. RETURNING"):
        render(update, [1], mariadb)


CONDITIONS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (("and", ()), [], "TRUE", []),
    (("or", ()), [], "FALSE", []),
    (("in", col("a"), "int", 0, 0), [[]], "FALSE", []),
    (("in", col("a"), "int", 0, 1), [[1]], "`a` IN (%s)", [1]),
    (("in", col("a"), "int", 0, 3), [[1, 2, 3]], "`a` IN (%s, %s, %s)", [1, 2, 3]),
    (
        ("in", col("a"), "uuid", 0, 2),
        [[uuid.UUID(int=1), uuid.UUID(int=2)]],
        "`a` IN (%s, %s)",
        ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"],
    ),
    # case-sensitive LIKE whatever the column's collation; '\\' is one backslash in MySQL
    (("like", col("n"), p(0, "str"), False), ["a%"], "`n` LIKE BINARY %s ESCAPE '\\\\'", ["a%"]),
    (
        ("like", col("n"), p(0, "str"), True),
        ["a%"],
        "LOWER(`n`) LIKE LOWER(%s) ESCAPE '\\\\'",
        ["a%"],
    ),
    (("regex", col("n"), p(0, "str"), False), ["^a"], "`n` REGEXP CONCAT('(?-i)', %s)", ["^a"]),
    (("regex", col("n"), p(0, "str"), True), ["^a"], "`n` REGEXP CONCAT('(?i)', %s)", ["^a"]),
    (("between", col("a"), p(0), p(1)), [1, 2], "`a` BETWEEN %s AND %s", [1, 2]),
    (("null", col("a"), True), [], "`a` IS NULL", []),
    (
        (
            "in_query",
            col("id"),
            select(
                src=("subquery", select(cols=((col("id"), "pk"),), limit=p(0, "int")), "_pks"),
                cols=((col("pk", "_pks"), None),),
            ),
        ),
        [2],
        "`id` IN (SELECT `_pks`.`pk` FROM (SELECT `id` AS `pk` FROM `t` LIMIT %s) AS `_pks`)",
        [2],
    ),
]


@pytest.mark.parametrize(("cond", "values", "sql", "params"), CONDITIONS)
def test_condition_golden(cond: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert where(cond, values) == (sql, params)


EXPRESSIONS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (("concat", (col("a"), col("b")), None), [], "CONCAT(`a`, `b`)", []),
    (
        ("concat", (col("a"), col("b"), col("c")), p(0, "str")),
        ["-"],
        "CONCAT(`a`, %s, `b`, %s, `c`)",
        ["-", "-"],
    ),
    (("agg", "COUNT", col("a"), True), [], "COUNT(DISTINCT `a`)", []),
    (("fn", "LENGTH", (col("a"),)), [], "LENGTH(`a`)", []),
    (
        ("json_get", col("data"), 0, "str"),
        [("a", 1, 'q"')],
        "JSON_UNQUOTE(JSON_EXTRACT(`data`, %s))",
        ['$."a"[1]."q\\""'],
    ),
]


@pytest.mark.parametrize(("node", "values", "sql", "params"), EXPRESSIONS)
def test_expression_golden(node: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert expr(node, values) == (sql, params)


class Size(enum.Enum):
    S = "s"


@pytest.mark.parametrize(
    ("kind", "value", "bound"),
    [
        ("bool", True, 1),
        ("uuid", uuid.UUID(int=3), "00000000-0000-0000-0000-000000000003"),
        ("json", {"a": "é"}, '{"a":"é"}'),
        ("array", [Size.S, 1], '["s",1]'),
        ("enum", Size.S, "s"),
        ("timedelta", timedelta(seconds=1, microseconds=5), 1_000_005),
        # DATETIME(6) has no zone: aware values are stored as their UTC wall time
        (
            "datetime",
            datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=3))),
            datetime(2024, 1, 1, 9, 0),
        ),
        ("datetime", datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 1, 12, 0)),
        ("decimal", Decimal("1.5"), Decimal("1.5")),
    ],
)
def test_values_are_adapted_per_kind(kind: str, value: Any, bound: Any) -> None:
    assert where(("cmp", "=", col("a"), p(0, kind)), [value])[1] == [bound]


@pytest.mark.parametrize(
    ("kind", "stored", "expected"),
    [
        ("bool", 1, True),
        ("bool", 0, False),
        ("uuid", "00000000-0000-0000-0000-000000000003", uuid.UUID(int=3)),
        ("json", '{"a": [1]}', {"a": [1]}),
        ("json", b'{"a": [1]}', {"a": [1]}),
        ("array", "[1, 2]", [1, 2]),
        ("timedelta", 1_000_005, timedelta(seconds=1, microseconds=5)),
        # the driver returns TIME as a timedelta since midnight
        ("time", timedelta(hours=13, minutes=2, seconds=3, microseconds=4), time(13, 2, 3, 4)),
    ],
)
def test_converters(kind: str, stored: Any, expected: Any) -> None:
    out = MYSQL.converters[kind](stored)
    assert out == expected and type(out) is type(expected)


def test_aware_datetime_adapter_keeps_the_instant() -> None:
    value = datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=-2)))
    stored = MYSQL.adapters["datetime"](value)
    assert stored.tzinfo is None and stored.replace(tzinfo=UTC) == value
