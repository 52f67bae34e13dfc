"""Statements stay under the dialect's limit on bound values (``Dialect.max_params``):
bulk writes and IN lists larger than one statement takes are split, on every backend."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from oxyde import Field, Model, events


class PlItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    code: int = Field(db_unique=True)
    a: int = 0
    b: int = 0
    c: int = 0
    # left to the database: no COPY on PostgreSQL, so the rows go as INSERTs
    flag: int = Field(default=0, db_default="0")

    class Meta:
        is_table = True
        table_name = "pl_item"


#: the columns an INSERT of a PlItem sends (code, a, b, c)
SENT = 4


@pytest.fixture
async def items(database: Any, model_tables: Any) -> Any:
    await model_tables(PlItem)
    return database


@pytest.fixture
def statements() -> Iterator[list[str]]:
    sql: list[str] = []
    hook = events.add_query_hook(before=lambda event: sql.append(event.sql))
    yield sql
    hook.remove()


def test_the_sqlite_build_binds_what_its_dialect_says() -> None:
    import apsw

    from oxyde.sql.dialects import get_dialect

    limit = apsw.Connection(":memory:").limit(apsw.SQLITE_LIMIT_VARIABLE_NUMBER)
    assert get_dialect("sqlite").max_params <= limit


@pytest.mark.parametrize("how", ["bulk_create", "upsert"])
async def test_bulk_writes_past_the_parameter_limit(
    items: Any, statements: list[str], how: str
) -> None:
    dialect = items.dialect
    n = dialect.max_params // SENT + 500  # one statement could not bind them all
    rows = [PlItem(code=i, a=i, b=2 * i, c=3 * i) for i in range(n)]
    if how == "bulk_create":
        await PlItem.objects.bulk_create(rows, batch_size=n)
    else:
        await PlItem.objects.upsert(rows, conflict=["code"], batch_size=n)
    inserts = [sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == math.ceil(n / dialect.per_statement(SENT)) >= 2
    assert await PlItem.objects.count() == n
    loaded = await PlItem.objects.order_by("code").values_list("code", "a", "b", "c", "flag").all()
    assert loaded == [(i, i, 2 * i, 3 * i, 0) for i in range(n)]


async def test_in_bulk_past_the_parameter_limit(items: Any, statements: list[str]) -> None:
    dialect = items.dialect
    await PlItem.objects.bulk_create([PlItem(code=i) for i in range(3)])
    first = (await PlItem.objects.order_by("id").values_list("id", flat=True).all())[0]
    ids = [first, *range(first + 1_000_000, first + 1_000_000 + dialect.max_params)]
    ids.append(first + 2)
    statements.clear()
    found = await PlItem.objects.in_bulk(ids)
    assert sorted(found) == [first, first + 2]
    per = len(ids) if dialect.array_in else dialect.in_list_size()
    assert len(statements) == math.ceil(len(ids) / per)
