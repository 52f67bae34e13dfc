"""Golden SQL and bound parameters for PostgreSQL (``$n`` placeholders, arrays for IN)."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from oxyde.sql import POSTGRES, render
from oxyde.sql.ir import Node
from tests.support.irkit import col, p, select, sql_helpers

where, expr = sql_helpers(POSTGRES)


STATEMENTS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (
        select(
            cols=((col("id"), None), (col("name"), "n")),
            where=(
                "and",
                (("cmp", "=", col("a"), p(0, "int")), ("cmp", "<", col("b"), p(1, "int"))),
            ),
            order_by=((col("name"), False), (col("id"), True)),
            limit=p(2, "int"),
            offset=p(3, "int"),
            distinct=True,
        ),
        [1, 2, 10, 20],
        'SELECT DISTINCT "id", "name" AS "n" FROM "t" WHERE "a" = $1 AND "b" < $2 '
        'ORDER BY "name", "id" DESC LIMIT $3 OFFSET $4',
        [1, 2, 10, 20],
    ),
    # OFFSET alone is valid here
    (select(offset=p(0, "int")), [5], 'SELECT * FROM "t" OFFSET $1', [5]),
    (
        select(lock=("update", False, False, ())),
        [],
        'SELECT * FROM "t" FOR UPDATE',
        [],
    ),
    (
        select(lock=("update", True, False, ("t", "u"))),
        [],
        'SELECT * FROM "t" FOR UPDATE OF "t", "u" NOWAIT',
        [],
    ),
    (
        select(limit=p(0, "int"), lock=("share", False, True, ())),
        [1],
        'SELECT * FROM "t" LIMIT $1 FOR SHARE SKIP LOCKED',
        [1],
    ),
    (
        select(
            src=(
                "table",
                "t",
                "app",
                "a",
                (
                    (
                        "join",
                        "LEFT",
                        "u",
                        "app",
                        "b",
                        ("cmp", "=", col("u_id", "a"), col("id", "b")),
                    ),
                ),
            ),
            cols=((col("id", "a"), None), (col("name", "b"), "b__name")),
            where=("cmp", "=", col("name", "b"), p(0, "str")),
        ),
        ["x"],
        'SELECT "a"."id", "b"."name" AS "b__name" FROM "app"."t" AS "a" '
        'LEFT JOIN "app"."u" AS "b" ON "a"."u_id" = "b"."id" WHERE "b"."name" = $1',
        ["x"],
    ),
    (
        select(src=("table", 'we"ird', None, None, ()), cols=((col('co"l'), "x%y"),)),
        [],
        'SELECT "co""l" AS "x%y" FROM "we""ird"',
        [],
    ),
    (select(order_by=((("random",), False),)), [], 'SELECT * FROM "t" ORDER BY RANDOM()', []),
    (
        ("insert", "t", None, ("a", "b"), ("int", "json"), 2, ("id",), None),
        [1, {"k": 1}, 2, None],
        'INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4) RETURNING "id"',
        [1, '{"k":1}', 2, None],
    ),
    (
        ("insert", "t", None, (), (), 1, ("id",), None),
        [],
        'INSERT INTO "t" DEFAULT VALUES RETURNING "id"',
        [],
    ),
    (
        ("insert", "t", None, ("a",), ("int",), 1, None, ("ignore", ())),
        [1],
        'INSERT INTO "t" ("a") VALUES ($1) ON CONFLICT DO NOTHING',
        [1],
    ),
    (
        ("insert", "t", None, ("a",), ("int",), 1, None, ("ignore", ("a",))),
        [1],
        'INSERT INTO "t" ("a") VALUES ($1) ON CONFLICT ("a") DO NOTHING',
        [1],
    ),
    (
        (
            "insert",
            "t",
            None,
            ("a", "b", "c"),
            ("int",) * 3,
            2,
            ("id",),
            ("update", ("a", "b"), ("c",)),
        ),
        [1, 2, 3, 4, 5, 6],
        'INSERT INTO "t" ("a", "b", "c") VALUES ($1, $2, $3), ($4, $5, $6) '
        'ON CONFLICT ("a", "b") DO UPDATE SET "c" = EXCLUDED."c" RETURNING "id"',
        [1, 2, 3, 4, 5, 6],
    ),
    (
        (
            "update",
            "t",
            None,
            (("a", p(0, "int")), ("b", ("op", "*", col("b"), p(1, "int")))),
            ("in", col("id"), "int", 2, 2),
            ("id",),
        ),
        [1, 2, [7, 8]],
        'UPDATE "t" SET "a" = $1, "b" = ("b" * $2) WHERE "id" = ANY($3) RETURNING "id"',
        [1, 2, [7, 8]],
    ),
    (
        ("delete", "t", "app", ("cmp", "=", col("id"), p(0, "int")), ("id",)),
        [1],
        'DELETE FROM "app"."t" WHERE "id" = $1 RETURNING "id"',
        [1],
    ),
    (
        (
            "union",
            (
                select(cols=((col("a"), None),), where=("cmp", ">", col("a"), p(0, "int"))),
                select(
                    cols=((col("a"), None),),
                    where=("cmp", "<", col("a"), p(1, "int")),
                    order_by=((col("a"), True),),
                    limit=p(2, "int"),
                ),
            ),
            (True,),
            ((col("a"), True),),
            p(3, "int"),
            None,
        ),
        [0, 9, 3, 10],
        'SELECT "a" FROM "t" WHERE "a" > $1 UNION ALL '
        'SELECT * FROM (SELECT "a" FROM "t" WHERE "a" < $2 ORDER BY "a" DESC LIMIT $3) AS "_u1" '
        'ORDER BY "a" DESC LIMIT $4',
        [0, 9, 3, 10],
    ),
]


@pytest.mark.parametrize(("ir", "values", "sql", "params"), STATEMENTS)
def test_statement_golden(ir: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert render(ir, values, POSTGRES) == (sql, params)


CONDITIONS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (("and", ()), [], "TRUE", []),
    (("or", ()), [], "FALSE", []),
    (
        (
            "or",
            (("cmp", "=", col("a"), p(0)), ("and", (("const", True), ("null", col("b"), False)))),
        ),
        [1],
        '"a" = $1 OR (TRUE AND "b" IS NOT NULL)',
        [1],
    ),
    (("not", ("null", col("a"), True)), [], 'NOT ("a" IS NULL)', []),
    # placeholders inside the subquery are numbered in text order with the rest
    (
        (
            "and",
            (
                ("cmp", "=", col("a"), p(0)),
                ("in_query", col("id"), select(cols=((col("id"), None),), limit=p(1, "int"))),
            ),
        ),
        [1, 5],
        '"a" = $1 AND "id" IN (SELECT "id" FROM "t" LIMIT $2)',
        [1, 5],
    ),
    # one array parameter whatever the list length: the text stays the same
    (("in", col("a"), "int", 0, 0), [[]], "FALSE", []),
    (("in", col("a"), "int", 0, 1), [[1]], '"a" = ANY($1)', [[1]]),
    (("in", col("a"), "int", 0, 3), [(1, 2, 3)], '"a" = ANY($1)', [[1, 2, 3]]),
    (("not", ("in", col("a"), "int", 0, 0)), [[]], "NOT (FALSE)", []),
    (("between", col("a"), p(0), p(1)), [1, 2], '"a" BETWEEN $1 AND $2', [1, 2]),
    (("const", True), [], "TRUE", []),
    (("like", col("n"), p(0, "str"), False), ["a%"], "\"n\" LIKE $1 ESCAPE '\\'", ["a%"]),
    (
        ("like", col("n"), p(0, "str"), True),
        ["a%"],
        "LOWER(\"n\") LIKE LOWER($1) ESCAPE '\\'",
        ["a%"],
    ),
    (("regex", col("n"), p(0, "str"), False), ["^a"], '"n" ~ $1', ["^a"]),
    (("regex", col("n"), p(0, "str"), True), ["^a"], '"n" ~* $1', ["^a"]),
]


@pytest.mark.parametrize(("cond", "values", "sql", "params"), CONDITIONS)
def test_condition_golden(cond: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert where(cond, values) == (sql, params)


EXPRESSIONS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (("agg", "AVG", col("a"), False), [], 'AVG("a")', []),
    (("agg", "MAX", col("a", "x"), True), [], 'MAX(DISTINCT "x"."a")', []),
    (("fn", "UPPER", (col("a"),)), [], 'UPPER("a")', []),
    (("op", "/", col("a"), p(0, "int")), [2], '("a" / $1)', [2]),
    (("neg", ("op", "-", col("a"), col("b"))), [], '(-("a" - "b"))', []),
    (("raw", "a % 2"), [], "(a % 2)", []),
    (("lit", "1"), [], "1", []),
    (("concat", (col("a"), col("b")), p(0, "str")), [" "], '("a" || $1 || "b")', [" "]),
    # the key path is one text[] parameter
    (
        ("json_get", col("data"), 0, "str"),
        [("a", 0, "b")],
        '("data" #>> CAST($1 AS TEXT[]))',
        [["a", "0", "b"]],
    ),
]


@pytest.mark.parametrize(("node", "values", "sql", "params"), EXPRESSIONS)
def test_expression_golden(node: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert expr(node, values) == (sql, params)


def test_placeholders_are_numbered_in_text_order() -> None:
    # values referenced out of order and more than once
    cond = (
        "and",
        (
            ("cmp", "=", col("a"), p(2, "int")),
            ("in", col("b"), "int", 0, 2),
            ("cmp", "=", col("c"), p(2, "int")),
        ),
    )
    assert where(cond, [[5, 6], "unused", 9]) == (
        '"a" = $1 AND "b" = ANY($2) AND "c" = $3',
        [9, [5, 6], 9],
    )


class Mood(enum.Enum):
    HAPPY = "happy"


def test_values_are_adapted_per_kind() -> None:
    cond = (
        "and",
        (
            ("cmp", "=", col("a"), p(0, "enum")),
            ("cmp", "=", col("b"), p(1, "json")),
            ("in", col("c"), "enum", 2, 2),
            ("cmp", "=", col("d"), p(3, "array")),
            ("cmp", "=", col("e"), p(4, "bool")),
        ),
    )
    _, params = where(cond, [Mood.HAPPY, [1, "é"], [Mood.HAPPY, None], [Mood.HAPPY], True])
    assert params == ["happy", '[1,"é"]', ["happy", None], ["happy"], True]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("json", '{"a": 1}', {"a": 1}),
        ("json", {"a": 1}, {"a": 1}),
    ],
)
def test_converters(kind: str, value: Any, expected: Any) -> None:
    out = POSTGRES.converters[kind](value)
    assert out == expected and type(out) is type(expected)


def test_upsert_needs_a_conflict_target() -> None:
    ir = ("insert", "t", None, ("a",), ("int",), 1, None, ("update", (), ("a",)))
    with pytest.raises(ValueError, match="needs conflict target columns"):
        render(ir, [1], POSTGRES)
