"""Golden SQL and bound parameters for SQLite, and every statement run on a real SQLite."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import apsw
import pytest

from oxyde.backends.sqlite import functions
from oxyde.sql import SQLITE, render
from oxyde.sql.ir import Node
from tests.support.irkit import col, p, select, sql_helpers

where, expr = sql_helpers(SQLITE)


# (IR, values, SQL, params): each statement is also executed against SCHEMA below
STATEMENTS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (select(), [], 'SELECT * FROM "t"', []),
    (
        select(
            cols=((col("id"), None), (col("name"), "n")),
            where=("cmp", "=", col("a"), p(0, "int")),
            order_by=((col("name"), False), (col("id"), True)),
            limit=p(1, "int"),
            offset=p(2, "int"),
            distinct=True,
        ),
        [1, 10, 20],
        'SELECT DISTINCT "id", "name" AS "n" FROM "t" WHERE "a" = ? '
        'ORDER BY "name", "id" DESC LIMIT ? OFFSET ?',
        [1, 10, 20],
    ),
    # OFFSET alone is not SQLite syntax: LIMIT -1 means no limit
    (select(offset=p(0, "int")), [5], 'SELECT * FROM "t" LIMIT -1 OFFSET ?', [5]),
    (select(limit=p(0, "int")), [5], 'SELECT * FROM "t" LIMIT ?', [5]),
    # row locks are no-ops on SQLite
    (
        select(lock=("update", True, False, ("t",))),
        [],
        'SELECT * FROM "t"',
        [],
    ),
    (
        select(
            src=(
                "table",
                "t",
                None,
                "a",
                (
                    (
                        "join",
                        "LEFT",
                        "u",
                        None,
                        "b",
                        ("cmp", "=", col("u_id", "a"), col("id", "b")),
                    ),
                    (
                        "join",
                        "INNER",
                        "u",
                        None,
                        "c",
                        ("cmp", "=", col("u_id", "a"), col("id", "c")),
                    ),
                ),
            ),
            cols=((col("*", "a"), None), (col("x%y", "b"), "b__x")),
        ),
        [],
        'SELECT "a".*, "b"."x%y" AS "b__x" FROM "t" AS "a" '
        'LEFT JOIN "u" AS "b" ON "a"."u_id" = "b"."id" '
        'INNER JOIN "u" AS "c" ON "a"."u_id" = "c"."id"',
        [],
    ),
    (
        select(src=("table", 'we"ird', "s", None, ()), cols=((col('co"l'), 'al"ias'),)),
        [],
        'SELECT "co""l" AS "al""ias" FROM "s"."we""ird"',
        [],
    ),
    (
        select(
            cols=((col("g"), None), (("agg", "COUNT", None, False), "n")),
            group_by=(col("g"),),
            having=("cmp", ">", ("agg", "COUNT", None, False), p(0, "int")),
        ),
        [1],
        'SELECT "g", COUNT(*) AS "n" FROM "t" GROUP BY "g" HAVING COUNT(*) > ?',
        [1],
    ),
    (
        select(src=("subquery", select(where=("const", True)), "sq"), where=("const", False)),
        [],
        'SELECT * FROM (SELECT * FROM "t" WHERE 1 = 1) AS "sq" WHERE 1 = 0',
        [],
    ),
    (
        select(order_by=((("random",), False),)),
        [],
        'SELECT * FROM "t" ORDER BY RANDOM()',
        [],
    ),
    (
        ("insert", "t", None, ("a", "b"), ("int", "bool"), 2, ("id",), None),
        [1, True, 2, False],
        'INSERT INTO "t" ("a", "b") VALUES (?, ?), (?, ?) RETURNING "id"',
        [1, 1, 2, 0],
    ),
    (
        ("insert", "t", None, (), (), 1, ("id",), None),
        [],
        'INSERT INTO "t" DEFAULT VALUES RETURNING "id"',
        [],
    ),
    (
        ("insert", "t", None, ("a", "b"), ("int", "int"), 1, None, ("ignore", ("a",))),
        [1, 2],
        'INSERT INTO "t" ("a", "b") VALUES (?, ?) ON CONFLICT ("a") DO NOTHING',
        [1, 2],
    ),
    (
        (
            "insert",
            "t",
            None,
            ("a", "b", "c"),
            ("int",) * 3,
            1,
            ("id",),
            ("update", ("a",), ("b", "c")),
        ),
        [1, 2, 3],
        'INSERT INTO "t" ("a", "b", "c") VALUES (?, ?, ?) ON CONFLICT ("a") '
        'DO UPDATE SET "b" = EXCLUDED."b", "c" = EXCLUDED."c" RETURNING "id"',
        [1, 2, 3],
    ),
    # an upsert with nothing to update ignores the conflict
    (
        ("insert", "t", None, ("a",), ("int",), 1, None, ("update", ("a",), ())),
        [1],
        'INSERT INTO "t" ("a") VALUES (?) ON CONFLICT ("a") DO NOTHING',
        [1],
    ),
    (
        (
            "update",
            "t",
            None,
            (("a", p(0, "int")), ("b", ("op", "+", col("b"), p(1, "int")))),
            ("cmp", "=", col("id"), p(2, "int")),
            ("id", "b"),
        ),
        [1, 2, 3],
        'UPDATE "t" SET "a" = ?, "b" = ("b" + ?) WHERE "id" = ? RETURNING "id", "b"',
        [1, 2, 3],
    ),
    (
        ("update", "t", "s", (("a", p(0, "int")),), None, None),
        [1],
        'UPDATE "s"."t" SET "a" = ?',
        [1],
    ),
    (
        ("delete", "t", None, ("in", col("id"), "int", 0, 3), ("id",)),
        [[1, 2, 3]],
        'DELETE FROM "t" WHERE "id" IN (?, ?, ?) RETURNING "id"',
        [1, 2, 3],
    ),
    (("delete", "t", None, None, None), [], 'DELETE FROM "t"', []),
    (
        (
            "union",
            (
                select(cols=((col("a"), None),), where=("cmp", ">", col("a"), p(0, "int"))),
                select(cols=((col("a"), None),), order_by=((col("a"), True),), limit=p(1, "int")),
                select(cols=((col("b"), None),)),
            ),
            (True, False),
            ((col("a"), False),),
            p(2, "int"),
            p(3, "int"),
        ),
        [0, 3, 10, 5],
        # SQLite takes no parenthesised compound members: a part with its own LIMIT is
        # a derived table
        'SELECT "a" FROM "t" WHERE "a" > ? UNION ALL '
        'SELECT * FROM (SELECT "a" FROM "t" ORDER BY "a" DESC LIMIT ?) AS "_u1" '
        'UNION SELECT "b" FROM "t" ORDER BY "a" LIMIT ? OFFSET ?',
        [0, 3, 10, 5],
    ),
    (
        ("union", (select(cols=((col("a"), None),)),) * 2, (False,), (), None, p(0, "int")),
        [2],
        'SELECT "a" FROM "t" UNION SELECT "a" FROM "t" LIMIT -1 OFFSET ?',
        [2],
    ),
]

SCHEMA = [
    "ATTACH ':memory:' AS s",
    "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER UNIQUE, b INTEGER, c INTEGER, "
    "g INTEGER, u_id INTEGER, name TEXT, data TEXT)",
    'CREATE TABLE u (id INTEGER PRIMARY KEY, u_id INTEGER, "x%y" INTEGER)',
    "CREATE TABLE s.t (id INTEGER PRIMARY KEY, a INTEGER)",
    'CREATE TABLE s."we""ird" (id INTEGER PRIMARY KEY, "co""l" TEXT)',
]


@pytest.fixture
def db() -> apsw.Connection:
    conn = apsw.Connection(":memory:")
    for statement in SCHEMA:
        conn.execute(statement)

    functions.install(conn)
    return conn


@pytest.mark.parametrize(("ir", "values", "sql", "params"), STATEMENTS)
def test_statement_golden(ir: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert render(ir, values, SQLITE) == (sql, params)


@pytest.mark.parametrize(("ir", "values", "sql", "params"), STATEMENTS)
def test_statement_runs(
    db: apsw.Connection, ir: Node, values: list[Any], sql: str, params: list[Any]
) -> None:
    db.execute(*render(ir, values, SQLITE)).fetchall()


CONDITIONS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (
        (
            "in_query",
            col("id"),
            select(
                src=("table", "u", None, None, ()),
                cols=((col("u_id"), None),),
                where=("cmp", ">", col("id"), p(0, "int")),
            ),
        ),
        [3],
        '"id" IN (SELECT "u_id" FROM "u" WHERE "id" > ?)',
        [3],
    ),
    (("cmp", "<>", col("a"), p(0, "int")), [1], '"a" <> ?', [1]),
    (("cmp", ">=", col("a", "t"), col("b", "t")), [], '"t"."a" >= "t"."b"', []),
    (("and", ()), [], "1 = 1", []),
    (("or", ()), [], "1 = 0", []),
    (("and", (("cmp", "=", col("a"), p(0)),)), [1], '"a" = ?', [1]),
    (
        (
            "and",
            (
                ("cmp", "=", col("a"), p(0)),
                ("or", (("null", col("b"), True), ("null", col("c"), False))),
            ),
        ),
        [1],
        '"a" = ? AND ("b" IS NULL OR "c" IS NOT NULL)',
        [1],
    ),
    (
        ("or", (("and", (("const", True), ("const", False))), ("const", True))),
        [],
        "(1 = 1 AND 1 = 0) OR 1 = 1",
        [],
    ),
    (("not", ("cmp", "=", col("a"), p(0))), [1], 'NOT ("a" = ?)', [1]),
    (("not", ("in", col("a"), "int", 0, 0)), [[]], "NOT (1 = 0)", []),
    (("in", col("a"), "int", 0, 0), [[]], "1 = 0", []),
    (("in", col("a"), "int", 0, 1), [[7]], '"a" IN (?)', [7]),
    (("in", col("a"), "int", 0, 3), [(1, 2, 3)], '"a" IN (?, ?, ?)', [1, 2, 3]),
    (
        ("in", col("data"), "uuid", 0, 2),
        [[uuid.UUID(int=1), None]],
        '"data" IN (?, ?)',
        ["00000000-0000-0000-0000-000000000001", None],
    ),
    (("between", col("a"), p(0, "int"), p(1, "int")), [1, 9], '"a" BETWEEN ? AND ?', [1, 9]),
    (("const", True), [], "1 = 1", []),
    (("const", False), [], "1 = 0", []),
    (
        ("like", col("name"), p(0, "str"), False),
        ["a\\%%"],
        'CASE WHEN instr("name", char(0)) > 0 THEN oxyde_like(?, "name") '
        "ELSE \"name\" LIKE ? ESCAPE '\\' END",
        ["a\\%%", "a\\%%"],
    ),
    (
        ("like", col("name"), p(0, "str"), True),
        ["a%"],
        'CASE WHEN instr("name", char(0)) > 0 THEN oxyde_like(?, "name") '
        "ELSE LOWER(\"name\") LIKE LOWER(?) ESCAPE '\\' END",
        ["a%", "a%"],
    ),
    (("regex", col("name"), p(0, "str"), False), ["^a"], '"name" REGEXP ?', ["^a"]),
    (("regex", col("name"), p(0, "str"), True), ["^a"], "\"name\" REGEXP ('(?i)' || ?)", ["^a"]),
]


@pytest.mark.parametrize(("cond", "values", "sql", "params"), CONDITIONS)
def test_condition_golden(cond: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert where(cond, values) == (sql, params)


@pytest.mark.parametrize(("cond", "values", "sql", "params"), CONDITIONS)
def test_condition_runs(
    db: apsw.Connection, cond: Node, values: list[Any], sql: str, params: list[Any]
) -> None:
    db.execute(*render(select(where=cond), values, SQLITE)).fetchall()


EXPRESSIONS: list[tuple[Node, list[Any], str, list[Any]]] = [
    (col("a"), [], '"a"', []),
    (("p", "int", 0), [3], "?", [3]),
    (("lit", "42"), [], "42", []),
    (("raw", "a * 2"), [], "(a * 2)", []),
    (("fn", "COALESCE", (col("a"), col("b"), p(0, "int"))), [0], 'COALESCE("a", "b", ?)', [0]),
    (("fn", "LOWER", (col("name"),)), [], 'LOWER("name")', []),
    (("agg", "COUNT", None, False), [], "COUNT(*)", []),
    (("agg", "COUNT", col("a"), True), [], 'COUNT(DISTINCT "a")', []),
    (("agg", "SUM", col("a"), False), [], 'SUM("a")', []),
    (("op", "+", col("a"), p(0, "int")), [1], '("a" + ?)', [1]),
    (("op", "*", ("op", "-", col("a"), col("b")), ("lit", "2")), [], '(("a" - "b") * 2)', []),
    (("op", "%", col("a"), ("lit", "3")), [], '("a" % 3)', []),
    (("neg", col("a")), [], '(-"a")', []),
    (("neg", ("lit", "-1")), [], "(- -1)", []),
    (("concat", (col("a"), col("name")), None), [], '("a" || "name")', []),
    (
        ("concat", (col("a"), col("name"), col("b")), p(0, "str")),
        ["-"],
        '("a" || ? || "name" || ? || "b")',
        ["-", "-"],
    ),
    (("random",), [], "RANDOM()", []),
    # JSON keys are bound values, never spliced into the text
    (
        ("json_get", col("data"), 0, "str"),
        [("a", 0, 'k"\\')],
        'json_extract("data", ?)',
        ['$."a"[0]."k\\"\\\\"'],
    ),
]


@pytest.mark.parametrize(("node", "values", "sql", "params"), EXPRESSIONS)
def test_expression_golden(node: Node, values: list[Any], sql: str, params: list[Any]) -> None:
    assert expr(node, values) == (sql, params)


@pytest.mark.parametrize(("node", "values", "sql", "params"), EXPRESSIONS)
def test_expression_runs(
    db: apsw.Connection, node: Node, values: list[Any], sql: str, params: list[Any]
) -> None:
    db.execute(*render(select(cols=((node, None),)), values, SQLITE)).fetchall()


def test_json_path_reaches_awkward_keys(db: apsw.Connection) -> None:
    doc = {'k"\\': {"a.b": [1, {"é": "found"}]}}
    db.execute("INSERT INTO t (id, data) VALUES (1, ?)", (json.dumps(doc),))
    sql, params = render(
        select(cols=((("json_get", col("data"), 0, "str"), None),)),
        [('k"\\', "a.b", 1, "é")],
        SQLITE,
    )
    assert db.execute(sql, params).fetchall() == [("found",)]


def test_regex_and_like_match_as_documented(db: apsw.Connection) -> None:
    db.execute("INSERT INTO t (id, name) VALUES (1, 'Apple'), (2, 'a_b'), (3, 'axb')")

    def ids(cond: Node, values: list[Any]) -> list[int]:
        sql, params = render(
            select(cols=((col("id"), None),), where=cond, order_by=((col("id"), False),)),
            values,
            SQLITE,
        )
        return [row[0] for row in db.execute(sql, params)]

    assert ids(("regex", col("name"), p(0, "str"), False), ["^a"]) == [2, 3]
    assert ids(("regex", col("name"), p(0, "str"), True), ["^a"]) == [1, 2, 3]
    # the escaped wildcard matches only itself
    assert ids(("like", col("name"), p(0, "str"), False), ["a\\_b"]) == [2]
    assert ids(("like", col("name"), p(0, "str"), True), ["APP%"]) == [1]


def test_like_reads_values_past_a_nul(db: apsw.Connection) -> None:
    db.execute(
        "INSERT INTO t (id, name) VALUES (1, ?), (2, ?), (3, 'Ab'), (4, NULL)",
        ("x\x00ab", "a_b\x00"),
    )

    def ids(pattern: str, ci: bool = False) -> list[int]:
        cond = ("like", col("name"), p(0, "str"), ci)
        sql, params = render(
            select(cols=((col("id"), None),), where=cond, order_by=((col("id"), False),)),
            [pattern],
            SQLITE,
        )
        return [row[0] for row in db.execute(sql, params)]

    assert ids("%ab") == [1, 3]  # SQLite's LIKE folds ASCII case, with or without NUL
    assert ids("%AB", ci=True) == [1, 3]
    assert ids("x%") == [1]
    assert ids("x_ab") == [1]  # _ matches the NUL like any character
    assert ids("a\\_b%") == [2]
    assert ids("a\\_b") == []  # the whole value, not the part before the NUL
    assert ids("%") == [1, 2, 3]


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("kind", "value", "bound"),
    [
        ("bool", True, 1),
        ("bool", False, 0),
        # SQLite's own form: a fraction only when there are microseconds
        ("datetime", datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
        ("datetime", datetime(2024, 1, 2, 3, 4, 5, 120), "2024-01-02 03:04:05.000120"),
        # aware values are stored as their UTC wall time, as SQLite's functions keep them
        (
            "datetime",
            datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-02 01:04:05.000006",
        ),
        ("date", date(2024, 1, 2), "2024-01-02"),
        ("time", time(3, 4, 5), "03:04:05"),
        ("time", time(3, 4, 5, 500000), "03:04:05.500000"),
        ("timedelta", timedelta(days=1, microseconds=7), 86_400_000_007),
        ("timedelta", timedelta(microseconds=-1), -1),
        ("uuid", uuid.UUID(int=255), "00000000-0000-0000-0000-0000000000ff"),
        ("decimal", Decimal("1.50"), "1.50"),
        ("json", {"a": [1, "é"]}, '{"a":[1,"é"]}'),
        ("array", [1, 2], "[1,2]"),
        ("enum", Color.RED, "red"),
        ("enum", "red", "red"),
        ("int", 5, 5),
        ("str", "x", "x"),
        ("any", object, object),
        ("bool", None, None),
    ],
)
def test_values_are_adapted_per_kind(kind: str, value: Any, bound: Any) -> None:
    assert where(("cmp", "<", col("a"), p(0, kind)), [value])[1] == [bound]


@pytest.mark.parametrize(
    ("op", "sql", "bound"),
    [
        ("=", '("a" >= ? AND "a" < ?)', ["2024-01-02 03:04:05", "2024-01-02 03:04:05.000001"]),
        ("<>", '("a" < ? OR "a" >= ?)', ["2024-01-02 03:04:05", "2024-01-02 03:04:05.000001"]),
        ("<", '"a" < ?', ["2024-01-02 03:04:05"]),
        ("<=", '"a" < ?', ["2024-01-02 03:04:05.000001"]),
        (">", '"a" >= ?', ["2024-01-02 03:04:05.000001"]),
        (">=", '"a" >= ?', ["2024-01-02 03:04:05"]),
    ],
)
def test_datetimes_compare_as_the_text_range_of_their_spellings(
    op: str, sql: str, bound: list[str]
) -> None:
    # '2024-01-02 03:04:05', '...05.000000', '...05.000+00:00' are one instant: each
    # comparison takes them all, and stays a plain comparison of the column (indexable)
    value = datetime(2024, 1, 2, 3, 4, 5)
    assert where(("cmp", op, col("a"), p(0, "datetime")), [value]) == (sql, bound)


def test_text_range_ends_at_the_largest_values() -> None:
    _, bound = where(("cmp", "<=", col("a"), p(0, "datetime")), [datetime.max])
    assert bound == ["9999-12-31 23:59:59.999999~"]
    _, bound = where(("cmp", "<=", col("a"), p(0, "time")), [time(23, 59, 59, 999999)])
    assert bound == ["23:59:59.999999~"]
    _, bound = where(("cmp", "<=", col("a"), p(0, "time")), [time(23, 59, 59)])
    assert bound == ["23:59:59.000001"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("bool", True),
        ("datetime", datetime(2024, 1, 2, 3, 4, 5, 123456)),
        ("datetime", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("date", date(2024, 1, 2)),
        ("time", time(3, 4, 5, 6)),
        ("timedelta", timedelta(days=-3, seconds=5, microseconds=9)),
        ("uuid", uuid.uuid4()),
        ("decimal", Decimal("-12.3400")),
        ("json", {"a": [1, None, "é"]}),
        ("array", ["x", "y"]),
    ],
)
def test_adapted_values_convert_back(kind: str, value: Any) -> None:
    stored = SQLITE.adapters[kind](value)
    aware = isinstance(value, datetime) and value.tzinfo is not None
    back = SQLITE.converters["datetime_tz" if aware else kind](stored)
    assert back == value and type(back) is type(value)


def test_aware_datetimes_read_back_aware_in_utc() -> None:
    value = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    # an AwareDatetime column reads its UTC text back aware
    back = SQLITE.converters["datetime_tz"](SQLITE.adapters["datetime"](value))
    assert back == value and back.tzinfo is UTC


def test_percent_is_not_doubled_with_qmark_placeholders() -> None:
    assert expr(("raw", "100 % 7"), []) == ("(100 % 7)", [])
