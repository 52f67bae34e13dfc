"""Bulk writes inside an outer ``atomic()`` undo only themselves when they fail: a
savepoint of their own on every path (one statement, COPY, several batches), on every
backend, so the caller's transaction stays usable and commits what it wrote."""

from __future__ import annotations

from typing import Any

import pytest

from oxyde import Field, IntegrityError, Model, atomic


class BsItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    code: int = Field(db_unique=True)
    n: int = 0

    class Meta:
        is_table = True
        table_name = "bs_item"


@pytest.fixture
async def items(database: Any, model_tables: Any) -> None:
    await model_tables(BsItem)


def _rows(start: int, count: int, duplicate: int | None = None) -> list[BsItem]:
    rows = [BsItem(code=start + i) for i in range(count)]
    if duplicate is not None:
        rows[-1] = BsItem(code=duplicate)
    return rows


# (rows, batch_size): one INSERT; several batches; COPY on PostgreSQL (1000 rows and more)
PATHS = {
    "single": (5, None),
    "batches": (30, 10),
    "copy": (1200, None),
}


@pytest.mark.parametrize("path", list(PATHS))
async def test_failed_bulk_create_keeps_the_outer_transaction(items: None, path: str) -> None:
    count, batch_size = PATHS[path]
    async with atomic():
        await BsItem.objects.create(code=-1)
        with pytest.raises(IntegrityError):
            await BsItem.objects.bulk_create(
                _rows(1000, count, duplicate=-1), batch_size=batch_size
            )
        # The transaction goes on: a later write and the commit both work.
        await BsItem.objects.bulk_create(_rows(10_000, count), batch_size=batch_size)
        await BsItem.objects.create(code=-2)
    assert await BsItem.objects.filter(code__lt=0).count() == 2
    assert await BsItem.objects.filter(code__gte=1000, code__lt=10_000).count() == 0
    assert await BsItem.objects.filter(code__gte=10_000).count() == count


async def test_failed_bulk_update_keeps_the_outer_transaction(items: None) -> None:
    created = await BsItem.objects.bulk_create(_rows(0, 20))
    async with atomic():
        await BsItem.objects.create(code=-1)
        for item in created:
            item.n = 7
        created[-1].code = created[0].code  # the last update breaks the unique key
        with pytest.raises(IntegrityError):
            await BsItem.objects.bulk_update(created, ["n", "code"])
        await BsItem.objects.filter(code=0).update(n=1)
    assert await BsItem.objects.filter(n=7).count() == 0
    assert await BsItem.objects.filter(n=1).count() == 1
    assert await BsItem.objects.filter(code=-1).count() == 1


@pytest.mark.parametrize("path", ["single", "batches"])
async def test_failed_upsert_keeps_the_outer_transaction(
    items: None, path: str, backend_name: str
) -> None:
    if backend_name == "mysql":
        pytest.skip("ON DUPLICATE KEY UPDATE takes a clash on any unique key as the conflict")
    await BsItem.objects.bulk_create(_rows(0, 3))
    count, batch_size = PATHS[path]
    async with atomic():
        await BsItem.objects.create(code=-1)
        # Conflicts on the key are updates; a second unique key (code) still breaks.
        clash = [BsItem(id=10_000 + i, code=100 + i) for i in range(count)]
        clash[-1] = BsItem(id=20_000, code=0)
        with pytest.raises(IntegrityError):
            await BsItem.objects.upsert(clash, conflict=["id"], batch_size=batch_size)
        await BsItem.objects.upsert(BsItem(id=30_000, code=-3), conflict=["id"])
    assert await BsItem.objects.filter(code__lt=0).count() == 2
    assert await BsItem.objects.filter(code__gte=100).count() == 0
