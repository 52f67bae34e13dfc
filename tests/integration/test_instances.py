"""Instance life cycle: hooks around save/delete/create, select(), result modes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from oxyde import ManagerError, NotFoundError, create_tables, drop_tables
from tests.support.models import HOOK_LOG, Company, Hooked


@pytest.fixture
async def tables(database: Any) -> AsyncIterator[Any]:
    await drop_tables(database)
    await create_tables(database)
    HOOK_LOG.clear()
    yield database
    await drop_tables(database)


async def test_hooks_run_around_every_instance_write(tables: Any) -> None:
    obj = await Hooked.objects.create(name="a")
    assert HOOK_LOG == [("pre_save", "a", True), ("post_save", "a", True)]
    HOOK_LOG.clear()
    obj.name = "b"
    await obj.save()
    assert HOOK_LOG == [("pre_save", "b", False), ("post_save", "b", False)]
    HOOK_LOG.clear()
    fresh = Hooked(name="c")
    await fresh.save()
    assert HOOK_LOG == [("pre_save", "c", True), ("post_save", "c", True)]
    HOOK_LOG.clear()
    _, created = await Hooked.objects.get_or_create(name="d")
    assert created and HOOK_LOG == [("pre_save", "d", True), ("post_save", "d", True)]
    HOOK_LOG.clear()
    await Hooked.objects.update_or_create(name="d", defaults={"name": "e"})
    assert HOOK_LOG == [("pre_save", "e", False), ("post_save", "e", False)]
    HOOK_LOG.clear()
    assert await obj.delete() == 1
    assert HOOK_LOG == [("pre_delete", "b", False), ("post_delete", "b", False)]
    HOOK_LOG.clear()
    # bulk and query-level writes do not run instance hooks
    await Hooked.objects.bulk_create([Hooked(name="x")])
    await Hooked.objects.filter(name="x").update(name="y")
    await Hooked.objects.filter(name="y").delete()
    assert HOOK_LOG == []


async def test_a_failing_pre_hook_aborts_the_write(tables: Any) -> None:
    class Boom(Exception):
        pass

    obj = Hooked(name="boom")

    async def refuse(**_: Any) -> None:
        raise Boom

    object.__setattr__(obj, "pre_save", refuse)
    with pytest.raises(Boom):
        await obj.save()
    assert await Hooked.objects.count() == 0


async def test_instance_errors(tables: Any) -> None:
    with pytest.raises(ManagerError):
        await Hooked(name="never saved").delete()
    with pytest.raises(ManagerError):
        await Hooked(name="never saved").refresh()
    ghost = Hooked(id=424242, name="ghost")
    with pytest.raises(NotFoundError):
        await ghost.save(update_fields=["name"])
    gone = await Hooked.objects.create(name="gone")
    await Hooked.objects.filter(id=gone.id).delete()
    with pytest.raises(NotFoundError):
        await gone.refresh()


async def test_select_loads_only_some_columns(tables: Any) -> None:
    await Company.objects.create(name="Acme", country="US")
    (partial,) = await Company.objects.select("name").all()
    assert partial.name == "Acme"
    assert partial.model_fields_set == {"name"}
    assert partial.country is None  # not loaded: the field's default


async def test_result_modes(tables: Any) -> None:
    await Company.objects.bulk_create([Company(name="A", country="US"), Company(name="B")])
    q = Company.objects.order_by("name")
    models = await q.all(mode="models")
    assert [c.name for c in models] == ["A", "B"]
    dicts = await q.all(mode="dict")
    assert dicts == [
        {"id": models[0].id, "name": "A", "country": "US"},
        {"id": models[1].id, "name": "B", "country": None},
    ]
    rows = await q.all(mode="list")
    assert rows == [(models[0].id, "A", "US"), (models[1].id, "B", None)]
    packed = await q.all(mode="msgpack")
    assert isinstance(packed, bytes)
    assert msgpack.unpackb(packed) == dicts
    with pytest.raises(ValueError):
        await q.all(mode="xml")  # type: ignore[arg-type]
