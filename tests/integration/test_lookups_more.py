"""Lookups beyond the basics on every backend: ne, regex, iregex, date, hour, JSON keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import AwareDatetime

from oxyde import Field, FieldLookupError, FieldLookupValueError, Model

UTC = dt.UTC


class LmEvent(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    at: dt.datetime | None = None
    at_tz: AwareDatetime | None = None
    data: dict[str, Any] | None = None

    class Meta:
        is_table = True
        table_name = "lm_event"


ROWS: list[dict[str, Any]] = [
    {
        "name": "alpha",
        "at": dt.datetime(2024, 3, 5, 0, 0, 0),
        "at_tz": dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        "data": {"n": 5, "s": "5", "flag": True, "none": None, "nested": {"x": 1.5},
                 "list": [10, 20], "weird key": "ok"},
    },
    {
        "name": "Beta 42",
        "at": dt.datetime(2024, 3, 5, 23, 59, 59, 999999),
        "at_tz": dt.datetime(2024, 3, 6, 9, 0, tzinfo=UTC),
        "data": {"n": 7.5, "s": "seven", "flag": False, "nested": {"x": "1.5"}},
    },
    {
        "name": "gamma",
        "at": dt.datetime(2024, 3, 6, 9, 15),
        "at_tz": None,
        "data": {"n": "5", "other": 1},
    },
    {"name": "delta", "at": None, "at_tz": None, "data": None},
]  # fmt: skip


@pytest.fixture
async def events(database: Any, model_tables: Any) -> AsyncIterator[list[LmEvent]]:
    await model_tables(LmEvent)
    yield await LmEvent.objects.bulk_create([LmEvent(**row) for row in ROWS])


async def names(**lookups: Any) -> list[str]:
    rows = (
        await LmEvent.objects.filter(**lookups).order_by("id").values_list("name", flat=True).all()
    )
    return list(rows)


async def test_ne_regex_iregex(events: list[LmEvent]) -> None:
    assert await names(name__ne="alpha") == ["Beta 42", "gamma", "delta"]
    # ne None means IS NOT NULL
    assert await names(at__ne=None) == ["alpha", "Beta 42", "gamma"]
    assert await names(name__regex=r"^[a-z]+$") == ["alpha", "gamma", "delta"]
    assert await names(name__regex=r"\d{2}$") == ["Beta 42"]
    # regex is case-sensitive on every backend, iregex is not
    assert await names(name__regex="^beta") == []
    assert await names(name__iregex="^beta") == ["Beta 42"]
    assert await names(name__iregex=r"^BETA \d+") == ["Beta 42"]


async def test_date_and_hour(events: list[LmEvent]) -> None:
    assert await names(at__date=dt.date(2024, 3, 5)) == ["alpha", "Beta 42"]
    assert await names(at__date=dt.date(2024, 3, 6)) == ["gamma"]
    assert await names(at__hour=0) == ["alpha"]
    assert await names(at__hour=23) == ["Beta 42"]
    assert await names(at__hour=9) == ["gamma"]
    # an aware column's hour is the UTC hour: 23:30-02:00 is 01:30 UTC
    assert await names(at_tz__hour=1) == ["alpha"]
    assert await names(at_tz__hour=9) == ["Beta 42"]
    assert await names(at_tz__date=dt.date(2024, 3, 6)) == ["alpha", "Beta 42"]
    assert await LmEvent.objects.exclude(at__hour=0).count() == 2  # NULL is neither


async def test_bad_hour_and_date_values_fail_before_sql(events: list[LmEvent]) -> None:
    for bad in (24, -1, "3", 2.0, True):
        with pytest.raises(FieldLookupValueError, match="at__hour"):
            LmEvent.objects.filter(at__hour=bad)
    with pytest.raises(FieldLookupValueError, match="at__date"):
        LmEvent.objects.filter(at__date=dt.datetime(2024, 1, 1))
    with pytest.raises(FieldLookupError, match="valid lookups"):
        LmEvent.objects.filter(name__hour=3)


async def test_json_key_comparisons_are_typed(events: list[LmEvent]) -> None:
    # a JSON number matches an int or a float, never the string "5", and vice versa
    assert await names(data__n=5) == ["alpha"]
    assert await names(data__n=5.0) == ["alpha"]
    assert await names(data__n="5") == ["gamma"]
    assert await names(data__s="5") == ["alpha"]
    assert await names(data__s=5) == []
    assert await names(data__n__gt=6) == ["Beta 42"]
    assert await names(data__n__gte=5) == ["alpha", "Beta 42"]
    assert await names(data__n__lt=7.5) == ["alpha"]
    assert await names(data__n__ne=5) == ["Beta 42"]
    assert await names(data__s__gt="r") == ["Beta 42"]
    assert await names(data__n__in=[7.5, "5"]) == ["Beta 42", "gamma"]
    assert await names(data__n__in=[]) == []
    # booleans are not numbers
    assert await names(data__flag=True) == ["alpha"]
    assert await names(data__flag=False) == ["Beta 42"]
    assert await names(data__flag=1) == []
    assert await names(data__flag__ne=True) == ["Beta 42"]


async def test_json_nested_paths_and_array_indexes(events: list[LmEvent]) -> None:
    assert await names(data__nested__x=1.5) == ["alpha"]
    assert await names(data__nested__x="1.5") == ["Beta 42"]
    assert await names(data__list__0=10) == ["alpha"]
    assert await names(data__list__1__gt=15) == ["alpha"]
    assert await names(**{"data__weird key": "ok"}) == ["alpha"]


async def test_json_null_missing_and_has_key(events: list[LmEvent]) -> None:
    # None is a JSON null; a missing key is isnull=True; has_key sees a JSON null
    assert await names(data__none=None) == ["alpha"]
    assert await names(data__has_key="none") == ["alpha"]
    assert await names(data__has_key="n") == ["alpha", "Beta 42", "gamma"]
    assert await names(data__nested__has_key="x") == ["alpha", "Beta 42"]
    assert await names(data__other__isnull=False) == ["gamma"]
    # a NULL document has no keys
    assert await names(data__other__isnull=True) == ["alpha", "Beta 42", "delta"]
    assert await names(data__isnull=True) == ["delta"]
    rest = await LmEvent.objects.exclude(data__has_key="n").values_list("name", flat=True).all()
    assert rest == ["delta"]


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_json_keys_are_bound_not_spliced(dialect: str) -> None:
    key = "k'\"`;-- %s $1"
    sql, params = LmEvent.objects.filter(**{f"data__{key}": "v", "data__has_key": key}).sql(dialect)
    assert key not in sql and "k'" not in sql
    flat = [p for p in params if isinstance(p, str)] + [
        k for p in params if isinstance(p, list) for k in p
    ]
    # a text array item on PostgreSQL, a JSON-quoted path item elsewhere
    assert any(key == p or json.dumps(key) in p for p in flat)


async def test_bad_json_keys_and_values_fail_before_sql(events: list[LmEvent]) -> None:
    with pytest.raises(FieldLookupError, match="empty key"):
        LmEvent.objects.filter(data____x=1)
    with pytest.raises(FieldLookupError, match="NUL"):
        LmEvent.objects.filter(**{"data__a\x00b": 1})
    with pytest.raises(FieldLookupError, match="NUL"):
        LmEvent.objects.filter(data__has_key="a\x00")
    with pytest.raises(FieldLookupValueError, match="compares JSON values"):
        LmEvent.objects.filter(data__n={"a": 1})
    with pytest.raises(FieldLookupValueError, match="has_key"):
        LmEvent.objects.filter(data__has_key=3)
    with pytest.raises(FieldLookupValueError):
        LmEvent.objects.filter(data__flag__gt=True)
    with pytest.raises(FieldLookupValueError):
        LmEvent.objects.filter(data__n__gt=None)
