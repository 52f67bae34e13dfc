"""A dialect that is none of the three: brackets around identifiers, ``@p1`` placeholders,
its own casts and no regular expressions. It is plain data built here, with no change to
the SQL builder, and both builders compile queries for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from oxyde import _impl
from oxyde.queries.expressions import Concat
from oxyde.sql.compiler import clear_cache, render
from oxyde.sql.ddl import create_table_statements
from oxyde.sql.dialects import POSTGRES
from oxyde.sql.dialects.base import ARG, Dialect
from tests.support.golden_models import GqBook
from tests.support.irkit import col, select

BRACKETS = dataclasses.replace(
    POSTGRES,
    name="brackets",
    quote="[",
    quote_end="]",
    placeholder="named_numeric",
    array_in=False,
    returning=False,
    random_sql="NEWID()",
    concat_style="concat",
    syntax=dataclasses.replace(
        POSTGRES.syntax,
        marker="@p",
        numbered=True,
        cast_text=("CONVERT(NVARCHAR(MAX), ", ARG, ")"),
        regex=None,
        iregex=None,
        lock_share=" WITH (HOLDLOCK)",
        lock_of=False,
    ),
)


def _builder(which: str) -> ModuleType:
    if which == "python":
        return _impl.load_pure("sqlbuild")
    try:
        return _impl.load_compiled("sqlbuild")
    except ImportError as exc:
        pytest.skip(f"compiled sqlbuild unavailable: {exc}")


@pytest.fixture(params=["python", "c"], autouse=True)
def builder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    module = _builder(request.param)
    clear_cache()
    monkeypatch.setattr(_impl, "sqlbuild", module)
    yield module
    clear_cache()


def sql(query: Any, dialect: Dialect = BRACKETS) -> tuple[str, list[Any]]:
    ir = query.to_ir()
    return render(ir["ir"], ir["values"], dialect)


B = GqBook.objects


def test_identifiers_and_placeholders_follow_the_dialect() -> None:
    assert sql(B.filter(title__startswith="Du", pages__in=[1, 2]).values("title").limit(3)) == (
        "SELECT [gq_book].[title] FROM [gq_book] "
        "WHERE [gq_book].[title] LIKE @p1 ESCAPE '\\' AND [gq_book].[pages] IN (@p2, @p3) "
        "LIMIT @p4",
        ["Du%", 1, 2, 3],
    )


def test_the_closing_quote_is_doubled_inside_a_name() -> None:
    node = select(cols=((col("we]ird"), "a[b]"),))
    assert render(node, [], BRACKETS) == ("SELECT [we]]ird] AS [a[b]]] FROM [t]", [])
    assert BRACKETS.quote_ident("x]y") == "[x]]y]"


def test_the_dialect_templates_and_flags_are_used() -> None:
    query = B.annotate(label=Concat("title", "pages", separator="/")).values("label").order_by("?")
    assert sql(query) == (
        "SELECT CONCAT([gq_book].[title], @p1, CONVERT(NVARCHAR(MAX), [gq_book].[pages])) "
        "FROM [gq_book] ORDER BY NEWID()",
        ["/"],
    )
    assert sql(B.filter(id=1).for_share())[0].endswith("WHERE [gq_book].[id] = @p1 WITH (HOLDLOCK)")


def test_a_construct_the_dialect_lacks_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="dialect 'brackets' has no regular expression syntax"):
        sql(B.filter(title__regex="^D"))


def test_ddl_quotes_with_the_same_function() -> None:
    (create,) = [s for s in create_table_statements(GqBook._db_meta, BRACKETS) if "TABLE" in s]
    assert create.startswith("CREATE TABLE IF NOT EXISTS [gq_book] ([id] BIGSERIAL PRIMARY KEY")
