"""Golden SQL of the query API: the exact statement and parameters of every builder, lookup
and terminal on PostgreSQL, SQLite and MySQL.

Reads go through ``Query.sql(dialect)``. Terminals run against ``Recorder``, an executor
that runs nothing: it keeps each statement handed to it and answers with canned driver
rows, so the statements a terminal sends (and how it reads the answers back) are fixed
here without a database. Whether the databases accept those statements is the business
of ``tests/integration``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from oxyde import F, Model, Q, Query
from oxyde.exceptions import NotFoundError
from oxyde.meta.registry import get_meta
from tests.support.golden_models import GqAuthor, GqBook, GqStatus, GqTag, Recorder

DIALECTS = ("postgres", "sqlite", "mysql")
B = GqBook.objects

#: (sql, params)
Out = tuple[str, list[Any]]

#: every GqBook column, as a plain query selects them
BOOK_PG = (
    'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", "gq_book"."rating", '
    '"gq_book"."price", "gq_book"."in_print", "gq_book"."released", "gq_book"."published", '
    '"gq_book"."uid", "gq_book"."status", "gq_book"."note", "gq_book"."author_id" '
    'FROM "gq_book"'
)
BOOK_SQLITE = BOOK_PG
BOOK_MYSQL = (
    "SELECT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, `gq_book`.`rating`, "
    "`gq_book`.`price`, `gq_book`.`in_print`, `gq_book`.`released`, `gq_book`.`published`, "
    "`gq_book`.`uid`, `gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id` "
    "FROM `gq_book`"
)
BOOK = {"postgres": BOOK_PG, "sqlite": BOOK_SQLITE, "mysql": BOOK_MYSQL}


def case(name: str, build: Callable[[], Query[Any]], *, pg: Out, sqlite: Out, mysql: Out) -> Any:
    """A query and its (sql, params) on each dialect."""
    return pytest.param(build, {"postgres": pg, "sqlite": sqlite, "mysql": mysql}, id=name)


# -- reads: Query.sql() ---------------------------------------------------------------------

# Queries over every GqBook column: the expected SQL is BOOK[dialect] followed by this tail.
BOOK_TAIL_CASES = [
    case(
        "filter_and",
        lambda: B.filter(title="Dune", pages=3),
        pg=(' WHERE "gq_book"."title" = $1 AND "gq_book"."pages" = $2', ["Dune", 3]),
        sqlite=(' WHERE "gq_book"."title" = ? AND "gq_book"."pages" = ?', ["Dune", 3]),
        mysql=(" WHERE `gq_book`.`title` = %s AND `gq_book`.`pages` = %s", ["Dune", 3]),
    ),
    case(
        "filter_chained",
        lambda: B.filter(title="Dune").filter(pages__gt=3),
        pg=(' WHERE "gq_book"."title" = $1 AND "gq_book"."pages" > $2', ["Dune", 3]),
        sqlite=(' WHERE "gq_book"."title" = ? AND "gq_book"."pages" > ?', ["Dune", 3]),
        mysql=(" WHERE `gq_book`.`title` = %s AND `gq_book`.`pages` > %s", ["Dune", 3]),
    ),
    case(
        "exclude_one",
        lambda: B.exclude(pages=3),
        pg=(' WHERE NOT ("gq_book"."pages" = $1)', [3]),
        sqlite=(' WHERE NOT ("gq_book"."pages" = ?)', [3]),
        mysql=(" WHERE NOT (`gq_book`.`pages` = %s)", [3]),
    ),
    case(
        "exclude_together",
        lambda: B.exclude(title="Dune", pages=3),
        pg=(' WHERE NOT ("gq_book"."title" = $1 AND "gq_book"."pages" = $2)', ["Dune", 3]),
        sqlite=(' WHERE NOT ("gq_book"."title" = ? AND "gq_book"."pages" = ?)', ["Dune", 3]),
        mysql=(" WHERE NOT (`gq_book`.`title` = %s AND `gq_book`.`pages` = %s)", ["Dune", 3]),
    ),
    case(
        "filter_then_exclude",
        lambda: B.filter(in_print=True).exclude(status=GqStatus.OUT),
        pg=(' WHERE "gq_book"."in_print" = $1 AND NOT ("gq_book"."status" = $2)', [True, "out"]),
        sqlite=(' WHERE "gq_book"."in_print" = ? AND NOT ("gq_book"."status" = ?)', [1, "out"]),
        mysql=(" WHERE `gq_book`.`in_print` = %s AND NOT (`gq_book`.`status` = %s)", [1, "out"]),
    ),
    case(
        "order_by_asc",
        lambda: B.order_by("title"),
        pg=(' ORDER BY "gq_book"."title"', []),
        sqlite=(' ORDER BY "gq_book"."title"', []),
        mysql=(" ORDER BY `gq_book`.`title`", []),
    ),
    case(
        "order_by_desc_and_asc",
        lambda: B.order_by("-pages", "title"),
        pg=(' ORDER BY "gq_book"."pages" DESC, "gq_book"."title"', []),
        sqlite=(' ORDER BY "gq_book"."pages" DESC, "gq_book"."title"', []),
        mysql=(" ORDER BY `gq_book`.`pages` DESC, `gq_book`.`title`", []),
    ),
    case(
        "order_by_random",
        lambda: B.order_by("?"),
        pg=(" ORDER BY RANDOM()", []),
        sqlite=(" ORDER BY RANDOM()", []),
        mysql=(" ORDER BY RAND()", []),
    ),
    case(
        "order_by_replaces",
        lambda: B.order_by("title").order_by("-id"),
        pg=(' ORDER BY "gq_book"."id" DESC', []),
        sqlite=(' ORDER BY "gq_book"."id" DESC', []),
        mysql=(" ORDER BY `gq_book`.`id` DESC", []),
    ),
    case(
        "order_by_pk_alias",
        lambda: B.order_by("-pk"),
        pg=(' ORDER BY "gq_book"."id" DESC', []),
        sqlite=(' ORDER BY "gq_book"."id" DESC', []),
        mysql=(" ORDER BY `gq_book`.`id` DESC", []),
    ),
    case(
        "order_by_fk_column",
        lambda: B.order_by("author"),
        pg=(' ORDER BY "gq_book"."author_id"', []),
        sqlite=(' ORDER BY "gq_book"."author_id"', []),
        mysql=(" ORDER BY `gq_book`.`author_id`", []),
    ),
    case(
        "order_by_fk_path",
        lambda: B.order_by("author__name", "-title"),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" ORDER BY "author"."name", "gq_book"."title" DESC'
            ),
            [],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" ORDER BY "author"."name", "gq_book"."title" DESC'
            ),
            [],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` ORDER BY `author`.`name`, `gq_book`.`title` DESC"
            ),
            [],
        ),
    ),
    case(
        "order_by_fk_path_depth2_desc",
        lambda: B.order_by("-author__company__name"),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" ORDER BY '
                '"author__company"."name" DESC'
            ),
            [],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" ORDER BY '
                '"author__company"."name" DESC'
            ),
            [],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` ORDER BY "
                "`author__company`.`name` DESC"
            ),
            [],
        ),
    ),
    case(
        "limit",
        lambda: B.limit(10),
        pg=(" LIMIT $1", [10]),
        sqlite=(" LIMIT ?", [10]),
        mysql=(" LIMIT %s", [10]),
    ),
    case(
        "offset_alone",
        lambda: B.offset(5),
        pg=(" OFFSET $1", [5]),
        sqlite=(" LIMIT -1 OFFSET ?", [5]),
        mysql=(" LIMIT 18446744073709551615 OFFSET %s", [5]),
    ),
    case(
        "limit_offset",
        lambda: B.order_by("id").limit(10).offset(20),
        pg=(' ORDER BY "gq_book"."id" LIMIT $1 OFFSET $2', [10, 20]),
        sqlite=(' ORDER BY "gq_book"."id" LIMIT ? OFFSET ?', [10, 20]),
        mysql=(" ORDER BY `gq_book`.`id` LIMIT %s OFFSET %s", [10, 20]),
    ),
    case(
        "offset_then_limit",
        lambda: B.offset(20).limit(10),
        pg=(" LIMIT $1 OFFSET $2", [10, 20]),
        sqlite=(" LIMIT ? OFFSET ?", [10, 20]),
        mysql=(" LIMIT %s OFFSET %s", [10, 20]),
    ),
    case(
        "slice",
        lambda: B.order_by("id")[5:15],
        pg=(' ORDER BY "gq_book"."id" LIMIT $1 OFFSET $2', [10, 5]),
        sqlite=(' ORDER BY "gq_book"."id" LIMIT ? OFFSET ?', [10, 5]),
        mysql=(" ORDER BY `gq_book`.`id` LIMIT %s OFFSET %s", [10, 5]),
    ),
    case(
        "slice_stop_only",
        lambda: B.query()[:3],
        pg=(" LIMIT $1", [3]),
        sqlite=(" LIMIT ?", [3]),
        mysql=(" LIMIT %s", [3]),
    ),
    case(
        "slice_start_only",
        lambda: B.query()[7:],
        pg=(" OFFSET $1", [7]),
        sqlite=(" LIMIT -1 OFFSET ?", [7]),
        mysql=(" LIMIT 18446744073709551615 OFFSET %s", [7]),
    ),
    case(
        "index",
        lambda: B.query()[4],
        pg=(" LIMIT $1 OFFSET $2", [1, 4]),
        sqlite=(" LIMIT ? OFFSET ?", [1, 4]),
        mysql=(" LIMIT %s OFFSET %s", [1, 4]),
    ),
    case(
        "for_update",
        lambda: B.filter(id=1).for_update(),
        pg=(' WHERE "gq_book"."id" = $1 FOR UPDATE', [1]),
        sqlite=(' WHERE "gq_book"."id" = ?', [1]),
        mysql=(" WHERE `gq_book`.`id` = %s FOR UPDATE", [1]),
    ),
    case(
        "for_update_nowait",
        lambda: B.filter(id=1).for_update(nowait=True),
        pg=(' WHERE "gq_book"."id" = $1 FOR UPDATE NOWAIT', [1]),
        sqlite=(' WHERE "gq_book"."id" = ?', [1]),
        mysql=(" WHERE `gq_book`.`id` = %s FOR UPDATE NOWAIT", [1]),
    ),
    case(
        "for_update_skip_locked",
        lambda: B.for_update(skip_locked=True).limit(1),
        pg=(" LIMIT $1 FOR UPDATE SKIP LOCKED", [1]),
        sqlite=(" LIMIT ?", [1]),
        mysql=(" LIMIT %s FOR UPDATE SKIP LOCKED", [1]),
    ),
    case(
        "for_update_of_self",
        lambda: B.for_update(of=("self",)),
        pg=(' FOR UPDATE OF "gq_book"', []),
        sqlite=("", []),
        mysql=(" FOR UPDATE", []),
    ),
    case(
        "for_update_of_related",
        lambda: B.filter(author__name="Le Guin").for_update(of=("self", "author"), nowait=True),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."name" = $1 FOR UPDATE OF "gq_book", '
                '"author" NOWAIT'
            ),
            ["Le Guin"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."name" = ?'
            ),
            ["Le Guin"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` WHERE `author`.`name` = %s FOR UPDATE NOWAIT"
            ),
            ["Le Guin"],
        ),
    ),
    case(
        "select_for_update",
        lambda: B.select_for_update(skip_locked=True),
        pg=(" FOR UPDATE SKIP LOCKED", []),
        sqlite=("", []),
        mysql=(" FOR UPDATE SKIP LOCKED", []),
    ),
    case(
        "for_share",
        lambda: B.for_share(),
        pg=(" FOR SHARE", []),
        sqlite=("", []),
        mysql=(" LOCK IN SHARE MODE", []),
    ),
    case(
        "for_share_nowait",
        lambda: B.for_share(nowait=True),
        pg=(" FOR SHARE NOWAIT", []),
        sqlite=("", []),
        mysql=(" LOCK IN SHARE MODE NOWAIT", []),
    ),
    case(
        "for_share_skip_locked_of",
        lambda: B.for_share(skip_locked=True, of=("GqBook",)),
        pg=(' FOR SHARE OF "gq_book" SKIP LOCKED', []),
        sqlite=("", []),
        mysql=(" LOCK IN SHARE MODE SKIP LOCKED", []),
    ),
    case(
        "exact_implicit",
        lambda: B.filter(title="Dune"),
        pg=(' WHERE "gq_book"."title" = $1', ["Dune"]),
        sqlite=(' WHERE "gq_book"."title" = ?', ["Dune"]),
        mysql=(" WHERE `gq_book`.`title` = %s", ["Dune"]),
    ),
    case(
        "exact",
        lambda: B.filter(pages__exact=300),
        pg=(' WHERE "gq_book"."pages" = $1', [300]),
        sqlite=(' WHERE "gq_book"."pages" = ?', [300]),
        mysql=(" WHERE `gq_book`.`pages` = %s", [300]),
    ),
    case(
        "exact_none",
        lambda: B.filter(published=None),
        pg=(' WHERE "gq_book"."published" IS NULL', []),
        sqlite=(' WHERE "gq_book"."published" IS NULL', []),
        mysql=(" WHERE `gq_book`.`published` IS NULL", []),
    ),
    case(
        "exact_none_explicit",
        lambda: B.filter(released__exact=None),
        pg=(' WHERE "gq_book"."released" IS NULL', []),
        sqlite=(' WHERE "gq_book"."released" IS NULL', []),
        mysql=(" WHERE `gq_book`.`released` IS NULL", []),
    ),
    case(
        "exact_typed_values",
        lambda: B.filter(
            in_print=False,
            released=dt.date(2024, 1, 2),
            price=Decimal("9.90"),
            uid=uuid.UUID(int=1),
            status=GqStatus.OUT,
        ),
        pg=(
            (
                ' WHERE "gq_book"."in_print" = $1 AND "gq_book"."released" = $2 AND '
                '"gq_book"."price" = $3 AND "gq_book"."uid" = $4 AND '
                '"gq_book"."status" = $5'
            ),
            [
                False,
                dt.date(2024, 1, 2),
                Decimal("9.90"),
                uuid.UUID("00000000-0000-0000-0000-000000000001"),
                "out",
            ],
        ),
        sqlite=(
            (
                ' WHERE "gq_book"."in_print" = ? AND "gq_book"."released" = ? AND '
                '"gq_book"."price" = ? AND "gq_book"."uid" = ? AND "gq_book"."status" '
                "= ?"
            ),
            [0, "2024-01-02", "9.90", "00000000-0000-0000-0000-000000000001", "out"],
        ),
        mysql=(
            (
                " WHERE `gq_book`.`in_print` = %s AND `gq_book`.`released` = %s AND "
                "`gq_book`.`price` = %s AND `gq_book`.`uid` = %s AND "
                "`gq_book`.`status` = %s"
            ),
            [
                0,
                dt.date(2024, 1, 2),
                Decimal("9.90"),
                "00000000-0000-0000-0000-000000000001",
                "out",
            ],
        ),
    ),
    case(
        "exact_datetime",
        lambda: B.filter(published=dt.datetime(2024, 5, 6, 7, 8, 9, 10)),
        pg=(' WHERE "gq_book"."published" = $1', [dt.datetime(2024, 5, 6, 7, 8, 9, 10)]),
        # every spelling of the instant: the text range up to the next microsecond
        sqlite=(
            ' WHERE ("gq_book"."published" >= ? AND "gq_book"."published" < ?)',
            ["2024-05-06 07:08:09.000010", "2024-05-06 07:08:09.000011"],
        ),
        mysql=(" WHERE `gq_book`.`published` = %s", [dt.datetime(2024, 5, 6, 7, 8, 9, 10)]),
    ),
    case(
        "exact_coerced",
        lambda: B.filter(pages="12", price="3.5"),
        pg=(' WHERE "gq_book"."pages" = $1 AND "gq_book"."price" = $2', [12, Decimal("3.5")]),
        sqlite=(' WHERE "gq_book"."pages" = ? AND "gq_book"."price" = ?', [12, "3.5"]),
        mysql=(" WHERE `gq_book`.`pages` = %s AND `gq_book`.`price` = %s", [12, Decimal("3.5")]),
    ),
    case(
        "pk",
        lambda: B.filter(pk=7),
        pg=(' WHERE "gq_book"."id" = $1', [7]),
        sqlite=(' WHERE "gq_book"."id" = ?', [7]),
        mysql=(" WHERE `gq_book`.`id` = %s", [7]),
    ),
    case(
        "iexact",
        lambda: B.filter(title__iexact="dune_%"),
        pg=(' WHERE LOWER("gq_book"."title") LIKE LOWER($1) ESCAPE \'\\\'', ["dune\\_\\%"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            'LOWER("gq_book"."title") LIKE LOWER(?) ESCAPE \'\\\' END',
            ["dune\\_\\%", "dune\\_\\%"],
        ),
        mysql=(" WHERE LOWER(`gq_book`.`title`) LIKE LOWER(%s) ESCAPE '\\\\'", ["dune\\_\\%"]),
    ),
    case(
        "contains",
        lambda: B.filter(title__contains="50%"),
        pg=(' WHERE "gq_book"."title" LIKE $1 ESCAPE \'\\\'', ["%50\\%%"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            '"gq_book"."title" LIKE ? ESCAPE \'\\\' END',
            ["%50\\%%", "%50\\%%"],
        ),
        mysql=(" WHERE `gq_book`.`title` LIKE BINARY %s ESCAPE '\\\\'", ["%50\\%%"]),
    ),
    case(
        "icontains",
        lambda: B.filter(title__icontains="a_b"),
        pg=(' WHERE LOWER("gq_book"."title") LIKE LOWER($1) ESCAPE \'\\\'', ["%a\\_b%"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            'LOWER("gq_book"."title") LIKE LOWER(?) ESCAPE \'\\\' END',
            ["%a\\_b%", "%a\\_b%"],
        ),
        mysql=(" WHERE LOWER(`gq_book`.`title`) LIKE LOWER(%s) ESCAPE '\\\\'", ["%a\\_b%"]),
    ),
    case(
        "startswith",
        lambda: B.filter(title__startswith="The "),
        pg=(' WHERE "gq_book"."title" LIKE $1 ESCAPE \'\\\'', ["The %"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            '"gq_book"."title" LIKE ? ESCAPE \'\\\' END',
            ["The %", "The %"],
        ),
        mysql=(" WHERE `gq_book`.`title` LIKE BINARY %s ESCAPE '\\\\'", ["The %"]),
    ),
    case(
        "istartswith",
        lambda: B.filter(title__istartswith="100%_"),
        pg=(' WHERE LOWER("gq_book"."title") LIKE LOWER($1) ESCAPE \'\\\'', ["100\\%\\_%"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            'LOWER("gq_book"."title") LIKE LOWER(?) ESCAPE \'\\\' END',
            ["100\\%\\_%", "100\\%\\_%"],
        ),
        mysql=(" WHERE LOWER(`gq_book`.`title`) LIKE LOWER(%s) ESCAPE '\\\\'", ["100\\%\\_%"]),
    ),
    case(
        "endswith",
        lambda: B.filter(title__endswith="\\end"),
        pg=(' WHERE "gq_book"."title" LIKE $1 ESCAPE \'\\\'', ["%\\\\end"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            '"gq_book"."title" LIKE ? ESCAPE \'\\\' END',
            ["%\\\\end", "%\\\\end"],
        ),
        mysql=(" WHERE `gq_book`.`title` LIKE BINARY %s ESCAPE '\\\\'", ["%\\\\end"]),
    ),
    case(
        "iendswith",
        lambda: B.filter(title__iendswith="_%\\"),
        pg=(' WHERE LOWER("gq_book"."title") LIKE LOWER($1) ESCAPE \'\\\'', ["%\\_\\%\\\\"]),
        sqlite=(
            ' WHERE CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
            'oxyde_like(?, "gq_book"."title") ELSE '
            'LOWER("gq_book"."title") LIKE LOWER(?) ESCAPE \'\\\' END',
            ["%\\_\\%\\\\", "%\\_\\%\\\\"],
        ),
        mysql=(" WHERE LOWER(`gq_book`.`title`) LIKE LOWER(%s) ESCAPE '\\\\'", ["%\\_\\%\\\\"]),
    ),
    case(
        "gt",
        lambda: B.filter(pages__gt=100),
        pg=(' WHERE "gq_book"."pages" > $1', [100]),
        sqlite=(' WHERE "gq_book"."pages" > ?', [100]),
        mysql=(" WHERE `gq_book`.`pages` > %s", [100]),
    ),
    case(
        "gte",
        lambda: B.filter(rating__gte=4.5),
        pg=(' WHERE "gq_book"."rating" >= $1', [4.5]),
        sqlite=(' WHERE "gq_book"."rating" >= ?', [4.5]),
        mysql=(" WHERE `gq_book`.`rating` >= %s", [4.5]),
    ),
    case(
        "lt",
        lambda: B.filter(price__lt=Decimal("10.00")),
        pg=(' WHERE "gq_book"."price" < $1', [Decimal("10.00")]),
        sqlite=(' WHERE "gq_book"."price" < ?', ["10.00"]),
        mysql=(" WHERE `gq_book`.`price` < %s", [Decimal("10.00")]),
    ),
    case(
        "lte",
        lambda: B.filter(released__lte=dt.date(2000, 12, 31)),
        pg=(' WHERE "gq_book"."released" <= $1', [dt.date(2000, 12, 31)]),
        sqlite=(' WHERE "gq_book"."released" <= ?', ["2000-12-31"]),
        mysql=(" WHERE `gq_book`.`released` <= %s", [dt.date(2000, 12, 31)]),
    ),
    case(
        "in",
        lambda: B.filter(pages__in=[1, 2, 3]),
        pg=(' WHERE "gq_book"."pages" = ANY($1)', [[1, 2, 3]]),
        sqlite=(' WHERE "gq_book"."pages" IN (?, ?, ?)', [1, 2, 3]),
        mysql=(" WHERE `gq_book`.`pages` IN (%s, %s, %s)", [1, 2, 3]),
    ),
    case(
        "in_tuple_of_str",
        lambda: B.filter(status__in=(GqStatus.DRAFT, "out")),
        pg=(' WHERE "gq_book"."status" = ANY($1)', [["draft", "out"]]),
        sqlite=(' WHERE "gq_book"."status" IN (?, ?)', ["draft", "out"]),
        mysql=(" WHERE `gq_book`.`status` IN (%s, %s)", ["draft", "out"]),
    ),
    case(
        "in_one",
        lambda: B.filter(id__in=[9]),
        pg=(' WHERE "gq_book"."id" = ANY($1)', [[9]]),
        sqlite=(' WHERE "gq_book"."id" IN (?)', [9]),
        mysql=(" WHERE `gq_book`.`id` IN (%s)", [9]),
    ),
    case(
        "in_empty",
        lambda: B.filter(pages__in=[]),
        pg=(" WHERE FALSE", []),
        sqlite=(" WHERE 1 = 0", []),
        mysql=(" WHERE FALSE", []),
    ),
    case(
        "exclude_in_empty",
        lambda: B.exclude(pages__in=[]),
        pg=(" WHERE NOT (FALSE)", []),
        sqlite=(" WHERE NOT (1 = 0)", []),
        mysql=(" WHERE NOT (FALSE)", []),
    ),
    case(
        "range",
        lambda: B.filter(pages__range=(10, 20)),
        pg=(' WHERE "gq_book"."pages" BETWEEN $1 AND $2', [10, 20]),
        sqlite=(' WHERE "gq_book"."pages" BETWEEN ? AND ?', [10, 20]),
        mysql=(" WHERE `gq_book`.`pages` BETWEEN %s AND %s", [10, 20]),
    ),
    case(
        "between",
        lambda: B.filter(
            published__between=[dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 30, 23, 59)]
        ),
        pg=(
            ' WHERE "gq_book"."published" BETWEEN $1 AND $2',
            [dt.datetime(2024, 1, 1, 0, 0), dt.datetime(2024, 6, 30, 23, 59)],
        ),
        sqlite=(
            ' WHERE ("gq_book"."published" >= ? AND "gq_book"."published" < ?)',
            ["2024-01-01 00:00:00", "2024-06-30 23:59:00.000001"],
        ),
        mysql=(
            " WHERE `gq_book`.`published` BETWEEN %s AND %s",
            [dt.datetime(2024, 1, 1, 0, 0), dt.datetime(2024, 6, 30, 23, 59)],
        ),
    ),
    case(
        "isnull_true",
        lambda: B.filter(published__isnull=True),
        pg=(' WHERE "gq_book"."published" IS NULL', []),
        sqlite=(' WHERE "gq_book"."published" IS NULL', []),
        mysql=(" WHERE `gq_book`.`published` IS NULL", []),
    ),
    case(
        "isnull_false",
        lambda: B.filter(author__isnull=False),
        pg=(' WHERE "gq_book"."author_id" IS NOT NULL', []),
        sqlite=(' WHERE "gq_book"."author_id" IS NOT NULL', []),
        mysql=(" WHERE `gq_book`.`author_id` IS NOT NULL", []),
    ),
    case(
        "year_datetime",
        lambda: B.filter(published__year=2024),
        pg=(
            ' WHERE "gq_book"."published" >= $1 AND "gq_book"."published" < $2',
            [dt.datetime(2024, 1, 1, 0, 0), dt.datetime(2025, 1, 1, 0, 0)],
        ),
        sqlite=(
            ' WHERE "gq_book"."published" >= ? AND "gq_book"."published" < ?',
            ["2024-01-01 00:00:00", "2025-01-01 00:00:00"],
        ),
        mysql=(
            " WHERE `gq_book`.`published` >= %s AND `gq_book`.`published` < %s",
            [dt.datetime(2024, 1, 1, 0, 0), dt.datetime(2025, 1, 1, 0, 0)],
        ),
    ),
    case(
        "year_date",
        lambda: B.filter(released__year=1999),
        pg=(
            ' WHERE "gq_book"."released" >= $1 AND "gq_book"."released" < $2',
            [dt.date(1999, 1, 1), dt.date(2000, 1, 1)],
        ),
        sqlite=(
            ' WHERE "gq_book"."released" >= ? AND "gq_book"."released" < ?',
            ["1999-01-01", "2000-01-01"],
        ),
        mysql=(
            " WHERE `gq_book`.`released` >= %s AND `gq_book`.`released` < %s",
            [dt.date(1999, 1, 1), dt.date(2000, 1, 1)],
        ),
    ),
    case(
        "month",
        lambda: B.filter(released__month=(2024, 2)),
        pg=(
            ' WHERE "gq_book"."released" >= $1 AND "gq_book"."released" < $2',
            [dt.date(2024, 2, 1), dt.date(2024, 3, 1)],
        ),
        sqlite=(
            ' WHERE "gq_book"."released" >= ? AND "gq_book"."released" < ?',
            ["2024-02-01", "2024-03-01"],
        ),
        mysql=(
            " WHERE `gq_book`.`released` >= %s AND `gq_book`.`released` < %s",
            [dt.date(2024, 2, 1), dt.date(2024, 3, 1)],
        ),
    ),
    case(
        "month_december",
        lambda: B.filter(published__month=(2023, 12)),
        pg=(
            ' WHERE "gq_book"."published" >= $1 AND "gq_book"."published" < $2',
            [dt.datetime(2023, 12, 1, 0, 0), dt.datetime(2024, 1, 1, 0, 0)],
        ),
        sqlite=(
            ' WHERE "gq_book"."published" >= ? AND "gq_book"."published" < ?',
            ["2023-12-01 00:00:00", "2024-01-01 00:00:00"],
        ),
        mysql=(
            " WHERE `gq_book`.`published` >= %s AND `gq_book`.`published` < %s",
            [dt.datetime(2023, 12, 1, 0, 0), dt.datetime(2024, 1, 1, 0, 0)],
        ),
    ),
    case(
        "day",
        lambda: B.filter(published__day=(2024, 2, 29)),
        pg=(
            ' WHERE "gq_book"."published" >= $1 AND "gq_book"."published" < $2',
            [dt.datetime(2024, 2, 29, 0, 0), dt.datetime(2024, 3, 1, 0, 0)],
        ),
        sqlite=(
            ' WHERE "gq_book"."published" >= ? AND "gq_book"."published" < ?',
            ["2024-02-29 00:00:00", "2024-03-01 00:00:00"],
        ),
        mysql=(
            " WHERE `gq_book`.`published` >= %s AND `gq_book`.`published` < %s",
            [dt.datetime(2024, 2, 29, 0, 0), dt.datetime(2024, 3, 1, 0, 0)],
        ),
    ),
    case(
        "date",
        lambda: B.filter(published__date=dt.date(2024, 12, 31)),
        pg=(
            ' WHERE "gq_book"."published" >= $1 AND "gq_book"."published" < $2',
            [dt.datetime(2024, 12, 31, 0, 0), dt.datetime(2025, 1, 1, 0, 0)],
        ),
        sqlite=(
            ' WHERE "gq_book"."published" >= ? AND "gq_book"."published" < ?',
            ["2024-12-31 00:00:00", "2025-01-01 00:00:00"],
        ),
        mysql=(
            " WHERE `gq_book`.`published` >= %s AND `gq_book`.`published` < %s",
            [dt.datetime(2024, 12, 31, 0, 0), dt.datetime(2025, 1, 1, 0, 0)],
        ),
    ),
    case(
        "hour",
        lambda: B.filter(published__hour=13),
        pg=(' WHERE CAST(EXTRACT(HOUR FROM "gq_book"."published") AS INTEGER) = $1', [13]),
        sqlite=(' WHERE CAST(strftime(\'%H\', "gq_book"."published") AS INTEGER) = ?', [13]),
        mysql=(" WHERE CAST(EXTRACT(HOUR FROM `gq_book`.`published`) AS SIGNED) = %s", [13]),
    ),
    case(
        "ne",
        lambda: B.filter(pages__ne=0),
        pg=(' WHERE "gq_book"."pages" <> $1', [0]),
        sqlite=(' WHERE "gq_book"."pages" <> ?', [0]),
        mysql=(" WHERE `gq_book`.`pages` <> %s", [0]),
    ),
    case(
        "ne_none",
        lambda: B.filter(published__ne=None),
        pg=(' WHERE "gq_book"."published" IS NOT NULL', []),
        sqlite=(' WHERE "gq_book"."published" IS NOT NULL', []),
        mysql=(" WHERE `gq_book`.`published` IS NOT NULL", []),
    ),
    case(
        "regex",
        lambda: B.filter(title__regex=r"^D\\w+$"),
        pg=(' WHERE "gq_book"."title" ~ $1', ["^D\\\\w+$"]),
        sqlite=(' WHERE "gq_book"."title" REGEXP ?', ["^D\\\\w+$"]),
        mysql=(" WHERE `gq_book`.`title` REGEXP CONCAT('(?-i)', %s)", ["^D\\\\w+$"]),
    ),
    case(
        "iregex",
        lambda: B.filter(title__iregex="^dune"),
        pg=(' WHERE "gq_book"."title" ~* $1', ["^dune"]),
        sqlite=(' WHERE "gq_book"."title" REGEXP (\'(?i)\' || ?)', ["^dune"]),
        mysql=(" WHERE `gq_book`.`title` REGEXP CONCAT('(?i)', %s)", ["^dune"]),
    ),
    case(
        "fk_exact",
        lambda: B.filter(author=5),
        pg=(' WHERE "gq_book"."author_id" = $1', [5]),
        sqlite=(' WHERE "gq_book"."author_id" = ?', [5]),
        mysql=(" WHERE `gq_book`.`author_id` = %s", [5]),
    ),
    case(
        "fk_id_column",
        lambda: B.filter(author_id=5),
        pg=(' WHERE "gq_book"."author_id" = $1', [5]),
        sqlite=(' WHERE "gq_book"."author_id" = ?', [5]),
        mysql=(" WHERE `gq_book`.`author_id` = %s", [5]),
    ),
    case(
        "fk_instance",
        lambda: B.filter(author=GqAuthor(id=8, name="x")),
        pg=(' WHERE "gq_book"."author_id" = $1', [8]),
        sqlite=(' WHERE "gq_book"."author_id" = ?', [8]),
        mysql=(" WHERE `gq_book`.`author_id` = %s", [8]),
    ),
    case(
        "fk_in",
        lambda: B.filter(author__in=[1, 2]),
        pg=(' WHERE "gq_book"."author_id" = ANY($1)', [[1, 2]]),
        sqlite=(' WHERE "gq_book"."author_id" IN (?, ?)', [1, 2]),
        mysql=(" WHERE `gq_book`.`author_id` IN (%s, %s)", [1, 2]),
    ),
    case(
        "fk_none",
        lambda: B.filter(author=None),
        pg=(' WHERE "gq_book"."author_id" IS NULL', []),
        sqlite=(' WHERE "gq_book"."author_id" IS NULL', []),
        mysql=(" WHERE `gq_book`.`author_id` IS NULL", []),
    ),
    case(
        "fk_depth1",
        lambda: B.filter(author__name="Le Guin"),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."name" = $1'
            ),
            ["Le Guin"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."name" = ?'
            ),
            ["Le Guin"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` WHERE `author`.`name` = %s"
            ),
            ["Le Guin"],
        ),
    ),
    case(
        "fk_depth1_pk",
        lambda: B.filter(author__pk=3),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."id" = $1'
            ),
            [3],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."id" = ?'
            ),
            [3],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` WHERE `author`.`id` = %s"
            ),
            [3],
        ),
    ),
    case(
        "fk_depth2",
        lambda: B.filter(author__company__name__icontains="press"),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" WHERE '
                'LOWER("author__company"."name") LIKE LOWER($1) ESCAPE \'\\\''
            ),
            ["%press%"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" WHERE '
                'CASE WHEN instr("author__company"."name", char(0)) > 0 THEN '
                'oxyde_like(?, "author__company"."name") ELSE '
                'LOWER("author__company"."name") LIKE LOWER(?) ESCAPE \'\\\' END'
            ),
            ["%press%", "%press%"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` WHERE "
                "LOWER(`author__company`.`name`) LIKE LOWER(%s) ESCAPE '\\\\'"
            ),
            ["%press%"],
        ),
    ),
    case(
        "fk_depth3",
        lambda: B.filter(author__company__country__code="FR"),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE '
                '"author__company__country"."code" = $1'
            ),
            ["FR"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE '
                '"author__company__country"."code" = ?'
            ),
            ["FR"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` LEFT JOIN `gq_country` "
                "AS `author__company__country` ON `author__company`.`country_id` = "
                "`author__company__country`.`id` WHERE "
                "`author__company__country`.`code` = %s"
            ),
            ["FR"],
        ),
    ),
    case(
        "fk_depth3_lookup",
        lambda: B.filter(author__company__country__code__in=["FR", "DE"]),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE '
                '"author__company__country"."code" = ANY($1)'
            ),
            [["FR", "DE"]],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE '
                '"author__company__country"."code" IN (?, ?)'
            ),
            ["FR", "DE"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` LEFT JOIN `gq_country` "
                "AS `author__company__country` ON `author__company`.`country_id` = "
                "`author__company__country`.`id` WHERE "
                "`author__company__country`.`code` IN (%s, %s)"
            ),
            ["FR", "DE"],
        ),
    ),
    case(
        "fk_paths_share_joins",
        lambda: B.filter(author__name="A", author__company__name="C").order_by(
            "author__company__country__code"
        ),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE "author"."name" = $1 AND '
                '"author__company"."name" = $2 ORDER BY '
                '"author__company__country"."code"'
            ),
            ["A", "C"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE "author"."name" = ? AND '
                '"author__company"."name" = ? ORDER BY '
                '"author__company__country"."code"'
            ),
            ["A", "C"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` LEFT JOIN `gq_country` "
                "AS `author__company__country` ON `author__company`.`country_id` = "
                "`author__company__country`.`id` WHERE `author`.`name` = %s AND "
                "`author__company`.`name` = %s ORDER BY "
                "`author__company__country`.`code`"
            ),
            ["A", "C"],
        ),
    ),
    case(
        "fk_exclude",
        lambda: B.exclude(author__company__name="C"),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" WHERE NOT '
                '("author__company"."name" = $1 AND "author__company"."name" IS NOT NULL)'
            ),
            ["C"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" WHERE NOT '
                '("author__company"."name" = ? AND "author__company"."name" IS NOT NULL)'
            ),
            ["C"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` WHERE NOT "
                "(`author__company`.`name` = %s AND `author__company`.`name` IS NOT NULL)"
            ),
            ["C"],
        ),
    ),
    case(
        "q_or",
        lambda: B.filter(Q(title="A") | Q(pages__gt=3)),
        pg=(' WHERE "gq_book"."title" = $1 OR "gq_book"."pages" > $2', ["A", 3]),
        sqlite=(' WHERE "gq_book"."title" = ? OR "gq_book"."pages" > ?', ["A", 3]),
        mysql=(" WHERE `gq_book`.`title` = %s OR `gq_book`.`pages` > %s", ["A", 3]),
    ),
    case(
        "q_and",
        lambda: B.filter(Q(title="A") & Q(pages__gt=3)),
        pg=(' WHERE "gq_book"."title" = $1 AND "gq_book"."pages" > $2', ["A", 3]),
        sqlite=(' WHERE "gq_book"."title" = ? AND "gq_book"."pages" > ?', ["A", 3]),
        mysql=(" WHERE `gq_book`.`title` = %s AND `gq_book`.`pages` > %s", ["A", 3]),
    ),
    case(
        "q_not",
        lambda: B.filter(~Q(title="A")),
        pg=(' WHERE NOT ("gq_book"."title" = $1)', ["A"]),
        sqlite=(' WHERE NOT ("gq_book"."title" = ?)', ["A"]),
        mysql=(" WHERE NOT (`gq_book`.`title` = %s)", ["A"]),
    ),
    case(
        "q_nested",
        lambda: B.filter((Q(title="A") | Q(title="B")) & ~Q(pages__lt=10)),
        pg=(
            (
                ' WHERE ("gq_book"."title" = $1 OR "gq_book"."title" = $2) AND NOT '
                '("gq_book"."pages" < $3)'
            ),
            ["A", "B", 10],
        ),
        sqlite=(
            (
                ' WHERE ("gq_book"."title" = ? OR "gq_book"."title" = ?) AND NOT '
                '("gq_book"."pages" < ?)'
            ),
            ["A", "B", 10],
        ),
        mysql=(
            (
                " WHERE (`gq_book`.`title` = %s OR `gq_book`.`title` = %s) AND NOT "
                "(`gq_book`.`pages` < %s)"
            ),
            ["A", "B", 10],
        ),
    ),
    case(
        "q_or_of_ands",
        lambda: B.filter(Q(title="A", pages=1) | Q(title="B", pages=2)),
        pg=(
            (
                ' WHERE ("gq_book"."title" = $1 AND "gq_book"."pages" = $2) OR '
                '("gq_book"."title" = $3 AND "gq_book"."pages" = $4)'
            ),
            ["A", 1, "B", 2],
        ),
        sqlite=(
            (
                ' WHERE ("gq_book"."title" = ? AND "gq_book"."pages" = ?) OR '
                '("gq_book"."title" = ? AND "gq_book"."pages" = ?)'
            ),
            ["A", 1, "B", 2],
        ),
        mysql=(
            (
                " WHERE (`gq_book`.`title` = %s AND `gq_book`.`pages` = %s) OR "
                "(`gq_book`.`title` = %s AND `gq_book`.`pages` = %s)"
            ),
            ["A", 1, "B", 2],
        ),
    ),
    case(
        "q_not_or",
        lambda: B.filter(~(Q(published__isnull=True) | Q(in_print=False))),
        pg=((' WHERE NOT ("gq_book"."published" IS NULL OR "gq_book"."in_print" = $1)'), [False]),
        sqlite=(' WHERE NOT ("gq_book"."published" IS NULL OR "gq_book"."in_print" = ?)', [0]),
        mysql=((" WHERE NOT (`gq_book`.`published` IS NULL OR `gq_book`.`in_print` = %s)"), [0]),
    ),
    case(
        "q_with_kwargs",
        lambda: B.filter(Q(pages__gt=1) | Q(rating__lt=2.0), title__startswith="X"),
        pg=(
            (
                ' WHERE ("gq_book"."pages" > $1 OR "gq_book"."rating" < $2) AND '
                '"gq_book"."title" LIKE $3 ESCAPE \'\\\''
            ),
            [1, 2.0, "X%"],
        ),
        sqlite=(
            (
                ' WHERE ("gq_book"."pages" > ? OR "gq_book"."rating" < ?) AND '
                'CASE WHEN instr("gq_book"."title", char(0)) > 0 THEN '
                'oxyde_like(?, "gq_book"."title") ELSE '
                '"gq_book"."title" LIKE ? ESCAPE \'\\\' END'
            ),
            [1, 2.0, "X%", "X%"],
        ),
        mysql=(
            (
                " WHERE (`gq_book`.`pages` > %s OR `gq_book`.`rating` < %s) AND "
                "`gq_book`.`title` LIKE BINARY %s ESCAPE '\\\\'"
            ),
            [1, 2.0, "X%"],
        ),
    ),
    case(
        "q_across_fk",
        lambda: B.filter(Q(author__name="A") | Q(author__company__country__code="FR")),
        pg=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE "author"."name" = $1 OR '
                '"author__company__country"."code" = $2'
            ),
            ["A", "FR"],
        ),
        sqlite=(
            (
                ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" LEFT JOIN "gq_company" AS "author__company" ON '
                '"author"."company_id" = "author__company"."id" LEFT JOIN "gq_country" '
                'AS "author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE "author"."name" = ? OR '
                '"author__company__country"."code" = ?'
            ),
            ["A", "FR"],
        ),
        mysql=(
            (
                " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` LEFT JOIN `gq_company` AS `author__company` ON "
                "`author`.`company_id` = `author__company`.`id` LEFT JOIN `gq_country` "
                "AS `author__company__country` ON `author__company`.`country_id` = "
                "`author__company__country`.`id` WHERE `author`.`name` = %s OR "
                "`author__company__country`.`code` = %s"
            ),
            ["A", "FR"],
        ),
    ),
    case(
        "q_exclude",
        lambda: B.exclude(Q(pages=1) | Q(pages=2)),
        pg=(' WHERE NOT ("gq_book"."pages" = $1 OR "gq_book"."pages" = $2)', [1, 2]),
        sqlite=(' WHERE NOT ("gq_book"."pages" = ? OR "gq_book"."pages" = ?)', [1, 2]),
        mysql=(" WHERE NOT (`gq_book`.`pages` = %s OR `gq_book`.`pages` = %s)", [1, 2]),
    ),
    case(
        "q_empty",
        lambda: B.filter(Q()),
        pg=("", []),
        sqlite=("", []),
        mysql=("", []),
    ),
]

# Everything else: the whole statement.
FULL_CASES = [
    case(
        "all",
        lambda: B.query(),
        pg=(BOOK_PG + "", []),
        sqlite=(BOOK_SQLITE + "", []),
        mysql=(BOOK_MYSQL + "", []),
    ),
    case(
        "distinct",
        lambda: B.distinct(),
        pg=(
            (
                'SELECT DISTINCT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id" FROM '
                '"gq_book"'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT DISTINCT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id" FROM '
                '"gq_book"'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT DISTINCT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id` FROM "
                "`gq_book`"
            ),
            [],
        ),
    ),
    case(
        "distinct_filtered_ordered",
        lambda: B.filter(pages__gte=100).order_by("title").distinct(),
        pg=(
            (
                'SELECT DISTINCT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id" FROM '
                '"gq_book" WHERE "gq_book"."pages" >= $1 ORDER BY "gq_book"."title"'
            ),
            [100],
        ),
        sqlite=(
            (
                'SELECT DISTINCT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id" FROM '
                '"gq_book" WHERE "gq_book"."pages" >= ? ORDER BY "gq_book"."title"'
            ),
            [100],
        ),
        mysql=(
            (
                "SELECT DISTINCT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id` FROM "
                "`gq_book` WHERE `gq_book`.`pages` >= %s ORDER BY `gq_book`.`title`"
            ),
            [100],
        ),
    ),
    case(
        "default_ordering",
        lambda: GqTag.objects.query(),
        pg=(
            (
                'SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY '
                '"gq_tag"."name", "gq_tag"."id" DESC'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY '
                '"gq_tag"."name", "gq_tag"."id" DESC'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT `gq_tag`.`id`, `gq_tag`.`name` FROM `gq_tag` ORDER BY "
                "`gq_tag`.`name`, `gq_tag`.`id` DESC"
            ),
            [],
        ),
    ),
    case(
        "default_ordering_replaced",
        lambda: GqTag.objects.order_by("-name"),
        pg=(
            ('SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY "gq_tag"."name" DESC'),
            [],
        ),
        sqlite=(
            ('SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY "gq_tag"."name" DESC'),
            [],
        ),
        mysql=(
            ("SELECT `gq_tag`.`id`, `gq_tag`.`name` FROM `gq_tag` ORDER BY `gq_tag`.`name` DESC"),
            [],
        ),
    ),
    case(
        "default_ordering_cleared",
        lambda: GqTag.objects.order_by(),
        pg=('SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag"', []),
        sqlite=('SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag"', []),
        mysql=("SELECT `gq_tag`.`id`, `gq_tag`.`name` FROM `gq_tag`", []),
    ),
    case(
        "values",
        lambda: B.values("title", "pages"),
        pg=('SELECT "gq_book"."title", "gq_book"."pages" FROM "gq_book"', []),
        sqlite=('SELECT "gq_book"."title", "gq_book"."pages" FROM "gq_book"', []),
        mysql=("SELECT `gq_book`.`title`, `gq_book`.`pages` FROM `gq_book`", []),
    ),
    case(
        "values_all",
        lambda: GqAuthor.objects.values(),
        pg=(
            (
                'SELECT "gq_author"."id", "gq_author"."name", "gq_author"."company_id" '
                'FROM "gq_author"'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT "gq_author"."id", "gq_author"."name", "gq_author"."company_id" '
                'FROM "gq_author"'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT `gq_author`.`id`, `gq_author`.`name`, `gq_author`.`company_id` "
                "FROM `gq_author`"
            ),
            [],
        ),
    ),
    case(
        "values_fk_path",
        lambda: B.filter(pages__gt=1).values(
            "title", "author__name", "author__company__country__code"
        ),
        pg=(
            (
                'SELECT "gq_book"."title", "author"."name", '
                '"author__company__country"."code" FROM "gq_book" LEFT JOIN '
                '"gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" LEFT '
                'JOIN "gq_company" AS "author__company" ON "author"."company_id" = '
                '"author__company"."id" LEFT JOIN "gq_country" AS '
                '"author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE "gq_book"."pages" > $1'
            ),
            [1],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."title", "author"."name", '
                '"author__company__country"."code" FROM "gq_book" LEFT JOIN '
                '"gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" LEFT '
                'JOIN "gq_company" AS "author__company" ON "author"."company_id" = '
                '"author__company"."id" LEFT JOIN "gq_country" AS '
                '"author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" WHERE "gq_book"."pages" > ?'
            ),
            [1],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`title`, `author`.`name`, "
                "`author__company__country`.`code` FROM `gq_book` LEFT JOIN "
                "`gq_author` AS `author` ON `gq_book`.`author_id` = `author`.`id` LEFT "
                "JOIN `gq_company` AS `author__company` ON `author`.`company_id` = "
                "`author__company`.`id` LEFT JOIN `gq_country` AS "
                "`author__company__country` ON `author__company`.`country_id` = "
                "`author__company__country`.`id` WHERE `gq_book`.`pages` > %s"
            ),
            [1],
        ),
    ),
    case(
        "values_list",
        lambda: B.values_list("id", "title").order_by("-id"),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title" FROM "gq_book" ORDER BY '
                '"gq_book"."id" DESC'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."id", "gq_book"."title" FROM "gq_book" ORDER BY '
                '"gq_book"."id" DESC'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title` FROM `gq_book` ORDER BY "
                "`gq_book`.`id` DESC"
            ),
            [],
        ),
    ),
    case(
        "values_list_flat",
        lambda: B.values_list("title", flat=True).distinct(),
        pg=('SELECT DISTINCT "gq_book"."title" FROM "gq_book"', []),
        sqlite=('SELECT DISTINCT "gq_book"."title" FROM "gq_book"', []),
        mysql=("SELECT DISTINCT `gq_book`.`title` FROM `gq_book`", []),
    ),
    case(
        "select",
        lambda: B.select("id", "title").filter(pages=1),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title" FROM "gq_book" WHERE '
                '"gq_book"."pages" = $1'
            ),
            [1],
        ),
        sqlite=(
            ('SELECT "gq_book"."id", "gq_book"."title" FROM "gq_book" WHERE "gq_book"."pages" = ?'),
            [1],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title` FROM `gq_book` WHERE "
                "`gq_book`.`pages` = %s"
            ),
            [1],
        ),
    ),
    case(
        "select_fk",
        lambda: B.select("id", "author"),
        pg=('SELECT "gq_book"."id", "gq_book"."author_id" FROM "gq_book"', []),
        sqlite=('SELECT "gq_book"."id", "gq_book"."author_id" FROM "gq_book"', []),
        mysql=("SELECT `gq_book`.`id`, `gq_book`.`author_id` FROM `gq_book`", []),
    ),
    case(
        "join",
        lambda: B.join("author"),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id" FROM "gq_book" '
                'LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id"'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id" FROM "gq_book" '
                'LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id"'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id`, "
                "`author`.`id`, `author`.`name`, `author`.`company_id` FROM `gq_book` "
                "LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id`"
            ),
            [],
        ),
    ),
    case(
        "join_nested",
        lambda: B.join("author__company").filter(pages__gt=1),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id", '
                '"author__company"."id", "author__company"."name", '
                '"author__company"."country_id" FROM "gq_book" LEFT JOIN "gq_author" '
                'AS "author" ON "gq_book"."author_id" = "author"."id" LEFT JOIN '
                '"gq_company" AS "author__company" ON "author"."company_id" = '
                '"author__company"."id" WHERE "gq_book"."pages" > $1'
            ),
            [1],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id", '
                '"author__company"."id", "author__company"."name", '
                '"author__company"."country_id" FROM "gq_book" LEFT JOIN "gq_author" '
                'AS "author" ON "gq_book"."author_id" = "author"."id" LEFT JOIN '
                '"gq_company" AS "author__company" ON "author"."company_id" = '
                '"author__company"."id" WHERE "gq_book"."pages" > ?'
            ),
            [1],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id`, "
                "`author`.`id`, `author`.`name`, `author`.`company_id`, "
                "`author__company`.`id`, `author__company`.`name`, "
                "`author__company`.`country_id` FROM `gq_book` LEFT JOIN `gq_author` "
                "AS `author` ON `gq_book`.`author_id` = `author`.`id` LEFT JOIN "
                "`gq_company` AS `author__company` ON `author`.`company_id` = "
                "`author__company`.`id` WHERE `gq_book`.`pages` > %s"
            ),
            [1],
        ),
    ),
    case(
        "join_nested_depth3",
        lambda: B.join("author__company__country").order_by("author__name"),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id", '
                '"author__company"."id", "author__company"."name", '
                '"author__company"."country_id", "author__company__country"."id", '
                '"author__company__country"."code" FROM "gq_book" LEFT JOIN '
                '"gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" LEFT '
                'JOIN "gq_company" AS "author__company" ON "author"."company_id" = '
                '"author__company"."id" LEFT JOIN "gq_country" AS '
                '"author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" ORDER BY "author"."name"'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id", '
                '"author__company"."id", "author__company"."name", '
                '"author__company"."country_id", "author__company__country"."id", '
                '"author__company__country"."code" FROM "gq_book" LEFT JOIN '
                '"gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" LEFT '
                'JOIN "gq_company" AS "author__company" ON "author"."company_id" = '
                '"author__company"."id" LEFT JOIN "gq_country" AS '
                '"author__company__country" ON "author__company"."country_id" = '
                '"author__company__country"."id" ORDER BY "author"."name"'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id`, "
                "`author`.`id`, `author`.`name`, `author`.`company_id`, "
                "`author__company`.`id`, `author__company`.`name`, "
                "`author__company`.`country_id`, `author__company__country`.`id`, "
                "`author__company__country`.`code` FROM `gq_book` LEFT JOIN "
                "`gq_author` AS `author` ON `gq_book`.`author_id` = `author`.`id` LEFT "
                "JOIN `gq_company` AS `author__company` ON `author`.`company_id` = "
                "`author__company`.`id` LEFT JOIN `gq_country` AS "
                "`author__company__country` ON `author__company`.`country_id` = "
                "`author__company__country`.`id` ORDER BY `author`.`name`"
            ),
            [],
        ),
    ),
    case(
        "join_with_filter_join",
        lambda: B.filter(author__name="A").join("author"),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id" FROM "gq_book" '
                'LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."name" = $1'
            ),
            ["A"],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id" FROM "gq_book" '
                'LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" WHERE "author"."name" = ?'
            ),
            ["A"],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id`, "
                "`author`.`id`, `author`.`name`, `author`.`company_id` FROM `gq_book` "
                "LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` WHERE `author`.`name` = %s"
            ),
            ["A"],
        ),
    ),
    case(
        "join_for_update_of",
        lambda: B.join("author").for_update(of=("self", "author")),
        pg=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id" FROM "gq_book" '
                'LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id" FOR UPDATE OF "gq_book", "author"'
            ),
            [],
        ),
        sqlite=(
            (
                'SELECT "gq_book"."id", "gq_book"."title", "gq_book"."pages", '
                '"gq_book"."rating", "gq_book"."price", "gq_book"."in_print", '
                '"gq_book"."released", "gq_book"."published", "gq_book"."uid", '
                '"gq_book"."status", "gq_book"."note", "gq_book"."author_id", '
                '"author"."id", "author"."name", "author"."company_id" FROM "gq_book" '
                'LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                '"author"."id"'
            ),
            [],
        ),
        mysql=(
            (
                "SELECT `gq_book`.`id`, `gq_book`.`title`, `gq_book`.`pages`, "
                "`gq_book`.`rating`, `gq_book`.`price`, `gq_book`.`in_print`, "
                "`gq_book`.`released`, `gq_book`.`published`, `gq_book`.`uid`, "
                "`gq_book`.`status`, `gq_book`.`note`, `gq_book`.`author_id`, "
                "`author`.`id`, `author`.`name`, `author`.`company_id` FROM `gq_book` "
                "LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                "`author`.`id` FOR UPDATE"
            ),
            [],
        ),
    ),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("build", "expected"), BOOK_TAIL_CASES)
def test_book_query_sql(
    build: Callable[[], Query[Any]], expected: dict[str, Out], dialect: str
) -> None:
    sql, params = expected[dialect]
    assert build().sql(dialect) == (BOOK[dialect] + sql, params)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("build", "expected"), FULL_CASES)
def test_query_sql(build: Callable[[], Query[Any]], expected: dict[str, Out], dialect: str) -> None:
    assert build().sql(dialect) == expected[dialect]


def test_sql_is_stable_across_values() -> None:
    # one shape, one text: prepared-statement caches hit whatever the values are
    for dialect in DIALECTS:
        a = B.filter(pages__in=[1, 2], title__icontains="x").limit(3).sql(dialect)[0]
        b = B.filter(pages__in=[7, 8], title__icontains="y").limit(9).sql(dialect)[0]
        assert a == b


def test_sql_names_the_value_kinds() -> None:
    query = B.filter(released=dt.date(2024, 1, 2), in_print=True, price__lt="9.5").limit(5)
    assert query.sql("sqlite", with_types=True) == (
        BOOK_SQLITE + ' WHERE "gq_book"."released" = ? AND "gq_book"."in_print" = ? AND '
        '"gq_book"."price" < ? LIMIT ?',
        [("date", "2024-01-02"), ("bool", 1), ("decimal", "9.5"), ("int", 5)],
    )


def test_sql_names_the_value_kinds_after_an_in_list() -> None:
    query = B.filter(pages__in=[1, 2], in_print=True).limit(5)
    assert query.sql("sqlite", with_types=True)[1] == [
        ("int", 1),
        ("int", 2),
        ("bool", 1),
        ("int", 5),
    ]


def test_slicing_a_slice_stays_within_it() -> None:
    assert B.order_by("id")[10:20][5:].sql("postgres") == (
        BOOK_PG + ' ORDER BY "gq_book"."id" LIMIT $1 OFFSET $2',
        [5, 15],
    )


# -- terminals: the statements they send ----------------------------------------------------


def row(dialect: str, id: int = 1) -> tuple[Any, ...]:
    """DUNE's row as each driver returns it (SQLite stores dates, decimals and UUIDs as
    text and booleans as integers; MySQL UUIDs as text and booleans as integers)."""
    return {
        "postgres": (id, "Dune", 412, 4.5, Decimal("9.90"), True, dt.date(1965, 8, 1),
                     dt.datetime(1965, 8, 1, 12), uuid.UUID(int=1), "out", "none", 3),
        "sqlite": (id, "Dune", 412, 4.5, "9.90", 1, "1965-08-01", "1965-08-01 12:00:00",
                   "00000000-0000-0000-0000-000000000001", "out", "none", 3),
        "mysql": (id, "Dune", 412, 4.5, Decimal("9.90"), 1, dt.date(1965, 8, 1),
                  dt.datetime(1965, 8, 1, 12), "00000000-0000-0000-0000-000000000001", "out",
                  "none", 3),
    }[dialect]  # fmt: skip


def back(dialect: str, id: int, *, note: bool = True) -> tuple[Any, ...]:
    """DUNE's row as a bulk INSERT reads it back: the columns whose stored form may differ
    from the value sent (not the int, str and bool ones), the key, and ``note`` when the
    INSERT left it to its database default."""
    full = row(dialect, id)
    return tuple(full[i] for i in (0, 3, 4, 6, 7, 8, 9, 10) if note or i != 10)


# author_id is the foreign key's synthetic field: not a keyword the type checker knows
DUNE = GqBook.model_validate(
    {
        "id": 1,
        "title": "Dune",
        "pages": 412,
        "rating": 4.5,
        "price": Decimal("9.90"),
        "in_print": True,
        "released": dt.date(1965, 8, 1),
        "published": dt.datetime(1965, 8, 1, 12),
        "uid": uuid.UUID(int=1),
        "status": GqStatus.OUT,
        "note": "none",
        "author_id": 3,
    }
)

Run = Callable[[Recorder], Awaitable[Any]]
Answers = Callable[[str], list[list[tuple[Any, ...]]]]
Log = list[tuple[Any, ...]]


def terminal(
    name: str, run: Run, *, answers: Answers, result: Any, pg: Log, sqlite: Log, mysql: Log
) -> Any:
    """``run(recorder)`` awaits a terminal; ``answers(dialect)`` are the rows its fetches
    get, ``result`` what it returns (through ``summary``), and the logs what the recorder
    must have seen on each dialect."""
    expected = {"postgres": pg, "sqlite": sqlite, "mysql": mysql}
    return pytest.param(run, answers, result, expected, id=name)


def summary(value: Any) -> Any:
    """Instances as (class name, id), so a result reads in one line."""
    if isinstance(value, list):
        return [summary(v) for v in value]
    if isinstance(value, Model):
        return (type(value).__name__, value.__dict__["id"])
    return value


TERMINAL_CASES = [
    terminal(
        "all",
        lambda r: B.filter(pages__gt=1).all(client=r),
        answers=lambda d: [[row(d)]],
        result=[("GqBook", 1)],
        pg=[
            ("fetch", BOOK_PG + ' WHERE "gq_book"."pages" > $1', [1]),
        ],
        sqlite=[
            ("fetch", BOOK_SQLITE + ' WHERE "gq_book"."pages" > ?', [1]),
        ],
        mysql=[
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`pages` > %s", [1]),
        ],
    ),
    terminal(
        "count",
        lambda r: B.count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            ("fetch", 'SELECT COUNT(*) AS "count" FROM "gq_book"', []),
        ],
        sqlite=[
            ("fetch", 'SELECT COUNT(*) AS "count" FROM "gq_book"', []),
        ],
        mysql=[
            ("fetch", "SELECT COUNT(*) AS `count` FROM `gq_book`", []),
        ],
    ),
    terminal(
        "count_filtered",
        lambda r: B.filter(pages__gt=1).count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            (
                "fetch",
                'SELECT COUNT(*) AS "count" FROM "gq_book" WHERE "gq_book"."pages" > $1',
                [1],
            ),
        ],
        sqlite=[
            ("fetch", 'SELECT COUNT(*) AS "count" FROM "gq_book" WHERE "gq_book"."pages" > ?', [1]),
        ],
        mysql=[
            (
                "fetch",
                "SELECT COUNT(*) AS `count` FROM `gq_book` WHERE `gq_book`.`pages` > %s",
                [1],
            ),
        ],
    ),
    terminal(
        "count_limit",
        lambda r: B.filter(pages__gt=1).limit(5).count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT "gq_book"."id" AS "c0", '
                    '"gq_book"."title" AS "c1", "gq_book"."pages" AS "c2", '
                    '"gq_book"."rating" AS "c3", "gq_book"."price" AS "c4", '
                    '"gq_book"."in_print" AS "c5", "gq_book"."released" AS "c6", '
                    '"gq_book"."published" AS "c7", "gq_book"."uid" AS "c8", '
                    '"gq_book"."status" AS "c9", "gq_book"."note" AS "c10", '
                    '"gq_book"."author_id" AS "c11" FROM "gq_book" WHERE "gq_book"."pages" '
                    '> $1 LIMIT $2) AS "_sub"'
                ),
                [1, 5],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT "gq_book"."id" AS "c0", '
                    '"gq_book"."title" AS "c1", "gq_book"."pages" AS "c2", '
                    '"gq_book"."rating" AS "c3", "gq_book"."price" AS "c4", '
                    '"gq_book"."in_print" AS "c5", "gq_book"."released" AS "c6", '
                    '"gq_book"."published" AS "c7", "gq_book"."uid" AS "c8", '
                    '"gq_book"."status" AS "c9", "gq_book"."note" AS "c10", '
                    '"gq_book"."author_id" AS "c11" FROM "gq_book" WHERE "gq_book"."pages" '
                    '> ? LIMIT ?) AS "_sub"'
                ),
                [1, 5],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT COUNT(*) AS `count` FROM (SELECT `gq_book`.`id` AS `c0`, "
                    "`gq_book`.`title` AS `c1`, `gq_book`.`pages` AS `c2`, "
                    "`gq_book`.`rating` AS `c3`, `gq_book`.`price` AS `c4`, "
                    "`gq_book`.`in_print` AS `c5`, `gq_book`.`released` AS `c6`, "
                    "`gq_book`.`published` AS `c7`, `gq_book`.`uid` AS `c8`, "
                    "`gq_book`.`status` AS `c9`, `gq_book`.`note` AS `c10`, "
                    "`gq_book`.`author_id` AS `c11` FROM `gq_book` WHERE `gq_book`.`pages` "
                    "> %s LIMIT %s) AS `_sub`"
                ),
                [1, 5],
            ),
        ],
    ),
    terminal(
        "count_offset",
        lambda r: B.order_by("id").offset(5).count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT "gq_book"."id" AS "c0", '
                    '"gq_book"."title" AS "c1", "gq_book"."pages" AS "c2", '
                    '"gq_book"."rating" AS "c3", "gq_book"."price" AS "c4", '
                    '"gq_book"."in_print" AS "c5", "gq_book"."released" AS "c6", '
                    '"gq_book"."published" AS "c7", "gq_book"."uid" AS "c8", '
                    '"gq_book"."status" AS "c9", "gq_book"."note" AS "c10", '
                    '"gq_book"."author_id" AS "c11" FROM "gq_book" OFFSET $1) AS "_sub"'
                ),
                [5],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT "gq_book"."id" AS "c0", '
                    '"gq_book"."title" AS "c1", "gq_book"."pages" AS "c2", '
                    '"gq_book"."rating" AS "c3", "gq_book"."price" AS "c4", '
                    '"gq_book"."in_print" AS "c5", "gq_book"."released" AS "c6", '
                    '"gq_book"."published" AS "c7", "gq_book"."uid" AS "c8", '
                    '"gq_book"."status" AS "c9", "gq_book"."note" AS "c10", '
                    '"gq_book"."author_id" AS "c11" FROM "gq_book" LIMIT -1 OFFSET ?) AS '
                    '"_sub"'
                ),
                [5],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT COUNT(*) AS `count` FROM (SELECT `gq_book`.`id` AS `c0`, "
                    "`gq_book`.`title` AS `c1`, `gq_book`.`pages` AS `c2`, "
                    "`gq_book`.`rating` AS `c3`, `gq_book`.`price` AS `c4`, "
                    "`gq_book`.`in_print` AS `c5`, `gq_book`.`released` AS `c6`, "
                    "`gq_book`.`published` AS `c7`, `gq_book`.`uid` AS `c8`, "
                    "`gq_book`.`status` AS `c9`, `gq_book`.`note` AS `c10`, "
                    "`gq_book`.`author_id` AS `c11` FROM `gq_book` LIMIT "
                    "18446744073709551615 OFFSET %s) AS `_sub`"
                ),
                [5],
            ),
        ],
    ),
    terminal(
        "count_distinct",
        lambda r: B.distinct().count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT DISTINCT "gq_book"."id" AS '
                    '"c0", "gq_book"."title" AS "c1", "gq_book"."pages" AS "c2", '
                    '"gq_book"."rating" AS "c3", "gq_book"."price" AS "c4", '
                    '"gq_book"."in_print" AS "c5", "gq_book"."released" AS "c6", '
                    '"gq_book"."published" AS "c7", "gq_book"."uid" AS "c8", '
                    '"gq_book"."status" AS "c9", "gq_book"."note" AS "c10", '
                    '"gq_book"."author_id" AS "c11" FROM "gq_book") AS "_sub"'
                ),
                [],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT DISTINCT "gq_book"."id" AS '
                    '"c0", "gq_book"."title" AS "c1", "gq_book"."pages" AS "c2", '
                    '"gq_book"."rating" AS "c3", "gq_book"."price" AS "c4", '
                    '"gq_book"."in_print" AS "c5", "gq_book"."released" AS "c6", '
                    '"gq_book"."published" AS "c7", "gq_book"."uid" AS "c8", '
                    '"gq_book"."status" AS "c9", "gq_book"."note" AS "c10", '
                    '"gq_book"."author_id" AS "c11" FROM "gq_book") AS "_sub"'
                ),
                [],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT COUNT(*) AS `count` FROM (SELECT DISTINCT `gq_book`.`id` AS "
                    "`c0`, `gq_book`.`title` AS `c1`, `gq_book`.`pages` AS `c2`, "
                    "`gq_book`.`rating` AS `c3`, `gq_book`.`price` AS `c4`, "
                    "`gq_book`.`in_print` AS `c5`, `gq_book`.`released` AS `c6`, "
                    "`gq_book`.`published` AS `c7`, `gq_book`.`uid` AS `c8`, "
                    "`gq_book`.`status` AS `c9`, `gq_book`.`note` AS `c10`, "
                    "`gq_book`.`author_id` AS `c11` FROM `gq_book`) AS `_sub`"
                ),
                [],
            ),
        ],
    ),
    terminal(
        "count_distinct_values",
        lambda r: B.values("title", "pages").distinct().count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT DISTINCT "gq_book"."title" AS '
                    '"c0", "gq_book"."pages" AS "c1" FROM "gq_book") AS "_sub"'
                ),
                [],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM (SELECT DISTINCT "gq_book"."title" AS '
                    '"c0", "gq_book"."pages" AS "c1" FROM "gq_book") AS "_sub"'
                ),
                [],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT COUNT(*) AS `count` FROM (SELECT DISTINCT `gq_book`.`title` AS "
                    "`c0`, `gq_book`.`pages` AS `c1` FROM `gq_book`) AS `_sub`"
                ),
                [],
            ),
        ],
    ),
    terminal(
        "count_fk_filter",
        lambda r: B.filter(author__name="Le Guin").count(client=r),
        answers=lambda d: [[(3,)]],
        result=3,
        pg=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM "gq_book" LEFT JOIN "gq_author" AS '
                    '"author" ON "gq_book"."author_id" = "author"."id" WHERE '
                    '"author"."name" = $1'
                ),
                ["Le Guin"],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT COUNT(*) AS "count" FROM "gq_book" LEFT JOIN "gq_author" AS '
                    '"author" ON "gq_book"."author_id" = "author"."id" WHERE '
                    '"author"."name" = ?'
                ),
                ["Le Guin"],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT COUNT(*) AS `count` FROM `gq_book` LEFT JOIN `gq_author` AS "
                    "`author` ON `gq_book`.`author_id` = `author`.`id` WHERE "
                    "`author`.`name` = %s"
                ),
                ["Le Guin"],
            ),
        ],
    ),
    terminal(
        "exists",
        lambda r: B.filter(title="Dune").exists(client=r),
        answers=lambda d: [[(1,)]],
        result=True,
        pg=[
            (
                "fetch",
                'SELECT 1 AS "one" FROM "gq_book" WHERE "gq_book"."title" = $1 LIMIT $2',
                ["Dune", 1],
            ),
        ],
        sqlite=[
            (
                "fetch",
                'SELECT 1 AS "one" FROM "gq_book" WHERE "gq_book"."title" = ? LIMIT ?',
                ["Dune", 1],
            ),
        ],
        mysql=[
            (
                "fetch",
                "SELECT 1 AS `one` FROM `gq_book` WHERE `gq_book`.`title` = %s LIMIT %s",
                ["Dune", 1],
            ),
        ],
    ),
    terminal(
        "sum",
        lambda r: B.filter(in_print=True).sum("pages", client=r),
        answers=lambda d: [[(10,)]],
        result=10,
        pg=[
            (
                "fetch",
                (
                    'SELECT SUM("gq_book"."pages") AS "value" FROM "gq_book" WHERE '
                    '"gq_book"."in_print" = $1'
                ),
                [True],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT SUM("gq_book"."pages") AS "value" FROM "gq_book" WHERE '
                    '"gq_book"."in_print" = ?'
                ),
                [1],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT SUM(`gq_book`.`pages`) AS `value` FROM `gq_book` WHERE "
                    "`gq_book`.`in_print` = %s"
                ),
                [1],
            ),
        ],
    ),
    terminal(
        "avg",
        lambda r: B.avg("rating", client=r),
        answers=lambda d: [[(2.5,)]],
        result=2.5,
        pg=[
            ("fetch", 'SELECT AVG("gq_book"."rating") AS "value" FROM "gq_book"', []),
        ],
        sqlite=[
            ("fetch", 'SELECT AVG("gq_book"."rating") AS "value" FROM "gq_book"', []),
        ],
        mysql=[
            ("fetch", "SELECT AVG(`gq_book`.`rating`) AS `value` FROM `gq_book`", []),
        ],
    ),
    terminal(
        "avg_limited",
        lambda r: B.order_by("-pages").limit(3).avg("price", client=r),
        answers=lambda d: [[(Decimal("1.5"),)]],
        result=Decimal("1.5"),
        pg=[
            (
                "fetch",
                (
                    'SELECT AVG("_sub"."price") AS "value" FROM (SELECT "gq_book"."id" AS '
                    '"id", "gq_book"."title" AS "title", "gq_book"."pages" AS "pages", '
                    '"gq_book"."rating" AS "rating", "gq_book"."price" AS "price", '
                    '"gq_book"."in_print" AS "in_print", "gq_book"."released" AS '
                    '"released", "gq_book"."published" AS "published", "gq_book"."uid" AS '
                    '"uid", "gq_book"."status" AS "status", "gq_book"."note" AS "note", '
                    '"gq_book"."author_id" AS "author_id" FROM "gq_book" ORDER BY '
                    '"gq_book"."pages" DESC LIMIT $1) AS "_sub"'
                ),
                [3],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT AVG("_sub"."price") AS "value" FROM (SELECT "gq_book"."id" AS '
                    '"id", "gq_book"."title" AS "title", "gq_book"."pages" AS "pages", '
                    '"gq_book"."rating" AS "rating", "gq_book"."price" AS "price", '
                    '"gq_book"."in_print" AS "in_print", "gq_book"."released" AS '
                    '"released", "gq_book"."published" AS "published", "gq_book"."uid" AS '
                    '"uid", "gq_book"."status" AS "status", "gq_book"."note" AS "note", '
                    '"gq_book"."author_id" AS "author_id" FROM "gq_book" ORDER BY '
                    '"gq_book"."pages" DESC LIMIT ?) AS "_sub"'
                ),
                [3],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT AVG(`_sub`.`price`) AS `value` FROM (SELECT `gq_book`.`id` AS "
                    "`id`, `gq_book`.`title` AS `title`, `gq_book`.`pages` AS `pages`, "
                    "`gq_book`.`rating` AS `rating`, `gq_book`.`price` AS `price`, "
                    "`gq_book`.`in_print` AS `in_print`, `gq_book`.`released` AS "
                    "`released`, `gq_book`.`published` AS `published`, `gq_book`.`uid` AS "
                    "`uid`, `gq_book`.`status` AS `status`, `gq_book`.`note` AS `note`, "
                    "`gq_book`.`author_id` AS `author_id` FROM `gq_book` ORDER BY "
                    "`gq_book`.`pages` DESC LIMIT %s) AS `_sub`"
                ),
                [3],
            ),
        ],
    ),
    terminal(
        "max",
        lambda r: B.max("published", client=r),
        answers=lambda d: [[(dt.datetime(2020, 1, 1),)]],
        result=dt.datetime(2020, 1, 1),
        pg=[
            ("fetch", 'SELECT MAX("gq_book"."published") AS "value" FROM "gq_book"', []),
        ],
        sqlite=[
            ("fetch", 'SELECT MAX("gq_book"."published") AS "value" FROM "gq_book"', []),
        ],
        mysql=[
            ("fetch", "SELECT MAX(`gq_book`.`published`) AS `value` FROM `gq_book`", []),
        ],
    ),
    terminal(
        "min",
        lambda r: B.filter(released__year=2020).min("released", client=r),
        answers=lambda d: [[(dt.date(2020, 1, 1),)]],
        result=dt.date(2020, 1, 1),
        pg=[
            (
                "fetch",
                (
                    'SELECT MIN("gq_book"."released") AS "value" FROM "gq_book" WHERE '
                    '"gq_book"."released" >= $1 AND "gq_book"."released" < $2'
                ),
                [dt.date(2020, 1, 1), dt.date(2021, 1, 1)],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT MIN("gq_book"."released") AS "value" FROM "gq_book" WHERE '
                    '"gq_book"."released" >= ? AND "gq_book"."released" < ?'
                ),
                ["2020-01-01", "2021-01-01"],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT MIN(`gq_book`.`released`) AS `value` FROM `gq_book` WHERE "
                    "`gq_book`.`released` >= %s AND `gq_book`.`released` < %s"
                ),
                [dt.date(2020, 1, 1), dt.date(2021, 1, 1)],
            ),
        ],
    ),
    terminal(
        "get",
        lambda r: B.get(pk=1, client=r),
        answers=lambda d: [[row(d)]],
        result=("GqBook", 1),
        pg=[
            ("fetch", BOOK_PG + ' WHERE "gq_book"."id" = $1 LIMIT $2', [1, 2]),
        ],
        sqlite=[
            ("fetch", BOOK_SQLITE + ' WHERE "gq_book"."id" = ? LIMIT ?', [1, 2]),
        ],
        mysql=[
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`id` = %s LIMIT %s", [1, 2]),
        ],
    ),
    terminal(
        "get_filtered",
        lambda r: B.filter(author__name="Le Guin").get(title="Dune", client=r),
        answers=lambda d: [[row(d)]],
        result=("GqBook", 1),
        pg=[
            (
                "fetch",
                BOOK_PG
                + (
                    ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                    '"author"."id" WHERE "author"."name" = $1 AND "gq_book"."title" = $2 '
                    "LIMIT $3"
                ),
                ["Le Guin", "Dune", 2],
            ),
        ],
        sqlite=[
            (
                "fetch",
                BOOK_SQLITE
                + (
                    ' LEFT JOIN "gq_author" AS "author" ON "gq_book"."author_id" = '
                    '"author"."id" WHERE "author"."name" = ? AND "gq_book"."title" = ? '
                    "LIMIT ?"
                ),
                ["Le Guin", "Dune", 2],
            ),
        ],
        mysql=[
            (
                "fetch",
                BOOK_MYSQL
                + (
                    " LEFT JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = "
                    "`author`.`id` WHERE `author`.`name` = %s AND `gq_book`.`title` = %s "
                    "LIMIT %s"
                ),
                ["Le Guin", "Dune", 2],
            ),
        ],
    ),
    terminal(
        "first",
        lambda r: B.first(client=r),
        answers=lambda d: [[row(d)]],
        result=("GqBook", 1),
        pg=[
            ("fetch", BOOK_PG + ' ORDER BY "gq_book"."id" LIMIT $1', [1]),
        ],
        sqlite=[
            ("fetch", BOOK_SQLITE + ' ORDER BY "gq_book"."id" LIMIT ?', [1]),
        ],
        mysql=[
            ("fetch", BOOK_MYSQL + " ORDER BY `gq_book`.`id` LIMIT %s", [1]),
        ],
    ),
    terminal(
        "first_ordered",
        lambda r: B.order_by("-rating").first(client=r),
        answers=lambda d: [[row(d)]],
        result=("GqBook", 1),
        pg=[
            ("fetch", BOOK_PG + ' ORDER BY "gq_book"."rating" DESC LIMIT $1', [1]),
        ],
        sqlite=[
            ("fetch", BOOK_SQLITE + ' ORDER BY "gq_book"."rating" DESC LIMIT ?', [1]),
        ],
        mysql=[
            ("fetch", BOOK_MYSQL + " ORDER BY `gq_book`.`rating` DESC LIMIT %s", [1]),
        ],
    ),
    terminal(
        "last",
        lambda r: B.last(client=r),
        answers=lambda d: [[row(d)]],
        result=("GqBook", 1),
        pg=[
            ("fetch", BOOK_PG + ' ORDER BY "gq_book"."id" DESC LIMIT $1', [1]),
        ],
        sqlite=[
            ("fetch", BOOK_SQLITE + ' ORDER BY "gq_book"."id" DESC LIMIT ?', [1]),
        ],
        mysql=[
            ("fetch", BOOK_MYSQL + " ORDER BY `gq_book`.`id` DESC LIMIT %s", [1]),
        ],
    ),
    terminal(
        "last_reverses_ordering",
        lambda r: B.order_by("-pages", "title").last(client=r),
        answers=lambda d: [[row(d)]],
        result=("GqBook", 1),
        pg=[
            (
                "fetch",
                BOOK_PG + ' ORDER BY "gq_book"."pages", "gq_book"."title" DESC LIMIT $1',
                [1],
            ),
        ],
        sqlite=[
            (
                "fetch",
                BOOK_SQLITE + ' ORDER BY "gq_book"."pages", "gq_book"."title" DESC LIMIT ?',
                [1],
            ),
        ],
        mysql=[
            (
                "fetch",
                BOOK_MYSQL + " ORDER BY `gq_book`.`pages`, `gq_book`.`title` DESC LIMIT %s",
                [1],
            ),
        ],
    ),
    terminal(
        "first_default_ordering",
        lambda r: GqTag.objects.first(client=r),
        answers=lambda d: [[(1, "sf")]],
        result=("GqTag", 1),
        pg=[
            (
                "fetch",
                (
                    'SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY '
                    '"gq_tag"."name", "gq_tag"."id" DESC LIMIT $1'
                ),
                [1],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY '
                    '"gq_tag"."name", "gq_tag"."id" DESC LIMIT ?'
                ),
                [1],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT `gq_tag`.`id`, `gq_tag`.`name` FROM `gq_tag` ORDER BY "
                    "`gq_tag`.`name`, `gq_tag`.`id` DESC LIMIT %s"
                ),
                [1],
            ),
        ],
    ),
    terminal(
        "last_default_ordering",
        lambda r: GqTag.objects.last(client=r),
        answers=lambda d: [[(1, "sf")]],
        result=("GqTag", 1),
        pg=[
            (
                "fetch",
                (
                    'SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY '
                    '"gq_tag"."name" DESC, "gq_tag"."id" LIMIT $1'
                ),
                [1],
            ),
        ],
        sqlite=[
            (
                "fetch",
                (
                    'SELECT "gq_tag"."id", "gq_tag"."name" FROM "gq_tag" ORDER BY '
                    '"gq_tag"."name" DESC, "gq_tag"."id" LIMIT ?'
                ),
                [1],
            ),
        ],
        mysql=[
            (
                "fetch",
                (
                    "SELECT `gq_tag`.`id`, `gq_tag`.`name` FROM `gq_tag` ORDER BY "
                    "`gq_tag`.`name` DESC, `gq_tag`.`id` LIMIT %s"
                ),
                [1],
            ),
        ],
    ),
    terminal(
        "create",
        lambda r: B.create(
            client=r,
            title="Dune",
            pages=412,
            rating=4.5,
            price=Decimal("9.90"),
            in_print=True,
            released=dt.date(1965, 8, 1),
            published=dt.datetime(1965, 8, 1, 12),
            uid=uuid.UUID(int=1),
            status=GqStatus.OUT,
            author_id=3,
        ),
        answers=lambda d: [[back(d, 1)]] if d != "mysql" else [[(1,)], [row(d)]],
        result=("GqBook", 1),
        pg=[
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", '
                    '"in_print", "released", "published", "uid", "status", "author_id") '
                    'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING "id", '
                    '"rating", "price", "released", "published", "uid", "status", "note"'
                ),
                [
                    "Dune",
                    412,
                    4.5,
                    Decimal("9.90"),
                    True,
                    dt.date(1965, 8, 1),
                    dt.datetime(1965, 8, 1, 12, 0),
                    uuid.UUID("00000000-0000-0000-0000-000000000001"),
                    "out",
                    3,
                ],
            ),
        ],
        sqlite=[
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", '
                    '"in_print", "released", "published", "uid", "status", "author_id") '
                    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id", "rating", '
                    '"price", "released", "published", "uid", "status", "note"'
                ),
                [
                    "Dune",
                    412,
                    4.5,
                    "9.90",
                    1,
                    "1965-08-01",
                    "1965-08-01 12:00:00",
                    "00000000-0000-0000-0000-000000000001",
                    "out",
                    3,
                ],
            ),
        ],
        mysql=[
            (
                "fetch:write",
                (
                    "INSERT INTO `gq_book` (`title`, `pages`, `rating`, `price`, "
                    "`in_print`, `released`, `published`, `uid`, `status`, `author_id`) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                [
                    "Dune",
                    412,
                    4.5,
                    Decimal("9.90"),
                    1,
                    dt.date(1965, 8, 1),
                    dt.datetime(1965, 8, 1, 12, 0),
                    "00000000-0000-0000-0000-000000000001",
                    "out",
                    3,
                ],
            ),
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`id` IN (%s)", [1]),
        ],
    ),
    terminal(
        "create_every_column",
        lambda r: B.create(client=r, id=1, title="Dune", in_print=False, note="none"),
        answers=lambda d: [[back(d, 1, note=False)]] if d != "mysql" else [[(1,)]],
        result=("GqBook", 1),
        pg=[
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("id", "title", "pages", "rating", "price", '
                    '"in_print", "released", "published", "uid", "status", "note", '
                    '"author_id") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '
                    '$12) RETURNING "id", "rating", "price", "released", "published", "uid", '
                    '"status"'
                ),
                [1, "Dune", 0, 0.0, None, False, None, None, None, "draft", "none", None],
            ),
        ],
        sqlite=[
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("id", "title", "pages", "rating", "price", '
                    '"in_print", "released", "published", "uid", "status", "note", '
                    '"author_id") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING '
                    '"id", "rating", "price", "released", "published", "uid", "status"'
                ),
                [1, "Dune", 0, 0.0, None, 0, None, None, None, "draft", "none", None],
            ),
        ],
        mysql=[
            (
                "fetch:write",
                (
                    "INSERT INTO `gq_book` (`id`, `title`, `pages`, `rating`, `price`, "
                    "`in_print`, `released`, `published`, `uid`, `status`, `note`, "
                    "`author_id`) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                [1, "Dune", 0, 0.0, None, 0, None, None, None, "draft", "none", None],
            ),
        ],
    ),
    terminal(
        "bulk_create",
        lambda r: B.bulk_create(
            [
                GqBook(title="a"),
                GqBook(title="b", note="x"),
                GqBook(id=50, title="c", pages=3),
                GqBook(title="d", in_print=False),
            ],
            client=r,
        ),
        answers=lambda d: (
            [[back(d, 10), back(d, 11)], [back(d, 12, note=False)], [back(d, 50)]]
            if d != "mysql"
            else [[(10,)], [row(d, 10), row(d, 11)], [(12,)], [(50,)], [row(d, 50)]]
        ),
        result=[("GqBook", 10), ("GqBook", 12), ("GqBook", 50), ("GqBook", 11)],
        pg=[
            ("begin",),
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "author_id") VALUES ($1, $2, $3, '
                    "$4, $5, $6, $7, $8, $9, $10), ($11, $12, $13, $14, $15, $16, $17, $18, $19, "
                    '$20) RETURNING "id", "rating", "price", "released", "published", "uid", '
                    '"status", "note"'
                ),
                [
                    "a",
                    0,
                    0.0,
                    None,
                    True,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                    "d",
                    0,
                    0.0,
                    None,
                    False,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                ],
            ),
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "note", "author_id") VALUES ($1, '
                    '$2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING "id", "rating", "price", '
                    '"released", "published", "uid", "status"'
                ),
                ["b", 0, 0.0, None, True, None, None, None, "draft", "x", None],
            ),
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("id", "title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "author_id") VALUES ($1, $2, $3, '
                    '$4, $5, $6, $7, $8, $9, $10, $11) RETURNING "id", "rating", "price", '
                    '"released", "published", "uid", "status", "note"'
                ),
                [50, "c", 3, 0.0, None, True, None, None, None, "draft", None],
            ),
            ("commit",),
        ],
        sqlite=[
            ("begin",),
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "author_id") VALUES (?, ?, ?, ?, ?, '
                    '?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id", "rating", '
                    '"price", "released", "published", "uid", "status", "note"'
                ),
                [
                    "a",
                    0,
                    0.0,
                    None,
                    1,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                    "d",
                    0,
                    0.0,
                    None,
                    0,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                ],
            ),
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "note", "author_id") VALUES (?, ?, '
                    '?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id", "rating", "price", "released", '
                    '"published", "uid", "status"'
                ),
                ["b", 0, 0.0, None, 1, None, None, None, "draft", "x", None],
            ),
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("id", "title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "author_id") VALUES (?, ?, ?, ?, ?, '
                    '?, ?, ?, ?, ?, ?) RETURNING "id", "rating", "price", "released", "published", '
                    '"uid", "status", "note"'
                ),
                [50, "c", 3, 0.0, None, 1, None, None, None, "draft", None],
            ),
            ("commit",),
        ],
        mysql=[
            ("begin",),
            (
                "fetch:write",
                (
                    "INSERT INTO `gq_book` (`title`, `pages`, `rating`, `price`, `in_print`, "
                    "`released`, `published`, `uid`, `status`, `author_id`) VALUES (%s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                [
                    "a",
                    0,
                    0.0,
                    None,
                    1,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                    "d",
                    0,
                    0.0,
                    None,
                    0,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                ],
            ),
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`id` IN (%s, %s)", [10, 11]),
            (
                "fetch:write",
                (
                    "INSERT INTO `gq_book` (`title`, `pages`, `rating`, `price`, `in_print`, "
                    "`released`, `published`, `uid`, `status`, `note`, `author_id`) VALUES (%s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                ["b", 0, 0.0, None, 1, None, None, None, "draft", "x", None],
            ),
            (
                "fetch:write",
                (
                    "INSERT INTO `gq_book` (`id`, `title`, `pages`, `rating`, `price`, `in_print`, "
                    "`released`, `published`, `uid`, `status`, `author_id`) VALUES (%s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                [50, "c", 3, 0.0, None, 1, None, None, None, "draft", None],
            ),
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`id` IN (%s)", [50]),
            ("commit",),
        ],
    ),
    terminal(
        "bulk_create_one_batch",
        lambda r: B.bulk_create(
            [GqBook(title="a", released=dt.date(2000, 1, 2)), {"title": "b", "price": "1.25"}],
            client=r,
        ),
        answers=lambda d: (
            [[back(d, 10), back(d, 11)]] if d != "mysql" else [[(10,)], [row(d, 10), row(d, 11)]]
        ),
        result=[("GqBook", 10), ("GqBook", 11)],
        pg=[
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "author_id") VALUES ($1, $2, $3, '
                    "$4, $5, $6, $7, $8, $9, $10), ($11, $12, $13, $14, $15, $16, $17, $18, $19, "
                    '$20) RETURNING "id", "rating", "price", "released", "published", "uid", '
                    '"status", "note"'
                ),
                [
                    "a",
                    0,
                    0.0,
                    None,
                    True,
                    dt.date(2000, 1, 2),
                    None,
                    None,
                    "draft",
                    None,
                    "b",
                    0,
                    0.0,
                    Decimal("1.25"),
                    True,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                ],
            ),
        ],
        sqlite=[
            (
                "fetch:write",
                (
                    'INSERT INTO "gq_book" ("title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "author_id") VALUES (?, ?, ?, ?, ?, '
                    '?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id", "rating", '
                    '"price", "released", "published", "uid", "status", "note"'
                ),
                [
                    "a",
                    0,
                    0.0,
                    None,
                    1,
                    "2000-01-02",
                    None,
                    None,
                    "draft",
                    None,
                    "b",
                    0,
                    0.0,
                    "1.25",
                    1,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                ],
            ),
        ],
        mysql=[
            (
                "fetch:write",
                (
                    "INSERT INTO `gq_book` (`title`, `pages`, `rating`, `price`, "
                    "`in_print`, `released`, `published`, `uid`, `status`, `author_id`) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s)"
                ),
                [
                    "a",
                    0,
                    0.0,
                    None,
                    1,
                    dt.date(2000, 1, 2),
                    None,
                    None,
                    "draft",
                    None,
                    "b",
                    0,
                    0.0,
                    Decimal("1.25"),
                    1,
                    None,
                    None,
                    None,
                    "draft",
                    None,
                ],
            ),
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`id` IN (%s, %s)", [10, 11]),
        ],
    ),
    terminal(
        "bulk_update",
        lambda r: B.bulk_update(
            [GqBook(id=1, title="a", pages=2), GqBook(id=2, title="b", pages=3, in_print=False)],
            ["title", "pages", "in_print"],
            client=r,
        ),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute_many",
                (
                    'UPDATE "gq_book" SET "title" = $1, "pages" = $2, "in_print" = $3 '
                    'WHERE "gq_book"."id" = $4'
                ),
                [["a", 2, True, 1], ["b", 3, False, 2]],
            ),
        ],
        sqlite=[
            (
                "execute_many",
                (
                    'UPDATE "gq_book" SET "title" = ?, "pages" = ?, "in_print" = ? WHERE '
                    '"gq_book"."id" = ?'
                ),
                [["a", 2, 1, 1], ["b", 3, 0, 2]],
            ),
        ],
        mysql=[
            (
                "execute_many",
                (
                    "UPDATE `gq_book` SET `title` = %s, `pages` = %s, `in_print` = %s "
                    "WHERE `gq_book`.`id` = %s"
                ),
                [["a", 2, 1, 1], ["b", 3, 0, 2]],
            ),
        ],
    ),
    terminal(
        "update",
        lambda r: B.filter(pages__lt=10).update(in_print=False, note="short", client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                ('UPDATE "gq_book" SET "in_print" = $1, "note" = $2 WHERE "gq_book"."pages" < $3'),
                [False, "short", 10],
            ),
        ],
        sqlite=[
            (
                "execute",
                ('UPDATE "gq_book" SET "in_print" = ?, "note" = ? WHERE "gq_book"."pages" < ?'),
                [0, "short", 10],
            ),
        ],
        mysql=[
            (
                "execute",
                ("UPDATE `gq_book` SET `in_print` = %s, `note` = %s WHERE `gq_book`.`pages` < %s"),
                [0, "short", 10],
            ),
        ],
    ),
    terminal(
        "update_f",
        lambda r: B.filter(id=4).update(pages=F("pages") * 2 + 1, rating=-F("rating"), client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "pages" = (("gq_book"."pages" * $1) + $2), '
                    '"rating" = (-"gq_book"."rating") WHERE "gq_book"."id" = $3'
                ),
                [2, 1, 4],
            ),
        ],
        sqlite=[
            (
                "execute",
                (
                    # int arithmetic is checked (SQLite would overflow into a double)
                    'UPDATE "gq_book" SET "pages" = '
                    'oxyde_store_int((("gq_book"."pages" * ?) + ?), NULL, NULL), '
                    '"rating" = (-"gq_book"."rating") WHERE "gq_book"."id" = ?'
                ),
                [2, 1, 4],
            ),
        ],
        mysql=[
            (
                "execute",
                (
                    "UPDATE `gq_book` SET `pages` = ((`gq_book`.`pages` * %s) + %s), "
                    "`rating` = (-`gq_book`.`rating`) WHERE `gq_book`.`id` = %s"
                ),
                [2, 1, 4],
            ),
        ],
    ),
    terminal(
        "update_fk_filter",
        lambda r: B.filter(author__company__name="Acme").update(status=GqStatus.OUT, client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "status" = $1 WHERE "gq_book"."id" IN (SELECT '
                    '"_pks"."pk" FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" LEFT '
                    'JOIN "gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" '
                    'LEFT JOIN "gq_company" AS "author__company" ON "author"."company_id" '
                    '= "author__company"."id" WHERE "author__company"."name" = $2) AS '
                    '"_pks")'
                ),
                ["out", "Acme"],
            ),
        ],
        sqlite=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "status" = ? WHERE "gq_book"."id" IN (SELECT '
                    '"_pks"."pk" FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" LEFT '
                    'JOIN "gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" '
                    'LEFT JOIN "gq_company" AS "author__company" ON "author"."company_id" '
                    '= "author__company"."id" WHERE "author__company"."name" = ?) AS '
                    '"_pks")'
                ),
                ["out", "Acme"],
            ),
        ],
        mysql=[
            (
                "execute",
                (
                    "UPDATE `gq_book` SET `status` = %s WHERE `gq_book`.`id` IN (SELECT "
                    "`_pks`.`pk` FROM (SELECT `gq_book`.`id` AS `pk` FROM `gq_book` LEFT "
                    "JOIN `gq_author` AS `author` ON `gq_book`.`author_id` = `author`.`id` "
                    "LEFT JOIN `gq_company` AS `author__company` ON `author`.`company_id` "
                    "= `author__company`.`id` WHERE `author__company`.`name` = %s) AS "
                    "`_pks`)"
                ),
                ["out", "Acme"],
            ),
        ],
    ),
    terminal(
        "update_limit",
        lambda r: B.order_by("-rating").limit(3).update(in_print=True, client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "in_print" = $1 WHERE "gq_book"."id" IN (SELECT '
                    '"_pks"."pk" FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" ORDER '
                    'BY "gq_book"."rating" DESC LIMIT $2) AS "_pks")'
                ),
                [True, 3],
            ),
        ],
        sqlite=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "in_print" = ? WHERE "gq_book"."id" IN (SELECT '
                    '"_pks"."pk" FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" ORDER '
                    'BY "gq_book"."rating" DESC LIMIT ?) AS "_pks")'
                ),
                [1, 3],
            ),
        ],
        mysql=[
            (
                "execute",
                (
                    "UPDATE `gq_book` SET `in_print` = %s WHERE `gq_book`.`id` IN (SELECT "
                    "`_pks`.`pk` FROM (SELECT `gq_book`.`id` AS `pk` FROM `gq_book` ORDER "
                    "BY `gq_book`.`rating` DESC LIMIT %s) AS `_pks`)"
                ),
                [1, 3],
            ),
        ],
    ),
    terminal(
        "update_returning",
        lambda r: B.filter(pages__gt=100).update(returning=True, title="Dune", client=r),
        answers=lambda d: [[row(d)]] if d != "mysql" else [[(1,)], [row(d)]],
        result=[("GqBook", 1)],
        pg=[
            (
                "fetch:write",
                (
                    'UPDATE "gq_book" SET "title" = $1 WHERE "gq_book"."pages" > $2 '
                    'RETURNING "id", "title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "note", "author_id"'
                ),
                ["Dune", 100],
            ),
        ],
        sqlite=[
            (
                "fetch:write",
                (
                    'UPDATE "gq_book" SET "title" = ? WHERE "gq_book"."pages" > ? '
                    'RETURNING "id", "title", "pages", "rating", "price", "in_print", '
                    '"released", "published", "uid", "status", "note", "author_id"'
                ),
                ["Dune", 100],
            ),
        ],
        mysql=[
            ("begin",),
            (
                "fetch",
                ("SELECT `gq_book`.`id` FROM `gq_book` WHERE `gq_book`.`pages` > %s FOR UPDATE"),
                [100],
            ),
            (
                "execute",
                "UPDATE `gq_book` SET `title` = %s WHERE `gq_book`.`pages` > %s",
                ["Dune", 100],
            ),
            ("fetch", BOOK_MYSQL + " WHERE `gq_book`.`id` IN (%s) ORDER BY `gq_book`.`id`", [1]),
            ("commit",),
        ],
    ),
    terminal(
        "increment",
        lambda r: B.filter(title="Dune").increment("pages", by=2, client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "pages" = ("gq_book"."pages" + $1) WHERE '
                    '"gq_book"."title" = $2'
                ),
                [2, "Dune"],
            ),
        ],
        sqlite=[
            (
                "execute",
                (
                    'UPDATE "gq_book" SET "pages" = '
                    'oxyde_store_int(("gq_book"."pages" + ?), NULL, NULL) WHERE '
                    '"gq_book"."title" = ?'
                ),
                [2, "Dune"],
            ),
        ],
        mysql=[
            (
                "execute",
                (
                    "UPDATE `gq_book` SET `pages` = (`gq_book`.`pages` + %s) WHERE "
                    "`gq_book`.`title` = %s"
                ),
                [2, "Dune"],
            ),
        ],
    ),
    terminal(
        "increment_all",
        lambda r: B.increment("price", by=Decimal("0.5"), client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                'UPDATE "gq_book" SET "price" = ("gq_book"."price" + $1)',
                [Decimal("0.5")],
            ),
        ],
        sqlite=[
            (
                "execute",
                # exact decimal arithmetic, fitted to NUMERIC(8,2) or an error
                'UPDATE "gq_book" SET "price" = oxyde_store_decimal('
                'oxyde_decimal_arith("gq_book"."price", \'+\', ?), 8, 2)',
                ["0.5"],
            ),
        ],
        mysql=[
            (
                "execute",
                "UPDATE `gq_book` SET `price` = (`gq_book`.`price` + %s)",
                [Decimal("0.5")],
            ),
        ],
    ),
    terminal(
        "delete",
        lambda r: B.filter(pages=0).delete(client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            ("execute", 'DELETE FROM "gq_book" WHERE "gq_book"."pages" = $1', [0]),
        ],
        sqlite=[
            ("execute", 'DELETE FROM "gq_book" WHERE "gq_book"."pages" = ?', [0]),
        ],
        mysql=[
            ("execute", "DELETE FROM `gq_book` WHERE `gq_book`.`pages` = %s", [0]),
        ],
    ),
    terminal(
        "delete_fk_filter",
        lambda r: B.filter(author__name="Le Guin").delete(client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                (
                    'DELETE FROM "gq_book" WHERE "gq_book"."id" IN (SELECT "_pks"."pk" '
                    'FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" LEFT JOIN '
                    '"gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" '
                    'WHERE "author"."name" = $1) AS "_pks")'
                ),
                ["Le Guin"],
            ),
        ],
        sqlite=[
            (
                "execute",
                (
                    'DELETE FROM "gq_book" WHERE "gq_book"."id" IN (SELECT "_pks"."pk" '
                    'FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" LEFT JOIN '
                    '"gq_author" AS "author" ON "gq_book"."author_id" = "author"."id" '
                    'WHERE "author"."name" = ?) AS "_pks")'
                ),
                ["Le Guin"],
            ),
        ],
        mysql=[
            (
                "execute",
                (
                    "DELETE FROM `gq_book` WHERE `gq_book`.`id` IN (SELECT `_pks`.`pk` "
                    "FROM (SELECT `gq_book`.`id` AS `pk` FROM `gq_book` LEFT JOIN "
                    "`gq_author` AS `author` ON `gq_book`.`author_id` = `author`.`id` "
                    "WHERE `author`.`name` = %s) AS `_pks`)"
                ),
                ["Le Guin"],
            ),
        ],
    ),
    terminal(
        "delete_limit",
        lambda r: B.order_by("id")[:2].delete(client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            (
                "execute",
                (
                    'DELETE FROM "gq_book" WHERE "gq_book"."id" IN (SELECT "_pks"."pk" '
                    'FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" ORDER BY '
                    '"gq_book"."id" LIMIT $1) AS "_pks")'
                ),
                [2],
            ),
        ],
        sqlite=[
            (
                "execute",
                (
                    'DELETE FROM "gq_book" WHERE "gq_book"."id" IN (SELECT "_pks"."pk" '
                    'FROM (SELECT "gq_book"."id" AS "pk" FROM "gq_book" ORDER BY '
                    '"gq_book"."id" LIMIT ?) AS "_pks")'
                ),
                [2],
            ),
        ],
        mysql=[
            (
                "execute",
                (
                    "DELETE FROM `gq_book` WHERE `gq_book`.`id` IN (SELECT `_pks`.`pk` "
                    "FROM (SELECT `gq_book`.`id` AS `pk` FROM `gq_book` ORDER BY "
                    "`gq_book`.`id` LIMIT %s) AS `_pks`)"
                ),
                [2],
            ),
        ],
    ),
    terminal(
        "delete_all",
        lambda r: B.delete(client=r),
        answers=lambda d: [],
        result=2,
        pg=[
            ("execute", 'DELETE FROM "gq_book"', []),
        ],
        sqlite=[
            ("execute", 'DELETE FROM "gq_book"', []),
        ],
        mysql=[
            ("execute", "DELETE FROM `gq_book`", []),
        ],
    ),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("run", "answers", "result", "expected"), TERMINAL_CASES)
async def test_terminal_statements(
    run: Run, answers: Answers, result: Any, expected: dict[str, Log], dialect: str
) -> None:
    recorder = Recorder(dialect, answers(dialect))
    got = await run(recorder)
    assert recorder.log == expected[dialect]
    assert not recorder.answers, "a canned answer was never asked for"
    assert summary(got) == result


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_rows_read_back_as_field_types(dialect: str) -> None:
    # whatever form each driver returns, the instance holds the field's Python types
    got = await B.get(pk=1, client=Recorder(dialect, [[row(dialect)]]))
    columns = list(get_meta(GqBook).columns)
    values = [got.__dict__[name] for name in columns]
    assert values == [DUNE.__dict__[name] for name in columns]
    assert [type(v) for v in values] == [type(DUNE.__dict__[name]) for name in columns]
    assert got.model_fields_set == set(columns)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_none_sends_nothing(dialect: str) -> None:
    recorder = Recorder(dialect)
    empty = B.filter(pages=1).none()
    assert await empty.all(client=recorder) == []
    assert await empty.all(mode="msgpack", client=recorder) == b"\x90"
    assert await empty.values_list("id", flat=True).all(client=recorder) == []
    assert await empty.count(client=recorder) == 0
    assert await empty.exists(client=recorder) is False
    assert await empty.sum("pages", client=recorder) is None
    assert await empty.first(client=recorder) is None
    assert await empty.get_or_none(client=recorder) is None
    with pytest.raises(NotFoundError):
        await empty.get(client=recorder)
    assert await empty.update(pages=2, client=recorder) == 0
    assert await empty.update(returning=True, pages=2, client=recorder) == []
    assert await empty.delete(client=recorder) == 0
    assert await B.none().filter(title="x").order_by("id").all(client=recorder) == []
    assert recorder.log == []
