"""Upsert on every backend: ``bulk_create(on_conflict=..., update_fields=...)``,
``bulk_create(ignore_conflicts=True)`` and ``Model.objects.upsert()``."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from oxyde import Check, Field, FieldError, IntegrityError, Model
from tests.support.models import Everything, Status


class UpUser(Model):
    id: int | None = Field(default=None, db_pk=True)
    email: str = Field(max_length=100, db_unique=True)
    name: str = Field(max_length=100)
    visits: int = 0

    class Meta:
        is_table = True
        table_name = "up_user"
        constraints = [Check("visits >= 0", name="up_user_visits_nonneg")]


class UpMember(Model):
    id: int | None = Field(default=None, db_pk=True)
    org: str = Field(max_length=50)
    login: str = Field(max_length=50)
    role: str = Field(max_length=20)

    class Meta:
        is_table = True
        table_name = "up_member"
        unique_together = [("org", "login")]


@pytest.fixture
async def tables(database: Any, model_tables: Any) -> AsyncIterator[Any]:
    await model_tables(UpUser, UpMember)
    yield database


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(record.getMessage())


@pytest.fixture
def statements() -> Iterator[list[str]]:
    handler = _Statements()
    logger = logging.getLogger("oxyde.sql")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.sql
    logger.removeHandler(handler)
    logger.setLevel(old)


async def rows() -> list[tuple[Any, ...]]:
    return list(await UpUser.objects.order_by("email").values_list("email", "name", "visits").all())


async def test_on_conflict_updates_the_chosen_fields(tables: Any, statements: list[str]) -> None:
    old = await UpUser.objects.create(email="a@x", name="old", visits=3)
    statements.clear()
    a = UpUser(email="a@x", name="new", visits=9)
    b = UpUser(email="b@x", name="bee")
    result = await UpUser.objects.bulk_create(
        [a, b], on_conflict=("email",), update_fields=["name"]
    )
    assert result == [a, b]
    assert await rows() == [("a@x", "new", 3), ("b@x", "bee", 0)]
    # each instance now holds its row: the existing key, and visits as stored
    assert a.id == old.id and a.visits == 3 and a.name == "new"
    assert b.id is not None and b.id != old.id
    assert await UpUser.objects.get(id=b.id) == b
    # one upsert statement, not a read-modify-write
    upserts = [s for s in statements if "INSERT" in s]
    assert len(upserts) == 1
    assert "ON CONFLICT" in upserts[0] or "ON DUPLICATE KEY UPDATE" in upserts[0]


async def test_on_conflict_without_update_fields_updates_every_other_field(tables: Any) -> None:
    old = await UpUser.objects.create(email="a@x", name="old", visits=3)
    [a] = await UpUser.objects.bulk_create(
        [UpUser(email="a@x", name="new", visits=9)], on_conflict="email"
    )
    assert (a.id, a.name, a.visits) == (old.id, "new", 9)
    assert await rows() == [("a@x", "new", 9)]


async def test_ignore_conflicts_keeps_existing_rows(tables: Any) -> None:
    old = await UpUser.objects.create(email="a@x", name="old", visits=3)
    a = UpUser(email="a@x", name="new", visits=9)
    b = UpUser(email="b@x", name="bee", visits=1)
    await UpUser.objects.bulk_create([a, b], ignore_conflicts=True)
    assert await rows() == [("a@x", "old", 3), ("b@x", "bee", 1)]
    # the skipped instance holds the row that has its unique key
    assert (a.id, a.name, a.visits) == (old.id, "old", 3)
    assert b.id is not None and (await UpUser.objects.get(email="b@x")).id == b.id
    # with an explicit target as well
    c = UpUser(email="b@x", name="again")
    await UpUser.objects.bulk_create([c], on_conflict=["email"], ignore_conflicts=True)
    assert c.id == b.id and c.name == "bee"


async def test_ignore_conflicts_ignores_only_duplicate_keys(tables: Any) -> None:
    await UpUser.objects.create(email="a@x", name="old")
    # a CHECK violation is still an error (MySQL's INSERT IGNORE would hide it)
    with pytest.raises(IntegrityError):
        await UpUser.objects.bulk_create(
            [UpUser(email="z@x", name="z", visits=-1)], ignore_conflicts=True
        )
    assert await rows() == [("a@x", "old", 0)]


async def test_upsert_one_or_many(tables: Any) -> None:
    first = await UpUser.objects.upsert(UpUser(email="a@x", name="one"), conflict="email")
    assert isinstance(first, UpUser) and first.id is not None
    again = await UpUser.objects.upsert(
        {"email": "a@x", "name": "two", "visits": 5}, conflict="email", update=["visits"]
    )
    assert (again.id, again.name, again.visits) == (first.id, "one", 5)
    # by primary key (the default conflict target)
    first.name = "three"
    same = await UpUser.objects.upsert(first)
    assert same is first and await rows() == [("a@x", "three", 0)]
    many = await UpUser.objects.upsert(
        [UpUser(email="a@x", name="four"), UpUser(email="c@x", name="cee")], conflict=("email",)
    )
    assert [u.email for u in many] == ["a@x", "c@x"] and many[0].id == first.id
    assert await rows() == [("a@x", "four", 0), ("c@x", "cee", 0)]


async def test_upsert_on_a_composite_unique_key(tables: Any) -> None:
    await UpMember.objects.bulk_create(
        [UpMember(org="o", login="a", role="dev"), UpMember(org="o", login="b", role="dev")]
    )
    out = await UpMember.objects.upsert(
        [UpMember(org="o", login="b", role="lead"), UpMember(org="p", login="b", role="dev")],
        conflict=("org", "login"),
        update=["role"],
    )
    stored = (
        await UpMember.objects.order_by("org", "login")
        .values_list("org", "login", "role", "id")
        .all()
    )
    assert [s[:3] for s in stored] == [("o", "a", "dev"), ("o", "b", "lead"), ("p", "b", "dev")]
    assert [m.id for m in out] == [stored[1][3], stored[2][3]]


async def test_duplicate_keys_in_one_call_behave_alike_everywhere(tables: Any) -> None:
    a1 = UpUser(email="a@x", name="first", visits=1)
    a2 = UpUser(email="a@x", name="second", visits=2)
    await UpUser.objects.bulk_create([a1, a2], on_conflict=("email",))
    assert await rows() == [("a@x", "second", 2)]
    assert a1.id == a2.id and a1.name == "second"
    b1 = UpUser(email="b@x", name="first")
    b2 = UpUser(email="b@x", name="second")
    await UpUser.objects.bulk_create([b1, b2], ignore_conflicts=True)
    assert (await UpUser.objects.get(email="b@x")).name == "first"
    assert b1.id == b2.id and b2.name == "first"


async def test_batches_are_all_or_nothing(tables: Any) -> None:
    await UpUser.objects.create(email="u0@x", name="old")
    users = [UpUser(email=f"u{i}@x", name=f"n{i}", visits=i) for i in range(7)]
    users[5].visits = -5  # violates the CHECK in the third batch
    with pytest.raises(IntegrityError):
        await UpUser.objects.bulk_create(users, on_conflict=("email",), batch_size=2)
    assert await rows() == [("u0@x", "old", 0)]
    users[5].visits = 5
    await UpUser.objects.bulk_create(users, on_conflict=("email",), batch_size=2)
    stored = await UpUser.objects.order_by("id").values_list("email", "id").all()
    assert sorted(stored) == sorted((u.email, u.id) for u in users)


async def test_bad_upsert_arguments_fail_before_sql(tables: Any, statements: list[str]) -> None:
    statements.clear()
    objs = [UpUser(email="a@x", name="a")]
    with pytest.raises(FieldError, match="unique"):
        await UpUser.objects.bulk_create(objs, on_conflict=("name",))
    with pytest.raises(FieldError, match="no field"):
        await UpUser.objects.bulk_create(objs, on_conflict=("nope",))
    with pytest.raises(FieldError, match="primary key"):
        await UpUser.objects.bulk_create(objs, on_conflict=("email",), update_fields=["id"])
    with pytest.raises(FieldError, match="no field"):
        await UpUser.objects.upsert(objs, conflict="email", update=["nope"])
    with pytest.raises(ValueError, match="on_conflict"):
        await UpUser.objects.bulk_create(objs, update_fields=["name"])
    with pytest.raises(ValueError, match="cannot be combined"):
        await UpUser.objects.bulk_create(
            objs, on_conflict=("email",), update_fields=["name"], ignore_conflicts=True
        )
    assert statements == []


# -- large bulk_create: COPY on PostgreSQL, all-or-nothing everywhere ----------------------


async def test_large_bulk_create_is_all_or_nothing_and_returns_keys(
    tables: Any, statements: list[str], backend_name: str
) -> None:
    from oxyde import UniqueViolationError

    users = [UpUser(email=f"c{i}@x", name="n", visits=i % 7) for i in range(10_000)]
    users[5000].email = "c10@x"  # a duplicate key in the middle
    statements.clear()
    with pytest.raises(UniqueViolationError):
        await UpUser.objects.bulk_create(users)
    assert await UpUser.objects.count() == 0
    copies = [s for s in statements if "COPY" in s]
    # PostgreSQL loads a batch this large with COPY (and writes nothing on error)
    assert bool(copies) == (backend_name == "postgres")

    users[5000].email = "c5000@x"
    statements.clear()
    await UpUser.objects.bulk_create(users)
    stored = await UpUser.objects.values_list("email", "id").all()
    assert sorted(stored) == sorted((u.email, u.id) for u in users)
    assert len({u.id for u in users}) == 10_000
    assert users[0].model_fields_set >= {"id", "email", "name", "visits"}
    if backend_name == "postgres":
        assert [s for s in statements if "COPY" in s] and not [
            s for s in statements if "INSERT" in s
        ]


async def test_copy_joins_the_transaction(tables: Any, backend_name: str) -> None:
    from oxyde import atomic

    users = [UpUser(id=100_000 + i, email=f"t{i}@x", name="t") for i in range(1500)]
    async with atomic() as tx:
        await UpUser.objects.bulk_create(users)
        assert await UpUser.objects.count() == 1500
        tx.set_rollback(True)
    assert await UpUser.objects.count() == 0
    # explicit keys are kept as given
    await UpUser.objects.bulk_create(users)
    assert sorted(await UpUser.objects.values_list("id", flat=True).all()) == [
        100_000 + i for i in range(1500)
    ]


async def test_large_bulk_create_round_trips_every_type(database: Any, model_tables: Any) -> None:
    # one column of every kind, for the COPY path's adapters
    await model_tables(Everything)
    sample: dict[str, Any] = {
        "i": -(2**62), "f": 1.5e-7, "b": True, "s": "h\u00e9llo 'q' \"d\" \\ \t\U0001f389",
        "raw": b"\x00\x01\\N\xff", "at": dt.datetime(2024, 2, 29, 23, 59, 58, 123456),
        "at_tz": dt.datetime(2024, 6, 1, 12, 0, 0, 250, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": dt.date(1999, 12, 31), "clock": dt.time(13, 14, 15, 16),
        "span": dt.timedelta(days=3, seconds=7, microseconds=11),
        "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "price": Decimal("12345678.1234"), "data": {"k": [1, {"n": None}], "\u00fc": "x\ny"},
        "tags": ["a", "b c", "", "\\N"], "status": Status.ARCHIVED,
    }  # fmt: skip
    objs = [Everything(**sample) for _ in range(1200)] + [Everything()]
    await Everything.objects.bulk_create(objs)
    stored = await Everything.objects.order_by("id").all()
    assert [o.id for o in stored] == [o.id for o in objs]
    assert stored[0] == objs[0] and stored[-1] == objs[-1] == Everything(id=objs[-1].id)
