"""Raw SQL and grouping as code written for the public Oxyde uses them: ``execute_raw``
with each backend's placeholder style (``$1`` PostgreSQL, ``?`` SQLite and MySQL), a
literal ``%`` in the text, and ``group_by()`` without ``values()``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from oxyde import Count, Field, Model, execute_raw
from oxyde.db import atomic, create_tables, drop_tables
from oxyde.models import unregister_table


class CpRawItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    kind: str = Field(max_length=10)

    class Meta:
        is_table = True
        table_name = "cp_raw_item"


unregister_table(CpRawItem)


def marks(backend: str, n: int) -> list[str]:
    """The public Oxyde's placeholders on ``backend``."""
    if backend == "postgres":
        return [f"${i}" for i in range(1, n + 1)]
    return ["?"] * n


@pytest.fixture
async def items(database: Any) -> AsyncIterator[Any]:
    await drop_tables(database, models=[CpRawItem])
    await create_tables(database, models=[CpRawItem])
    yield database
    await drop_tables(database, models=[CpRawItem])


async def test_public_placeholders_and_literal_percent(items: Any, backend_name: str) -> None:
    a, b = marks(backend_name, 2)
    await execute_raw(f"INSERT INTO cp_raw_item (name, kind) VALUES ({a}, {b})", ["50% off", "x"])
    await execute_raw(f"INSERT INTO cp_raw_item (name, kind) VALUES ({a}, {b})", ["plain", "y"])
    (a,) = marks(backend_name, 1)
    rows = await execute_raw(
        f"SELECT name, '100%' AS pct, '?' AS q FROM cp_raw_item WHERE name LIKE '%off' "
        f"AND kind = {a}",
        ["x"],
    )
    assert rows == [{"name": "50% off", "pct": "100%", "q": "?"}]
    # No parameters at all: the text is sent as written.
    assert await execute_raw("SELECT count(*) AS n FROM cp_raw_item WHERE name LIKE '%%'") == [
        {"n": 2}
    ]
    # Inside atomic() the same, on the transaction's connection.
    async with atomic():
        assert await execute_raw(f"SELECT name FROM cp_raw_item WHERE kind = {a}", ["y"]) == [
            {"name": "plain"}
        ]


@pytest.mark.parametrize("backend_name", ["mysql"])
async def test_mysql_keeps_taking_format_placeholders(items: Any, backend_name: str) -> None:
    await execute_raw("INSERT INTO cp_raw_item (name, kind) VALUES (%s, %s)", ["a%", "k"])
    rows = await execute_raw(
        "SELECT name FROM cp_raw_item WHERE name LIKE 'a%%' AND kind = %s", ["k"]
    )
    assert rows == [{"name": "a%"}]


async def test_group_by_without_values_is_a_type_error(items: Any) -> None:
    await CpRawItem.objects.bulk_create(
        [
            CpRawItem(name="a", kind="x"),
            CpRawItem(name="b", kind="x"),
            CpRawItem(name="c", kind="y"),
        ]
    )
    with pytest.raises(TypeError, match=r"group_by\(\).*values\(\)"):
        await CpRawItem.objects.group_by("kind").annotate(n=Count("id")).all()
    rows = (
        await CpRawItem.objects.values("kind")
        .annotate(n=Count("id"))
        .group_by("kind")
        .order_by("kind")
        .all()
    )
    assert rows == [{"kind": "x", "n": 2}, {"kind": "y", "n": 1}]
