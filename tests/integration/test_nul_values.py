"""Stored strings that hold NUL are matched by the pattern lookups like any other
character (PostgreSQL text cannot hold NUL, so it is not among the backends)."""

from __future__ import annotations

from typing import Any

import pytest

from oxyde import Field, Model


class NulText(Model):
    id: int | None = Field(default=None, db_pk=True)
    s: str = Field(max_length=64)

    class Meta:
        is_table = True
        table_name = "nul_text"


VALUES = ["ab\x00Cd", "\x00tail", "head\x00", "a\x00\x00b", "Cd"]


@pytest.fixture
async def rows(database: Any, model_tables: Any) -> dict[str, int]:
    await model_tables(NulText)
    return {value: (await NulText.objects.create(s=value)).id for value in VALUES}


async def matched(**lookup: str) -> list[str]:
    found = await NulText.objects.filter(**lookup).values_list("s", flat=True).all()
    return sorted(found, key=VALUES.index)


@pytest.mark.parametrize("backend_name", ["sqlite", "mysql"])
async def test_pattern_lookups_see_past_a_nul(rows: dict[str, int]) -> None:
    assert await matched(s__contains="Cd") == ["ab\x00Cd", "Cd"]
    assert await matched(s__contains="tail") == ["\x00tail"]
    assert await matched(s__endswith="Cd") == ["ab\x00Cd", "Cd"]
    assert await matched(s__endswith="b") == ["a\x00\x00b"]
    assert await matched(s__startswith="head") == ["head\x00"]
    assert await matched(s__startswith="ab") == ["ab\x00Cd"]
    assert await matched(s__icontains="cD") == ["ab\x00Cd", "Cd"]
    assert await matched(s__iendswith="TAIL") == ["\x00tail"]
    assert await matched(s__istartswith="HEAD") == ["head\x00"]
    # the whole value counts, not the part before the NUL
    assert await matched(s__iexact="ab") == []
    assert await matched(s__endswith="ab") == []
    assert await matched(s__startswith="a") == ["ab\x00Cd", "a\x00\x00b"]
    # exclude() is the complement, NUL or not
    excluded = await NulText.objects.exclude(s__contains="Cd").values_list("s", flat=True).all()
    assert sorted(excluded, key=VALUES.index) == ["\x00tail", "head\x00", "a\x00\x00b"]
    # and exact matches keep working
    assert await matched(s="a\x00\x00b") == ["a\x00\x00b"]
