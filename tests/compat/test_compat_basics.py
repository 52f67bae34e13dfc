"""Code written for the public Oxyde: its URL forms, ``register_table(..., overwrite=True)``
in fixtures, and two models sharing one ``Meta.table_name``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from oxyde import Field, Model, OperationalError, db
from oxyde.db import create_tables, drop_tables
from oxyde.models import iter_tables, register_table, registered_tables, unregister_table


class CpItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    note: str | None = Field(default=None, max_length=50)

    class Meta:
        is_table = True
        table_name = "cp_item"


class CpItemLite(Model):
    """The same table seen with fewer columns (as a per-database variant would)."""

    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "cp_item"


MODELS = (CpItem, CpItemLite)
for _model in MODELS:
    unregister_table(_model)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    # The public Oxyde's way of making models visible to a test.
    for model in MODELS:
        register_table(model, overwrite=True)
    yield
    for model in MODELS:
        unregister_table(model)


@pytest.fixture
async def items(database: Any) -> AsyncIterator[Any]:
    # With both models given, the one listed last describes the table (as in the public
    # Oxyde); the full one is created here.
    await drop_tables(database, models=(CpItem,))
    await create_tables(database, models=(CpItemLite, CpItem))
    yield database
    await drop_tables(database, models=MODELS)


def test_register_table_overwrite_keeps_one_entry_per_class() -> None:
    register_table(CpItem, overwrite=True)
    register_table(CpItem)
    assert [m for m in iter_tables() if m in MODELS] == [CpItem, CpItemLite]
    keys = [k for k, m in registered_tables().items() if m in MODELS]
    assert keys == [f"{__name__}.CpItem", f"{__name__}.CpItemLite"]


async def test_two_models_on_one_table(items: Any) -> None:
    await CpItem.objects.create(name="a", note="x")
    await CpItemLite.objects.create(name="b")
    full = await CpItem.objects.order_by("name").all()
    assert [(i.name, i.note) for i in full] == [("a", "x"), ("b", None)]
    lite = await CpItemLite.objects.order_by("name").values_list("name", flat=True).all()
    assert lite == ["a", "b"]
    assert await CpItemLite.objects.filter(name="a").update(name="c") == 1
    assert (await CpItem.objects.get(name="c")).note == "x"


# -- SQLite URLs --------------------------------------------------------------------------

sqlite_only = pytest.mark.parametrize("backend_name", ["sqlite"])


async def _roundtrip(url: str) -> int:
    async with db.connect(url, name="cp_url") as database:
        await database.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)", ())
        await database.execute("INSERT INTO t (v) VALUES (1)", ())
        rows = await database.fetch("SELECT count(*) FROM t", ())
        return int(rows[0][0])


@sqlite_only
async def test_relative_url_is_relative_to_the_working_directory(
    backend_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert await _roundtrip("sqlite://data/app.db") == 1
    assert (tmp_path / "data" / "app.db").is_file()


@sqlite_only
async def test_three_slashes_is_an_absolute_path(
    backend_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    target = tmp_path / "abs" / "app.db"
    target.parent.mkdir()
    assert str(target).startswith("/")
    assert await _roundtrip(f"sqlite://{target}") == 1
    assert await _roundtrip(f"sqlite:///{target}") == 2  # four slashes: the same file
    assert target.is_file()
    assert not any(elsewhere.iterdir())


@sqlite_only
@pytest.mark.parametrize("url", ["sqlite::memory:", "sqlite://:memory:", "sqlite:///:memory:"])
async def test_memory_forms(
    backend_name: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert await _roundtrip(url) == 1
    assert await _roundtrip(url) == 1  # a new, empty database each time
    assert os.listdir(tmp_path) == []


@sqlite_only
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
async def test_unreadable_directory_names_the_absolute_path(
    backend_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(OperationalError) as caught:
            await _roundtrip("sqlite://locked/app.db")
    finally:
        locked.chmod(0o700)
    assert f"{tmp_path}/locked" in str(caught.value)


@sqlite_only
async def test_missing_directory_names_the_absolute_path(
    backend_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OperationalError) as caught:
        await _roundtrip("sqlite://nowhere/app.db")
    assert f"the directory '{tmp_path}/nowhere' does not exist" in str(caught.value)
