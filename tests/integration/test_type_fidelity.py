"""Values that used to change silently: each comes back exact now, or fails before a write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import AwareDatetime

from oxyde import F, Field, Model
from oxyde.exceptions import DataError


class Fid(Model):
    id: int | None = Field(default=None, db_pk=True)
    i: int = 0
    f: float | None = 0.0
    dec: Decimal = Field(default=Decimal("0"), max_digits=18, decimal_places=6)
    price: Decimal = Field(default=Decimal("0"), max_digits=10, decimal_places=2)
    data: dict[str, Any] | None = None
    nums: list[int] = Field(default_factory=list)
    decs: list[Decimal] = Field(default_factory=list)

    class Meta:
        is_table = True
        table_name = "fid_values"


class FidTimes(Model):
    id: int | None = Field(default=None, db_pk=True)
    label: str = Field(default="", max_length=20)
    at: dt.datetime | None = None
    at_tz: AwareDatetime | None = None
    clock: dt.time | None = None

    class Meta:
        is_table = True
        table_name = "fid_times"


@pytest.fixture
async def fid(database: Any, model_tables: Any) -> Any:
    await model_tables(Fid, FidTimes)
    return database


async def test_decimal_arithmetic_is_exact(fid: Any) -> None:
    row = await Fid.objects.create(dec=Decimal("0.009524"), price=Decimal("100.00"))
    await Fid.objects.filter(id=row.id).update(dec=F("dec") + Decimal("1.369517"))
    assert (await Fid.objects.get(id=row.id)).dec == Decimal("1.379041")
    await Fid.objects.filter(id=row.id).update(
        price=(F("price") + Decimal("1.00")) * Decimal("1.10")
    )
    assert (await Fid.objects.get(id=row.id)).price == Decimal("111.10")
    # rounded to the column's scale as PostgreSQL and MySQL round it
    await Fid.objects.filter(id=row.id).update(price=F("price") / 3)
    assert (await Fid.objects.get(id=row.id)).price == Decimal("37.03")
    await Fid.objects.filter(id=row.id).update(dec=-F("dec") * 2)
    assert (await Fid.objects.get(id=row.id)).dec == Decimal("-2.758082")


async def test_decimal_arithmetic_beyond_max_digits_is_refused(fid: Any) -> None:
    big = Decimal("999999999999.999998")
    row = await Fid.objects.create(dec=big)
    with pytest.raises(DataError):
        await Fid.objects.filter(id=row.id).update(dec=F("dec") + big)
    assert (await Fid.objects.get(id=row.id)).dec == big


async def test_integer_overflow_through_f_is_refused(fid: Any) -> None:
    top = 2**63 - 1
    row = await Fid.objects.create(i=top)
    with pytest.raises(DataError):
        await Fid.objects.filter(id=row.id).update(i=F("i") + 1)
    got = await Fid.objects.get(id=row.id)
    assert got.i == top and type(got.i) is int
    await Fid.objects.filter(id=row.id).update(i=F("i") - 1)
    assert (await Fid.objects.get(id=row.id)).i == top - 1


async def test_nan_reads_back_or_is_refused(fid: Any, backend_name: str) -> None:
    if backend_name == "postgres":
        row = await Fid.objects.create(f=float("nan"))
        got = (await Fid.objects.get(id=row.id)).f
        assert got is not None and got != got
        return
    # SQLite would read NULL back; MySQL has no NaN: nothing is written
    with pytest.raises(DataError if backend_name == "sqlite" else Exception):
        await Fid.objects.create(f=float("nan"))
    assert await Fid.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [
        {"x": 4.665747488220727e16},
        {"x": -1e16, "y": [1e300, 12345678901234567890, 2.5e-300], "z": {"ü": 1e22}},
        {"x": 1.0, "y": 0.1, "z": 9007199254740993},
    ],
)
async def test_json_numbers_keep_their_type(fid: Any, data: dict[str, Any]) -> None:
    row = await Fid.objects.create(data=data)
    got = (await Fid.objects.get(id=row.id)).data
    assert got == data
    assert got is not None
    for key, value in data.items():
        assert type(got[key]) is type(value)
    assert await Fid.objects.filter(data=data).count() == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
async def test_json_refuses_nan_and_infinity_before_writing(fid: Any, bad: float) -> None:
    with pytest.raises(DataError):
        await Fid.objects.create(data={"x": bad})
    assert await Fid.objects.count() == 0


async def test_int_array_filters(fid: Any) -> None:
    small = await Fid.objects.create(nums=[0])
    await Fid.objects.create(nums=[0, 2**40])
    assert await Fid.objects.filter(nums=[0]).values_list("id", flat=True).all() == [small.id]
    assert await Fid.objects.filter(nums__in=[[0], [7]]).count() == 1
    assert await Fid.objects.filter(nums__in=[[0, 2**40]]).count() == 1


async def test_decimal_lists_round_trip(fid: Any) -> None:
    decs = [Decimal("1.10"), Decimal("-0.000000001"), Decimal("12345678901234567890.5")]
    row = await Fid.objects.create(decs=decs)
    got = (await Fid.objects.get(id=row.id)).decs
    assert got == decs and all(type(d) is Decimal for d in got)
    assert await Fid.objects.filter(decs=decs).count() == 1
    assert [await Fid.objects.filter(id=row.id).values_list("decs", flat=True).get()] == [decs]


# -- SQLite: text written by others ----------------------------------------------------------

OTHER_SPELLINGS = [
    # SQLite's CURRENT_TIMESTAMP/datetime() and the public Oxyde's form
    ("sqlite", "2026-03-15 00:00:00"),
    # this package before: six fraction digits always, a UTC suffix on instants
    ("old", "2026-03-15 00:00:00.000000"),
    ("old_tz", "2026-03-15 00:00:00.000000+00:00"),
    # milliseconds (datetime(..., 'subsec'), chrono's %.f)
    ("ms", "2026-03-15 00:00:00.000"),
]


@pytest.mark.parametrize("backend_name", ["sqlite"])
async def test_sqlite_datetimes_written_by_others_compare_as_instants(fid: Any) -> None:
    for label, text in OTHER_SPELLINGS:
        await fid.execute(
            "INSERT INTO fid_times (label, at, at_tz) VALUES (?, ?, ?)", [label, text, text]
        )
    await fid.execute(
        "INSERT INTO fid_times (label, at, at_tz) VALUES "
        "('before', '2026-03-14 23:59:59.999999', '2026-03-14 23:59:59.999999'), "
        "('after', '2026-03-15 00:00:00.5', '2026-03-15 00:00:00.5')",
        [],
    )
    await FidTimes.objects.create(label="ours", at=dt.datetime(2026, 3, 15))
    labels = {label for label, _ in OTHER_SPELLINGS} | {"ours"}
    moment = dt.datetime(2026, 3, 15)

    async def found(**lookup: Any) -> set[str]:
        return set(await FidTimes.objects.filter(**lookup).values_list("label", flat=True).all())

    assert await found(at=moment) == labels
    assert await found(at__lt=moment) == {"before"}
    assert await found(at__lte=moment) == labels | {"before"}
    assert await found(at__gt=moment) == {"after"}
    assert await found(at__gte=moment) == labels | {"after"}
    assert await found(at__range=(moment, moment)) == labels
    assert await found(at__year=2026) == labels | {"before", "after"}
    ordered = await FidTimes.objects.order_by("at").values_list("label", flat=True).all()
    assert ordered[0] == "before" and ordered[-1] == "after"
    utc = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
    assert await found(at_tz=utc) == labels - {"ours"}
    rows = await FidTimes.objects.filter(label__in=sorted(labels - {"ours"})).all()
    assert {r.at for r in rows} == {moment} and {r.at_tz for r in rows} == {utc}


@pytest.mark.parametrize("backend_name", ["sqlite"])
async def test_sqlite_stores_datetimes_in_sqlite_form(fid: Any) -> None:
    await FidTimes.objects.create(
        label="a",
        at=dt.datetime(2026, 3, 15),
        at_tz=dt.datetime(2026, 3, 15, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        clock=dt.time(12, 30),
    )
    await FidTimes.objects.create(
        label="b", at=dt.datetime(2026, 3, 15, 0, 0, 0, 120), clock=dt.time(12, 30, 0, 5)
    )
    rows = await fid.fetch(
        "SELECT at, at_tz, clock, at = datetime(at), at_tz = datetime('2026-03-15') "
        "FROM fid_times ORDER BY id",
        [],
    )
    assert [tuple(r) for r in rows] == [
        ("2026-03-15 00:00:00", "2026-03-15 00:00:00", "12:30:00", 1, 1),
        ("2026-03-15 00:00:00.000120", None, "12:30:00.000005", 0, None),
    ]
    assert await FidTimes.objects.filter(clock__lte=dt.time(12, 30)).count() == 1
    assert await FidTimes.objects.filter(clock__gt=dt.time(12, 30)).count() == 1


# -- PostgreSQL enum types: one per table and column, dropped with the table --------------


def _enum_models() -> tuple[type[Any], type[Any]]:
    import enum

    class Status(enum.StrEnum):  # two classes of one name, different values
        OPEN = "open"
        SHUT = "shut"

    class Shop(Model):
        id: int | None = Field(default=None, db_pk=True)
        status: Status = Status.OPEN
        history: list[Status] = Field(default_factory=list)

        class Meta:
            is_table = True
            table_name = "fid_shop"

    class Status2(enum.StrEnum):
        DRAFT = "draft"
        LIVE = "live"

    Status2.__name__ = Status2.__qualname__ = "Status"

    class Page(Model):
        id: int | None = Field(default=None, db_pk=True)
        status: Status2 = Status2.DRAFT

        class Meta:
            is_table = True
            table_name = "fid_page"

    return Shop, Page


async def _fid_types(database: Any) -> list[str]:
    rows = await database.fetch(
        "SELECT typname FROM pg_type WHERE typname LIKE 'fid\\_%' AND typtype = 'e' "
        "ORDER BY typname",
        [],
    )
    return [r[0] for r in rows]


@pytest.mark.parametrize("backend_name", ["postgres"])
async def test_enum_types_belong_to_their_table_and_column(database: Any) -> None:
    from oxyde import create_tables, drop_tables

    shop, page = _enum_models()
    await drop_tables(database, models=[shop, page])
    await create_tables(database, models=[shop, page])
    try:
        assert await _fid_types(database) == [
            "fid_page_status_enum",
            "fid_shop_history_enum",
            "fid_shop_status_enum",
        ]
        first = list(shop.model_fields["status"].annotation)  # type: ignore[arg-type]
        await shop.objects.create(status=first[1], history=first)
        got = await shop.objects.get()
        assert got.status == first[1] and got.history == first
        assert await shop.objects.filter(history=first).count() == 1
        live = list(page.model_fields["status"].annotation)[1]  # type: ignore[arg-type]
        await page.objects.create(status=live)
        assert (await page.objects.get()).status == live
    finally:
        await drop_tables(database, models=[shop, page])
    assert await _fid_types(database) == []
