"""Golden SQL of annotate/group_by/having, F expressions, Concat/Coalesce/RawSQL, unions
and aggregate() on PostgreSQL, SQLite and MySQL, plus the pieces that need no database:
alias checks, value renumbering for unions, and result conversion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oxyde import Avg, Coalesce, Concat, Count, F, FieldError, ManagerError, Max, Q, RawSQL, Sum
from oxyde.queries import annotations
from oxyde.queries.setops import _shift
from oxyde.sql import render
from oxyde.sql.dialects import get_dialect
from tests.support.agg_models import AggAuthor, AggPost

DIALECTS = ("postgres", "sqlite", "mysql")

BUILDERS: dict[str, Callable[[], Any]] = {
    "relation_count_filtered_and_ordered": lambda: (
        AggAuthor.objects.annotate(n=Count("posts"))
        .filter(n__gt=1)
        .order_by("-n")
        .values("name", "n")
    ),
    "many_to_many_distinct_and_nested_average": lambda: AggAuthor.objects.annotate(
        t=Count("posts__tags", distinct=True), c=Avg("posts__comments__likes")
    ).values("name", "t", "c"),
    "values_then_annotate_with_where_and_having": lambda: (
        AggPost.objects.values("author_id")
        .annotate(n=Count("id"), total=Sum("views"))
        .filter(views__gt=1, n__gt=1)
    ),
    "explicit_group_by_and_having_q": lambda: (
        AggPost.objects.values("author_id")
        .annotate(n=Count("*"))
        .group_by("author_id")
        .having(Q(n__gt=2) | ~Q(n=1))
    ),
    "concat_coalesce_rawsql": lambda: AggPost.objects.annotate(
        label=Concat("title", "views", separator="-"),
        age=Coalesce("author__age", 0),
        six=RawSQL("2 * 3"),
    ).values("label", "age", "six"),
    "f_in_filter_range_and_order_by": lambda: (
        AggPost.objects.filter(views__gt=F("likes") * 2, views__range=(F("likes"), 8))
        .order_by(F("views").desc())
        .values("title")
    ),
    "union_ordered_and_limited": lambda: (
        AggPost.objects.filter(views__gte=7)
        .values("title")
        .union(AggPost.objects.filter(likes__in=[1, 2]).values("title"))
        .order_by("-title")[:2]
    ),
    "union_all_with_a_limited_member_and_none": lambda: (
        AggPost.objects.order_by("-views")[:1]
        .values("id")
        .union_all(AggPost.objects.none().values("id"))
    ),
    "time_based_grouping": lambda: (
        AggPost.objects.values("published__year", "published__hour")
        .annotate(n=Count("id"))
        .order_by("published__year")
    ),
    "nested_union_and_meta_ordering": lambda: (
        AggAuthor.objects.filter(name="Cid")
        .values("name")
        .union(
            AggAuthor.objects.values("name").union_all(
                AggAuthor.objects.filter(age=3).values("name")
            )
        )
    ),
}

AGGREGATES: dict[str, tuple[Callable[[], Any], Callable[[], dict[str, Any]]]] = {
    "relation_totals_and_a_field": (
        lambda: AggAuthor.objects.filter(age__gt=18),
        lambda: {"posts": Count("posts"), "mean": Avg("posts__views"), "oldest": Max("age")},
    ),
    "over_the_groups_of_a_grouped_query": (
        lambda: AggPost.objects.values("author_id").annotate(n=Count("id")),
        lambda: {"most": Max("n")},
    ),
    "over_a_union": (
        lambda: (
            AggPost.objects.filter(views=1)
            .values("views")
            .union_all(AggPost.objects.filter(views=2).values("views"))
        ),
        lambda: {"s": Sum("views")},
    ),
}

GOLDEN: dict[str, dict[str, tuple[str, list[Any]]]] = {
    "relation_count_filtered_and_ordered": {
        "postgres": (
            (
                'SELECT "agg_author"."name", (SELECT COUNT(*) FROM "agg_post" AS '
                '"agg_author__posts" WHERE "agg_author__posts"."author_id" = "agg_author"."id") '
                'FROM "agg_author" WHERE (SELECT COUNT(*) FROM "agg_post" AS '
                '"agg_author__posts" WHERE "agg_author__posts"."author_id" = "agg_author"."id") '
                '> $1 ORDER BY (SELECT COUNT(*) FROM "agg_post" AS "agg_author__posts" WHERE '
                '"agg_author__posts"."author_id" = "agg_author"."id") DESC'
            ),
            [1],
        ),
        "sqlite": (
            (
                'SELECT "agg_author"."name", (SELECT COUNT(*) FROM "agg_post" AS '
                '"agg_author__posts" WHERE "agg_author__posts"."author_id" = "agg_author"."id") '
                'FROM "agg_author" WHERE (SELECT COUNT(*) FROM "agg_post" AS '
                '"agg_author__posts" WHERE "agg_author__posts"."author_id" = "agg_author"."id") '
                '> ? ORDER BY (SELECT COUNT(*) FROM "agg_post" AS "agg_author__posts" WHERE '
                '"agg_author__posts"."author_id" = "agg_author"."id") DESC'
            ),
            [1],
        ),
        "mysql": (
            (
                "SELECT `agg_author`.`name`, (SELECT COUNT(*) FROM `agg_post` AS "
                "`agg_author__posts` WHERE `agg_author__posts`.`author_id` = `agg_author`.`id`) "
                "FROM `agg_author` WHERE (SELECT COUNT(*) FROM `agg_post` AS "
                "`agg_author__posts` WHERE `agg_author__posts`.`author_id` = `agg_author`.`id`) "
                "> %s ORDER BY (SELECT COUNT(*) FROM `agg_post` AS `agg_author__posts` WHERE "
                "`agg_author__posts`.`author_id` = `agg_author`.`id`) DESC"
            ),
            [1],
        ),
    },
    "many_to_many_distinct_and_nested_average": {
        "postgres": (
            (
                'SELECT "agg_author"."name", (SELECT COUNT(DISTINCT '
                '"agg_author__posts__tags"."id") FROM "agg_post" AS "agg_author__posts" INNER '
                'JOIN "agg_post_tag" AS "agg_author__posts__tags__through" ON '
                '"agg_author__posts__tags__through"."post_id" = "agg_author__posts"."id" INNER '
                'JOIN "agg_tag" AS "agg_author__posts__tags" ON "agg_author__posts__tags"."id" '
                '= "agg_author__posts__tags__through"."tag_id" WHERE '
                '"agg_author__posts"."author_id" = "agg_author"."id"), (SELECT '
                'AVG(CAST("agg_author__posts__comments"."likes" AS DOUBLE PRECISION)) FROM '
                '"agg_post" AS "agg_author__posts" INNER JOIN "agg_comment" AS '
                '"agg_author__posts__comments" ON "agg_author__posts__comments"."post_id" = '
                '"agg_author__posts"."id" WHERE "agg_author__posts"."author_id" = '
                '"agg_author"."id") FROM "agg_author" ORDER BY "agg_author"."name"'
            ),
            [],
        ),
        "sqlite": (
            (
                'SELECT "agg_author"."name", (SELECT COUNT(DISTINCT '
                '"agg_author__posts__tags"."id") FROM "agg_post" AS "agg_author__posts" INNER '
                'JOIN "agg_post_tag" AS "agg_author__posts__tags__through" ON '
                '"agg_author__posts__tags__through"."post_id" = "agg_author__posts"."id" INNER '
                'JOIN "agg_tag" AS "agg_author__posts__tags" ON "agg_author__posts__tags"."id" '
                '= "agg_author__posts__tags__through"."tag_id" WHERE '
                '"agg_author__posts"."author_id" = "agg_author"."id"), (SELECT '
                'AVG(CAST("agg_author__posts__comments"."likes" AS REAL)) FROM "agg_post" AS '
                '"agg_author__posts" INNER JOIN "agg_comment" AS "agg_author__posts__comments" '
                'ON "agg_author__posts__comments"."post_id" = "agg_author__posts"."id" WHERE '
                '"agg_author__posts"."author_id" = "agg_author"."id") FROM "agg_author" ORDER '
                'BY "agg_author"."name"'
            ),
            [],
        ),
        "mysql": (
            (
                "SELECT `agg_author`.`name`, (SELECT COUNT(DISTINCT "
                "`agg_author__posts__tags`.`id`) FROM `agg_post` AS `agg_author__posts` INNER "
                "JOIN `agg_post_tag` AS `agg_author__posts__tags__through` ON "
                "`agg_author__posts__tags__through`.`post_id` = `agg_author__posts`.`id` INNER "
                "JOIN `agg_tag` AS `agg_author__posts__tags` ON `agg_author__posts__tags`.`id` "
                "= `agg_author__posts__tags__through`.`tag_id` WHERE "
                "`agg_author__posts`.`author_id` = `agg_author`.`id`), (SELECT "
                "AVG(CAST(`agg_author__posts__comments`.`likes` AS DOUBLE)) FROM `agg_post` AS "
                "`agg_author__posts` INNER JOIN `agg_comment` AS `agg_author__posts__comments` "
                "ON `agg_author__posts__comments`.`post_id` = `agg_author__posts`.`id` WHERE "
                "`agg_author__posts`.`author_id` = `agg_author`.`id`) FROM `agg_author` ORDER "
                "BY `agg_author`.`name`"
            ),
            [],
        ),
    },
    "values_then_annotate_with_where_and_having": {
        "postgres": (
            (
                'SELECT "agg_post"."author_id", COUNT("agg_post"."id"), SUM("agg_post"."views") '
                'FROM "agg_post" WHERE "agg_post"."views" > $1 GROUP BY "agg_post"."author_id" '
                'HAVING COUNT("agg_post"."id") > $2'
            ),
            [1, 1],
        ),
        "sqlite": (
            (
                'SELECT "agg_post"."author_id", COUNT("agg_post"."id"), SUM("agg_post"."views") '
                'FROM "agg_post" WHERE "agg_post"."views" > ? GROUP BY "agg_post"."author_id" '
                'HAVING COUNT("agg_post"."id") > ?'
            ),
            [1, 1],
        ),
        "mysql": (
            (
                "SELECT `agg_post`.`author_id`, COUNT(`agg_post`.`id`), SUM(`agg_post`.`views`) "
                "FROM `agg_post` WHERE `agg_post`.`views` > %s GROUP BY `agg_post`.`author_id` "
                "HAVING COUNT(`agg_post`.`id`) > %s"
            ),
            [1, 1],
        ),
    },
    "explicit_group_by_and_having_q": {
        "postgres": (
            (
                'SELECT "agg_post"."author_id", COUNT(*) FROM "agg_post" GROUP BY '
                '"agg_post"."author_id" HAVING COUNT(*) > $1 OR NOT (COUNT(*) = $2)'
            ),
            [2, 1],
        ),
        "sqlite": (
            (
                'SELECT "agg_post"."author_id", COUNT(*) FROM "agg_post" GROUP BY '
                '"agg_post"."author_id" HAVING COUNT(*) > ? OR NOT (COUNT(*) = ?)'
            ),
            [2, 1],
        ),
        "mysql": (
            (
                "SELECT `agg_post`.`author_id`, COUNT(*) FROM `agg_post` GROUP BY "
                "`agg_post`.`author_id` HAVING COUNT(*) > %s OR NOT (COUNT(*) = %s)"
            ),
            [2, 1],
        ),
    },
    "concat_coalesce_rawsql": {
        "postgres": (
            (
                'SELECT ("agg_post"."title" || $1 || CAST("agg_post"."views" AS TEXT)), '
                'COALESCE("author"."age", $2), (2 * 3) FROM "agg_post" LEFT JOIN "agg_author" '
                'AS "author" ON "agg_post"."author_id" = "author"."id"'
            ),
            ["-", 0],
        ),
        "sqlite": (
            (
                'SELECT ("agg_post"."title" || ? || CAST("agg_post"."views" AS TEXT)), '
                'COALESCE("author"."age", ?), (2 * 3) FROM "agg_post" LEFT JOIN "agg_author" AS '
                '"author" ON "agg_post"."author_id" = "author"."id"'
            ),
            ["-", 0],
        ),
        "mysql": (
            (
                "SELECT CONCAT(`agg_post`.`title`, %s, CAST(`agg_post`.`views` AS CHAR)), "
                "COALESCE(`author`.`age`, %s), (2 * 3) FROM `agg_post` LEFT JOIN `agg_author` "
                "AS `author` ON `agg_post`.`author_id` = `author`.`id`"
            ),
            ["-", 0],
        ),
    },
    "f_in_filter_range_and_order_by": {
        "postgres": (
            (
                'SELECT "agg_post"."title" FROM "agg_post" WHERE "agg_post"."views" > '
                '("agg_post"."likes" * $1) AND "agg_post"."views" BETWEEN "agg_post"."likes" '
                'AND $2 ORDER BY "agg_post"."views" DESC'
            ),
            [2, 8],
        ),
        "sqlite": (
            (
                'SELECT "agg_post"."title" FROM "agg_post" WHERE "agg_post"."views" > '
                '("agg_post"."likes" * ?) AND "agg_post"."views" BETWEEN "agg_post"."likes" AND '
                '? ORDER BY "agg_post"."views" DESC'
            ),
            [2, 8],
        ),
        "mysql": (
            (
                "SELECT `agg_post`.`title` FROM `agg_post` WHERE `agg_post`.`views` > "
                "(`agg_post`.`likes` * %s) AND `agg_post`.`views` BETWEEN `agg_post`.`likes` "
                "AND %s ORDER BY `agg_post`.`views` DESC"
            ),
            [2, 8],
        ),
    },
    "union_ordered_and_limited": {
        "postgres": (
            (
                'SELECT "agg_post"."title" AS "title" FROM "agg_post" WHERE "agg_post"."views" '
                '>= $1 UNION SELECT "agg_post"."title" AS "title" FROM "agg_post" WHERE '
                '"agg_post"."likes" = ANY($2) ORDER BY "title" DESC LIMIT $3'
            ),
            [7, [1, 2], 2],
        ),
        "sqlite": (
            (
                'SELECT "agg_post"."title" AS "title" FROM "agg_post" WHERE "agg_post"."views" '
                '>= ? UNION SELECT "agg_post"."title" AS "title" FROM "agg_post" WHERE '
                '"agg_post"."likes" IN (?, ?) ORDER BY "title" DESC LIMIT ?'
            ),
            [7, 1, 2, 2],
        ),
        "mysql": (
            (
                "SELECT `agg_post`.`title` AS `title` FROM `agg_post` WHERE `agg_post`.`views` "
                ">= %s UNION SELECT `agg_post`.`title` AS `title` FROM `agg_post` WHERE "
                "`agg_post`.`likes` IN (%s, %s) ORDER BY `title` DESC LIMIT %s"
            ),
            [7, 1, 2, 2],
        ),
    },
    "union_all_with_a_limited_member_and_none": {
        "postgres": (
            (
                'SELECT * FROM (SELECT "agg_post"."id" AS "id" FROM "agg_post" ORDER BY '
                '"agg_post"."views" DESC LIMIT $1) AS "_u0" UNION ALL SELECT "agg_post"."id" AS '
                '"id" FROM "agg_post" WHERE FALSE'
            ),
            [1],
        ),
        "sqlite": (
            (
                'SELECT * FROM (SELECT "agg_post"."id" AS "id" FROM "agg_post" ORDER BY '
                '"agg_post"."views" DESC LIMIT ?) AS "_u0" UNION ALL SELECT "agg_post"."id" AS '
                '"id" FROM "agg_post" WHERE 1 = 0'
            ),
            [1],
        ),
        "mysql": (
            (
                "SELECT * FROM (SELECT `agg_post`.`id` AS `id` FROM `agg_post` ORDER BY "
                "`agg_post`.`views` DESC LIMIT %s) AS `_u0` UNION ALL SELECT `agg_post`.`id` AS "
                "`id` FROM `agg_post` WHERE FALSE"
            ),
            [1],
        ),
    },
    "time_based_grouping": {
        "postgres": (
            (
                'SELECT CAST(EXTRACT(YEAR FROM "agg_post"."published") AS INTEGER), '
                'CAST(EXTRACT(HOUR FROM "agg_post"."published") AS INTEGER), '
                'COUNT("agg_post"."id") FROM "agg_post" GROUP BY CAST(EXTRACT(YEAR FROM '
                '"agg_post"."published") AS INTEGER), CAST(EXTRACT(HOUR FROM '
                '"agg_post"."published") AS INTEGER) ORDER BY CAST(EXTRACT(YEAR FROM '
                '"agg_post"."published") AS INTEGER)'
            ),
            [],
        ),
        "sqlite": (
            (
                'SELECT CAST(strftime(\'%Y\', "agg_post"."published") AS INTEGER), '
                'CAST(strftime(\'%H\', "agg_post"."published") AS INTEGER), '
                'COUNT("agg_post"."id") FROM "agg_post" GROUP BY CAST(strftime(\'%Y\', '
                '"agg_post"."published") AS INTEGER), CAST(strftime(\'%H\', '
                '"agg_post"."published") AS INTEGER) ORDER BY CAST(strftime(\'%Y\', '
                '"agg_post"."published") AS INTEGER)'
            ),
            [],
        ),
        "mysql": (
            (
                "SELECT CAST(EXTRACT(YEAR FROM `agg_post`.`published`) AS SIGNED), "
                "CAST(EXTRACT(HOUR FROM `agg_post`.`published`) AS SIGNED), "
                "COUNT(`agg_post`.`id`) FROM `agg_post` GROUP BY CAST(EXTRACT(YEAR FROM "
                "`agg_post`.`published`) AS SIGNED), CAST(EXTRACT(HOUR FROM "
                "`agg_post`.`published`) AS SIGNED) ORDER BY CAST(EXTRACT(YEAR FROM "
                "`agg_post`.`published`) AS SIGNED)"
            ),
            [],
        ),
    },
    "nested_union_and_meta_ordering": {
        "postgres": (
            (
                'SELECT "agg_author"."name" AS "name" FROM "agg_author" WHERE '
                '"agg_author"."name" = $1 UNION SELECT * FROM (SELECT "agg_author"."name" AS '
                '"name" FROM "agg_author" UNION ALL SELECT "agg_author"."name" AS "name" FROM '
                '"agg_author" WHERE "agg_author"."age" = $2) AS "_c" ORDER BY "name"'
            ),
            ["Cid", 3],
        ),
        "sqlite": (
            (
                'SELECT "agg_author"."name" AS "name" FROM "agg_author" WHERE '
                '"agg_author"."name" = ? UNION SELECT * FROM (SELECT "agg_author"."name" AS '
                '"name" FROM "agg_author" UNION ALL SELECT "agg_author"."name" AS "name" FROM '
                '"agg_author" WHERE "agg_author"."age" = ?) AS "_c" ORDER BY "name"'
            ),
            ["Cid", 3],
        ),
        "mysql": (
            (
                "SELECT `agg_author`.`name` AS `name` FROM `agg_author` WHERE "
                "`agg_author`.`name` = %s UNION SELECT * FROM (SELECT `agg_author`.`name` AS "
                "`name` FROM `agg_author` UNION ALL SELECT `agg_author`.`name` AS `name` FROM "
                "`agg_author` WHERE `agg_author`.`age` = %s) AS `_c` ORDER BY `name`"
            ),
            ["Cid", 3],
        ),
    },
}

AGGREGATE_GOLDEN: dict[str, dict[str, tuple[str, list[Any]]]] = {
    "relation_totals_and_a_field": {
        "postgres": (
            (
                'SELECT MAX((SELECT COUNT(*) FROM "agg_post" AS "agg_author__posts" WHERE '
                '"agg_author__posts"."author_id" IN (SELECT "agg_author"."id" FROM "agg_author" '
                'WHERE "agg_author"."age" > $1))) AS "posts", MAX((SELECT '
                'AVG(CAST("agg_author__posts"."views" AS DOUBLE PRECISION)) FROM "agg_post" AS '
                '"agg_author__posts" WHERE "agg_author__posts"."author_id" IN (SELECT '
                '"agg_author"."id" FROM "agg_author" WHERE "agg_author"."age" > $2))) AS '
                '"mean", MAX("agg_author"."age") AS "oldest" FROM "agg_author" WHERE '
                '"agg_author"."age" > $3'
            ),
            [18, 18, 18],
        ),
        "sqlite": (
            (
                'SELECT MAX((SELECT COUNT(*) FROM "agg_post" AS "agg_author__posts" WHERE '
                '"agg_author__posts"."author_id" IN (SELECT "agg_author"."id" FROM "agg_author" '
                'WHERE "agg_author"."age" > ?))) AS "posts", MAX((SELECT '
                'AVG(CAST("agg_author__posts"."views" AS REAL)) FROM "agg_post" AS '
                '"agg_author__posts" WHERE "agg_author__posts"."author_id" IN (SELECT '
                '"agg_author"."id" FROM "agg_author" WHERE "agg_author"."age" > ?))) AS "mean", '
                'MAX("agg_author"."age") AS "oldest" FROM "agg_author" WHERE "agg_author"."age" '
                "> ?"
            ),
            [18, 18, 18],
        ),
        "mysql": (
            (
                "SELECT MAX((SELECT COUNT(*) FROM `agg_post` AS `agg_author__posts` WHERE "
                "`agg_author__posts`.`author_id` IN (SELECT `agg_author`.`id` FROM `agg_author` "
                "WHERE `agg_author`.`age` > %s))) AS `posts`, MAX((SELECT "
                "AVG(CAST(`agg_author__posts`.`views` AS DOUBLE)) FROM `agg_post` AS "
                "`agg_author__posts` WHERE `agg_author__posts`.`author_id` IN (SELECT "
                "`agg_author`.`id` FROM `agg_author` WHERE `agg_author`.`age` > %s))) AS "
                "`mean`, MAX(`agg_author`.`age`) AS `oldest` FROM `agg_author` WHERE "
                "`agg_author`.`age` > %s"
            ),
            [18, 18, 18],
        ),
    },
    "over_the_groups_of_a_grouped_query": {
        "postgres": (
            (
                'SELECT MAX("_sub"."n") AS "most" FROM (SELECT "agg_post"."author_id" AS '
                '"author_id", COUNT("agg_post"."id") AS "n" FROM "agg_post" GROUP BY '
                '"agg_post"."author_id") AS "_sub"'
            ),
            [],
        ),
        "sqlite": (
            (
                'SELECT MAX("_sub"."n") AS "most" FROM (SELECT "agg_post"."author_id" AS '
                '"author_id", COUNT("agg_post"."id") AS "n" FROM "agg_post" GROUP BY '
                '"agg_post"."author_id") AS "_sub"'
            ),
            [],
        ),
        "mysql": (
            (
                "SELECT MAX(`_sub`.`n`) AS `most` FROM (SELECT `agg_post`.`author_id` AS "
                "`author_id`, COUNT(`agg_post`.`id`) AS `n` FROM `agg_post` GROUP BY "
                "`agg_post`.`author_id`) AS `_sub`"
            ),
            [],
        ),
    },
    "over_a_union": {
        "postgres": (
            (
                'SELECT SUM("_sub"."views") AS "s" FROM (SELECT "agg_post"."views" AS "views" '
                'FROM "agg_post" WHERE "agg_post"."views" = $1 UNION ALL SELECT '
                '"agg_post"."views" AS "views" FROM "agg_post" WHERE "agg_post"."views" = $2) '
                'AS "_sub"'
            ),
            [1, 2],
        ),
        "sqlite": (
            (
                'SELECT SUM("_sub"."views") AS "s" FROM (SELECT "agg_post"."views" AS "views" '
                'FROM "agg_post" WHERE "agg_post"."views" = ? UNION ALL SELECT '
                '"agg_post"."views" AS "views" FROM "agg_post" WHERE "agg_post"."views" = ?) AS '
                '"_sub"'
            ),
            [1, 2],
        ),
        "mysql": (
            (
                "SELECT SUM(`_sub`.`views`) AS `s` FROM (SELECT `agg_post`.`views` AS `views` "
                "FROM `agg_post` WHERE `agg_post`.`views` = %s UNION ALL SELECT "
                "`agg_post`.`views` AS `views` FROM `agg_post` WHERE `agg_post`.`views` = %s) "
                "AS `_sub`"
            ),
            [1, 2],
        ),
    },
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", list(BUILDERS))
def test_golden_sql(case: str, dialect: str) -> None:
    assert BUILDERS[case]().sql(dialect) == GOLDEN[case][dialect]


def _aggregate_statement(query: Any, exprs: dict[str, Any]) -> tuple[Any, Any]:
    if annotations.needs_derived(query):
        node, values, _ = annotations.derived_aggregate(query, exprs)
    else:
        node, values, _ = annotations._direct_aggregate(query, exprs)
    return node, values


def _aggregate_sql(query: Any, exprs: dict[str, Any], dialect: str) -> tuple[str, list[Any]]:
    node, values = _aggregate_statement(query, exprs)
    return render(node, values, get_dialect(dialect))


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", list(AGGREGATES))
def test_aggregate_golden_sql(case: str, dialect: str) -> None:
    query, exprs = AGGREGATES[case]
    assert _aggregate_sql(query(), exprs(), dialect) == AGGREGATE_GOLDEN[case][dialect]


def test_meta_ordering_is_left_out_of_grouped_queries() -> None:
    plain = AggAuthor.objects.values("age")
    assert "ORDER BY" in plain.sql("postgres")[0]
    grouped = plain.annotate(n=Count("id"))
    assert "ORDER BY" not in grouped.sql("postgres")[0]
    assert "ORDER BY" in grouped.order_by("-n").sql("postgres")[0]
    # relation aggregates are subqueries: the query stays ungrouped and ordered
    related = AggAuthor.objects.annotate(n=Count("posts")).sql("postgres")[0]
    assert related.endswith('ORDER BY "agg_author"."name"') and "GROUP BY" not in related


def test_average_of_integers_is_computed_as_a_double() -> None:
    query = AggPost.objects.filter()
    avg = {"m": Avg("views")}
    assert (
        'AVG(CAST("agg_post"."views" AS DOUBLE PRECISION))'
        in _aggregate_sql(query, avg, "postgres")[0]
    )
    assert 'AVG(CAST("agg_post"."views" AS REAL))' in _aggregate_sql(query, avg, "sqlite")[0]
    assert "AVG(CAST(`agg_post`.`views` AS DOUBLE))" in _aggregate_sql(query, avg, "mysql")[0]
    # a float or decimal column keeps its own type
    price = _aggregate_sql(query, {"m": Avg("price")}, "postgres")[0]
    assert 'AVG("agg_post"."price")' in price


def test_union_members_values_are_renumbered() -> None:
    first = AggPost.objects.filter(views__in=[1, 2], title="x")
    second = AggPost.objects.filter(likes__in=[3], title__startswith="y").limit(4)
    sql, params = first.union(second).limit(5).sql("sqlite")
    # SQLite binds a LIKE pattern twice (its NUL-safe form, oxyde_like)
    assert params == [1, 2, "x", 3, "y%", "y%", 4, 5]
    sql, params = first.union(second).limit(5).sql("postgres")
    assert params == [[1, 2], "x", [3], "y%", 4, 5]
    assert "$6" in sql and "$7" not in sql


def test_shift_moves_every_value_reference() -> None:
    col = ("col", "t", "c")
    node = (
        "and",
        (
            ("cmp", "=", col, ("p", "int", 0)),
            ("in", col, "int", 1, 2),
            ("cmp", "=", ("json_get", col, 2, "str"), ("p", "str", 3)),
            ("json_has", col, 4),
            ("json_cmp", "=", col, 5, "num", ("p", "int", 6)),
            ("cmp", "=", ("col", "p", "p"), ("lit", "1")),
        ),
    )
    shifted = _shift(node, 10)
    assert shifted == (
        "and",
        (
            ("cmp", "=", col, ("p", "int", 10)),
            ("in", col, "int", 11, 2),
            ("cmp", "=", ("json_get", col, 12, "str"), ("p", "str", 13)),
            ("json_has", col, 14),
            ("json_cmp", "=", col, 15, "num", ("p", "int", 16)),
            ("cmp", "=", ("col", "p", "p"), ("lit", "1")),
        ),
    )
    assert _shift(node, 0) is node


@settings(max_examples=300, deadline=None)
@given(alias=st.text(min_size=0, max_size=70))
def test_any_alias_is_a_safe_identifier_or_refused(alias: str) -> None:
    try:
        query = AggPost.objects.annotate(**{alias: F("views")})
    except FieldError:
        return
    assert annotations.ALIAS_PATTERN.fullmatch(alias) and len(alias) <= 63
    assert "__" not in alias
    sql, _ = query.sql("postgres")
    assert sql.count(f'AS "{alias}"') == 1


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("int", Decimal("12"), 12),
        ("int", 12.0, 12),
        ("int", Decimal("2.5"), 2.5),
        ("int", 7, 7),
        ("float", Decimal("1.25"), 1.25),
        ("float", 3, 3.0),
        ("decimal", 1.5, Decimal("1.5")),
        ("decimal", 2, Decimal("2")),
        ("decimal", Decimal("1.10"), Decimal("1.10")),
    ],
)
def test_computed_values_become_python_types(kind: str, raw: Any, expected: Any) -> None:
    for dialect in DIALECTS:
        value = annotations.value_converter("", kind, None, get_dialect(dialect))(raw)
        assert value == expected and type(value) is type(expected)


def test_computed_values_use_the_source_column_converter() -> None:
    published = AggPost._db_meta.columns["published"]
    convert = annotations.value_converter("MAX", "datetime", published, get_dialect("sqlite"))
    assert convert("2024-01-02 03:04:05") == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert annotations.value_converter("COUNT", "int", None, get_dialect("mysql"))(None) == 0
    assert annotations.value_converter("SUM", "int", None, get_dialect("mysql"))(None) is None


def test_explicit_group_by_refuses_ungrouped_columns() -> None:
    # Without values(), the rows would be models: the public Oxyde's TypeError.
    with pytest.raises(TypeError, match=r"group_by\(\) .* values\(\)"):
        AggPost.objects.group_by("author_id").annotate(n=Count("id")).sql("postgres")
    with pytest.raises(ManagerError, match="neither grouped nor an aggregate"):
        AggPost.objects.values("title").annotate(n=Count("id")).group_by("author_id").sql(
            "postgres"
        )
    ok = AggPost.objects.values("author_id").annotate(n=Count("id")).group_by("author_id")
    assert 'GROUP BY "agg_post"."author_id"' in ok.sql("postgres")[0]


def test_annotating_after_values_joins_the_output() -> None:
    query = AggPost.objects.values("title").annotate(total=F("views") + F("likes"))
    assert [name for name, _, _ in query._fields or ()] == ["title", "total"]
    before = AggPost.objects.annotate(total=F("views") + F("likes")).values("title")
    assert [name for name, _, _ in before._fields or ()] == ["title"]
    with pytest.raises(ManagerError, match="flat"):
        AggPost.objects.values_list("title", flat=True).annotate(n=F("views"))


def test_an_alias_may_be_any_identifier_python_would_bind_to_a_parameter() -> None:
    # ``self`` is the method's own parameter name; it is still a free alias.
    for query in (
        AggPost.objects.annotate(self=F("views")),
        AggPost.objects.filter().annotate(self=F("views")),
    ):
        sql, _ = query.sql("postgres")
        assert sql.count('AS "self"') == 1
