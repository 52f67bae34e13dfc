"""What you save is what you read back, as the same Python type, for every column type."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from oxyde import create_tables, drop_tables
from oxyde.meta.registry import get_meta
from tests.support.models import Everything, Status, Token

SAMPLE: dict[str, Any] = {
    "i": -(2**62),
    "f": 1.5e-7,
    "b": True,
    "s": "héllo 'quoted' \"double\" 🎉",
    "raw": b"\x00\x01binary\xff",
    "at": dt.datetime(2024, 2, 29, 23, 59, 58, 123456),
    "day": dt.date(1999, 12, 31),
    "clock": dt.time(13, 14, 15, 16),
    "span": dt.timedelta(days=3, seconds=7, microseconds=11),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "price": Decimal("12345678.1234"),
    "data": {"k": [1, 2, {"n": None}], "ü": "x"},
    "tags": ["a", "b c", ""],
    "status": Status.ARCHIVED,
}


@pytest.fixture
async def tables(database: Any) -> AsyncIterator[Any]:
    await drop_tables(database)
    await create_tables(database)
    yield database
    await drop_tables(database)


async def test_every_type_round_trips_through_models(tables: Any) -> None:
    created = await Everything.objects.create(**SAMPLE)
    fetched = await Everything.objects.get(id=created.id)
    for name, value in SAMPLE.items():
        got = getattr(fetched, name)
        assert got == value, name
        assert type(got) is type(value), name
    assert fetched == created


async def test_bulk_created_instances_equal_what_is_read_back(tables: Any) -> None:
    # bulk_create reads back only the columns whose stored form can differ from the
    # value sent; each instance must still equal its row as a fresh read gives it
    aware = dt.datetime(2024, 6, 1, 12, 0, 0, 250, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    made = [
        Everything(**SAMPLE),
        Everything(i=7, s="", b=False, at_tz=aware),
        Everything(),
        Everything(**{**SAMPLE, "f": -0.0, "s": "trailing  ", "i": 0}),
    ]
    await Everything.objects.bulk_create(made)
    for instance in made:
        assert instance.id is not None
        fetched = await Everything.objects.get(id=instance.id)
        assert fetched == instance
        for name in get_meta(Everything).columns:
            # repr: also tells -0.0 from 0.0 and one UTC offset from another
            assert repr(getattr(fetched, name)) == repr(getattr(instance, name)), name
        assert instance.model_fields_set >= set(get_meta(Everything).columns)


async def test_every_type_round_trips_through_values(tables: Any) -> None:
    created = await Everything.objects.create(**SAMPLE)
    row = (await Everything.objects.filter(id=created.id).values(*SAMPLE).all())[0]
    for name, value in SAMPLE.items():
        assert row[name] == value, name
        assert type(row[name]) is type(value), name
    values = await Everything.objects.filter(id=created.id).values_list(*SAMPLE).all()
    assert values[0] == tuple(SAMPLE.values())


async def test_aware_datetimes_read_back_as_the_same_instant(tables: Any) -> None:
    aware = dt.datetime(2024, 6, 1, 12, 0, 0, 250, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    created = await Everything.objects.create(at_tz=aware)
    fetched = await Everything.objects.get(id=created.id)
    assert fetched.at_tz == aware
    assert fetched.at_tz is not None and fetched.at_tz.utcoffset() == dt.timedelta(0)
    row = await Everything.objects.filter(at_tz__gte=aware).values_list("at_tz", flat=True).all()
    assert row == [aware]
    assert await Everything.objects.filter(at_tz=aware).count() == 1


async def test_nulls_round_trip(tables: Any) -> None:
    created = await Everything.objects.create()
    fetched = await Everything.objects.get(id=created.id)
    assert fetched == created
    assert fetched.at is None and fetched.data is None and fetched.status is None


async def test_aggregates_keep_types(tables: Any) -> None:
    await Everything.objects.bulk_create(
        [
            Everything(
                i=1, price=Decimal("1.5"), at=dt.datetime(2020, 1, 1), day=dt.date(2020, 1, 2)
            ),
            Everything(
                i=2, price=Decimal("2.25"), at=dt.datetime(2021, 1, 1), day=dt.date(2019, 1, 2)
            ),
        ]
    )
    assert await Everything.objects.sum("i") == 3
    assert await Everything.objects.sum("price") == Decimal("3.75")
    assert isinstance(await Everything.objects.sum("price"), Decimal)
    assert await Everything.objects.max("at") == dt.datetime(2021, 1, 1)
    assert await Everything.objects.min("day") == dt.date(2019, 1, 2)
    assert await Everything.objects.max("price") == Decimal("2.25")


async def test_lookups_on_typed_columns(tables: Any) -> None:
    created = await Everything.objects.create(**SAMPLE)
    for name in ("i", "s", "raw", "at", "day", "uid", "status", "b"):
        assert await Everything.objects.filter(**{name: SAMPLE[name]}).count() == 1, name
    assert await Everything.objects.filter(uid__in=[SAMPLE["uid"], uuid.uuid4()]).count() == 1
    assert await Everything.objects.filter(at__gte=dt.datetime(2024, 1, 1)).count() == 1
    assert await Everything.objects.filter(id=created.id, day__year=1999).count() == 1


async def test_client_side_uuid_key_and_db_default(tables: Any) -> None:
    token = Token(label="new")
    await token.save()
    fetched = await Token.objects.get(id=token.id)
    assert fetched.label == "new"
    assert fetched.created == "server"
    token.label = "renamed"
    await token.save()
    assert (await Token.objects.get(id=token.id)).label == "renamed"
    assert await Token.objects.count() == 1
    explicit = Token(id=uuid.uuid4(), label="explicit", created="client")
    await explicit.save()
    assert (await Token.objects.get(id=explicit.id)).created == "client"
