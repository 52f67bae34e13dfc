"""Every backend's ``Capabilities`` record tells the truth, against its real server.

Each flag a backend declares is checked by doing what it promises: a claimed
RETURNING returns, a claimed COPY copies, claimed transactional DDL rolls a CREATE
TABLE back (and where it is not claimed, the CREATE TABLE survives the rollback), a
claimed SKIP LOCKED skips the row another transaction locked.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from oxyde import Field, Model, atomic
from oxyde.backends.base import can_copy, can_suspend_foreign_keys, runs_statements, single_writer
from oxyde.backends.capabilities import Capabilities
from oxyde.exceptions import ForeignKeyViolationError, OperationalError, OxydeError

pytestmark = [pytest.mark.timeout(120)]

#: bounds a wait that must not happen (a lock the flag says is not taken or not waited
#: for), far below the servers' own lock timeouts
NO_WAIT = 10.0


class CapItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    v: int = 0

    class Meta:
        is_table = True
        table_name = "cap_item"


class CapParent(Model):
    id: int | None = Field(default=None, db_pk=True)

    class Meta:
        is_table = True
        table_name = "cap_parent"


class CapChild(Model):
    id: int | None = Field(default=None, db_pk=True)
    parent: CapParent = Field(db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "cap_child"


@pytest.fixture
async def items(database: Any, model_tables: Callable[..., Awaitable[None]]) -> Any:
    """``cap_item`` with rows id 1..4 (v = 10 * id)."""
    await model_tables(CapItem)
    await database.execute(
        "INSERT INTO cap_item (id, v) VALUES (1, 10), (2, 20), (3, 30), (4, 40)", ()
    )
    return database


async def values(database: Any) -> list[tuple[Any, ...]]:
    return await database.fetch("SELECT id, v FROM cap_item ORDER BY id", ())


async def test_every_executor_carries_the_backends_record(database: Any) -> None:
    caps = database.capabilities
    assert isinstance(caps, Capabilities)
    assert caps is database.backend.capabilities
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.copy = not caps.copy
    async with database.connection() as conn:
        assert conn.capabilities == caps
    async with atomic() as block:
        assert block.capabilities == caps
        assert block.transaction.capabilities == caps
        assert block.in_transaction and block.transaction.in_transaction
        assert database.in_transaction  # the task's calls join the transaction
    assert not database.in_transaction


@pytest.mark.parametrize("statement", ["insert", "update", "delete"])
async def test_returning(items: Any, statement: str) -> None:
    sql = {
        "insert": "INSERT INTO cap_item (id, v) VALUES (5, 50) RETURNING id, v",
        "update": "UPDATE cap_item SET v = 21 WHERE id = 2 RETURNING id, v",
        "delete": "DELETE FROM cap_item WHERE id = 3 RETURNING id, v",
    }[statement]
    if statement in items.capabilities.returning:
        rows = await items.fetch(sql, (), write=True)
        assert [tuple(r) for r in rows] == [
            {"insert": (5, 50), "update": (2, 21), "delete": (3, 30)}[statement]
        ]
    else:
        with pytest.raises(OxydeError):
            await items.fetch(sql, (), write=True)
        assert await values(items) == [(1, 10), (2, 20), (3, 30), (4, 40)]


async def test_upsert_style(items: Any) -> None:
    style = items.capabilities.upsert_style
    if style == "on_conflict":
        sql = "INSERT INTO cap_item (id, v) VALUES (1, 11) ON CONFLICT (id) DO UPDATE SET v = 11"
    else:
        assert style == "on_duplicate_key"
        sql = "INSERT INTO cap_item (id, v) VALUES (1, 11) ON DUPLICATE KEY UPDATE v = 11"
    await items.execute(sql, ())
    assert (await values(items))[0] == (1, 11)


async def test_copy(database: Any, model_tables: Callable[..., Awaitable[None]]) -> None:
    await model_tables(CapItem)
    rows = [[100 + i] for i in range(50)]
    if not database.capabilities.copy:
        assert not can_copy(database)
        with pytest.raises(OperationalError, match="no COPY"):
            await database.copy_insert("cap_item", ["v"], rows, returning_pk="id")
        return
    assert can_copy(database)
    keys = await database.copy_insert("cap_item", ["v"], rows, returning_pk="id")
    assert len(keys) == 50 and len(set(keys)) == 50
    read = await database.fetch("SELECT id, v FROM cap_item ORDER BY v", ())
    assert [tuple(r) for r in read] == list(zip(keys, range(100, 150), strict=True))
    async with database.connection() as conn:
        assert can_copy(conn)
        assert await conn.copy_insert("cap_item", ["id", "v"], [[900, 9]]) == []
    assert (await database.fetch("SELECT v FROM cap_item WHERE id = 900", ()))[0][0] == 9


async def test_runs_statements(items: Any) -> None:
    backend = items.backend
    if not items.capabilities.runs_statements:
        assert not runs_statements(backend)
        return
    assert runs_statements(backend)
    assert await backend.execute("UPDATE cap_item SET v = 12 WHERE id = 1", ()) == 1
    assert [tuple(r) for r in await backend.fetch("SELECT v FROM cap_item WHERE id = 1", ())] == [
        (12,)
    ]
    names, rows = await backend.fetch_described("SELECT id, v FROM cap_item WHERE id = 2", ())
    assert [n.lower() for n in names] == ["id", "v"] and [tuple(r) for r in rows] == [(2, 20)]


async def test_pipeline(items: Any) -> None:
    if not items.capabilities.pipeline:
        pytest.skip("the backend claims no pipeline")
    import psycopg

    assert psycopg.Pipeline.is_supported()
    async with items.connection() as conn:
        raw = conn.raw
        async with raw.pipeline():
            first = await raw.execute("UPDATE cap_item SET v = 1 WHERE id = 1")
            second = await raw.execute("UPDATE cap_item SET v = 2 WHERE id = 2")
        await raw.commit()
        assert (first.rowcount, second.rowcount) == (1, 1)
    assert (await values(items))[:2] == [(1, 1), (2, 2)]


async def test_savepoints(items: Any) -> None:
    assert items.capabilities.savepoints  # every backend has them; nested atomic() needs it
    async with atomic():
        await items.execute("UPDATE cap_item SET v = 11 WHERE id = 1", ())
        with pytest.raises(RuntimeError):
            async with atomic():
                await items.execute("UPDATE cap_item SET v = 22 WHERE id = 2", ())
                raise RuntimeError("undo the inner block only")
    assert (await values(items))[:2] == [(1, 11), (2, 20)]


async def _table_exists(database: Any, table: str) -> bool:
    try:
        await database.fetch(f"SELECT 1 FROM {table} WHERE 1 = 0", ())
    except OxydeError:
        return False
    return True


@pytest.fixture
async def scratch_table(database: Any) -> AsyncIterator[str]:
    table = "cap_ddl_probe"
    await database.execute(f"DROP TABLE IF EXISTS {table}", ())
    yield table
    await database.execute(f"DROP TABLE IF EXISTS {table}", ())


async def test_transactional_ddl(database: Any, scratch_table: str) -> None:
    async with atomic() as block:
        await database.execute(f"CREATE TABLE {scratch_table} (n INTEGER)", ())
        block.set_rollback(True)
    # Where DDL is not transactional, the CREATE committed by itself and stays.
    assert await _table_exists(database, scratch_table) is not (
        database.capabilities.transactional_ddl
    )


async def test_server_side_cursor(items: Any) -> None:
    if not items.capabilities.server_side_cursor:
        pytest.skip("the backend claims its open stream holds the connection")
    async with items.connection() as conn:
        chunks = conn.stream("SELECT id FROM cap_item ORDER BY id", (), chunk_size=1)
        seen = []
        try:
            async for chunk in chunks:
                seen.extend(r[0] for r in chunk)
                # Between chunks, another statement on the very same connection.
                count = await conn.fetch("SELECT COUNT(*) FROM cap_item", ())
                assert count[0][0] == 4
        finally:
            await chunks.aclose()
        assert seen == [1, 2, 3, 4]


@pytest.fixture
async def locked_row(items: Any) -> AsyncIterator[Any]:
    """A connection whose open transaction holds a FOR UPDATE lock on row 1."""
    if not items.capabilities.row_locks:
        assert not (items.capabilities.skip_locked or items.capabilities.nowait)
        pytest.skip("the backend claims no row locks")
    async with items.connection() as holder:
        await holder.begin()
        try:
            assert [tuple(r) for r in await holder.fetch(
                "SELECT id FROM cap_item WHERE id = 1 FOR UPDATE", ()
            )] == [(1,)]  # fmt: skip
            yield items
        finally:
            await holder.rollback()


async def test_skip_locked(locked_row: Any) -> None:
    if not locked_row.capabilities.skip_locked:
        pytest.skip("the server claims no SKIP LOCKED")
    async with locked_row.connection() as other:
        await other.begin()
        try:
            async with asyncio.timeout(NO_WAIT):
                rows = await other.fetch(
                    "SELECT id FROM cap_item ORDER BY id FOR UPDATE SKIP LOCKED", ()
                )
            assert [r[0] for r in rows] == [2, 3, 4]
        finally:
            await other.rollback()


async def test_nowait(locked_row: Any) -> None:
    if not locked_row.capabilities.nowait:
        pytest.skip("the server claims no NOWAIT")
    async with locked_row.connection() as other:
        await other.begin()
        try:
            async with asyncio.timeout(NO_WAIT):
                with pytest.raises(OxydeError):
                    await other.fetch("SELECT id FROM cap_item WHERE id = 1 FOR UPDATE NOWAIT", ())
        finally:
            await other.rollback()


async def test_single_writer(items: Any) -> None:
    caps = items.capabilities
    assert single_writer(items.backend) is caps.single_writer

    async def second_writer() -> None:
        async with asyncio.timeout(NO_WAIT), atomic():
            await items.execute("UPDATE cap_item SET v = 22 WHERE id = 2", ())

    async with atomic():
        await items.execute("UPDATE cap_item SET v = 11 WHERE id = 1", ())
        # Another task writes while this transaction is open.
        if caps.single_writer:
            # The only writer is held here: refused at once rather than waiting.
            with pytest.raises(OperationalError, match="only writer connection"):
                await asyncio.create_task(second_writer())
        else:
            await asyncio.create_task(second_writer())
            rows = await items.fetch("SELECT v FROM cap_item WHERE id = 2", ())
            assert rows[0][0] == 22  # committed by the other task meanwhile
    expected = [(1, 11), (2, 20 if caps.single_writer else 22)]
    assert (await values(items))[:2] == expected


async def test_foreign_key_suspension(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    await model_tables(CapParent, CapChild)
    orphan = "INSERT INTO cap_child (id, parent_id) VALUES ({}, 999)"
    async with database.connection() as conn:
        if not database.capabilities.foreign_key_suspension:
            assert not can_suspend_foreign_keys(conn)
            with pytest.raises(ForeignKeyViolationError):
                await conn.execute(orphan.format(1), ())
            return
        assert can_suspend_foreign_keys(conn)
        async with conn.foreign_keys_disabled():
            await conn.execute(orphan.format(1), ())
        with pytest.raises(ForeignKeyViolationError):
            await conn.execute(orphan.format(2), ())
    assert [tuple(r) for r in await database.fetch("SELECT id FROM cap_child", ())] == [(1,)]
