"""``atomic()``: commit and rollback, savepoints, set_rollback per block, the decorator,
timeouts, task ownership, the idle sweeper and closing with transactions open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oxyde import db
from oxyde.backends.base import Executor
from oxyde.db import PoolSettings, atomic, get_active_transaction, transaction
from oxyde.exceptions import (
    ForeignKeyViolationError,
    OperationalError,
    OxydeError,
    TransactionTimeoutError,
    UniqueViolationError,
)

sqlite_only = pytest.mark.parametrize("backend_name", ["sqlite"])

ENDLESS = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c"
)


class Boom(Exception):
    pass


@pytest.fixture
async def table(database: Any) -> Any:
    await database.execute("DROP TABLE IF EXISTS tx_items", ())
    await database.execute("CREATE TABLE tx_items (v VARCHAR(50) PRIMARY KEY)", ())
    yield database
    if database.connected:
        await database.execute("DROP TABLE IF EXISTS tx_items", ())


async def values(ex: Executor) -> list[str]:
    rows = await ex.fetch("SELECT v FROM tx_items ORDER BY v", ())
    return [r[0] for r in rows]


def insert_sql(ex: Executor) -> str:
    mark = {"qmark": "?", "format": "%s", "numeric": "$1"}[ex.dialect.placeholder]
    return f"INSERT INTO tx_items (v) VALUES ({mark})"


async def add(ex: Executor, value: str) -> None:
    await ex.execute(insert_sql(ex), (value,))


# -- every backend -----------------------------------------------------------------------------


async def test_commit_on_success(table: Any) -> None:
    async with atomic() as tx:
        assert isinstance(tx, Executor)
        await add(tx, "a")
        await add(table, "b")  # the database joins the task's transaction
        assert await values(tx) == ["a", "b"]
    assert await values(table) == ["a", "b"]


async def test_rollback_on_exception(table: Any) -> None:
    with pytest.raises(Boom):
        async with atomic():
            await add(table, "a")
            raise Boom
    assert await values(table) == []


async def test_nested_blocks_are_savepoints(table: Any) -> None:
    async with atomic() as outer:
        await add(outer, "outer")
        with pytest.raises(Boom):
            async with atomic() as inner:
                await add(inner, "inner")
                raise Boom
        async with atomic():
            await add(table, "second")
        assert outer.transaction.depth == 0
    assert await values(table) == ["outer", "second"]


async def test_set_rollback_rolls_back_that_block_only(table: Any) -> None:
    async with atomic():
        await add(table, "kept")
        async with atomic() as inner:
            await add(table, "dropped")
            inner.set_rollback(True)
        async with atomic() as deeper:
            async with atomic() as deepest:
                await add(table, "also dropped")
                deepest.set_rollback(True)
            await add(deeper, "kept too")
    assert await values(table) == ["kept", "kept too"]

    async with atomic() as tx:
        await add(table, "gone")
        tx.set_rollback(True)
    assert await values(table) == ["kept", "kept too"]


async def test_decorator(table: Any) -> None:
    @atomic()
    async def add_two(first: str, second: str) -> str:
        await add(table, first)
        await add(table, second)
        return first

    @atomic
    async def bare(value: str) -> None:
        assert get_active_transaction() is not None
        await add(table, value)
        raise Boom

    assert await add_two("a", "b") == "a"
    with pytest.raises(UniqueViolationError):
        await add_two("c", "a")
    with pytest.raises(Boom):
        await bare("d")
    assert await values(table) == ["a", "b"]
    assert add_two.__name__ == "add_two"
    with pytest.raises(TypeError, match="async functions"):
        atomic()(lambda: None)  # type: ignore[arg-type, return-value]


async def test_transaction_module_and_active_transaction(table: Any) -> None:
    assert get_active_transaction() is None
    async with transaction.atomic() as block:
        active = get_active_transaction("default")
        assert active is block.transaction
        assert get_active_transaction("other") is None
    assert get_active_transaction() is None


async def test_child_tasks_do_not_share_the_transaction(table: Any, backend_name: str) -> None:
    seen: list[Any] = []

    async def child() -> None:
        seen.append(get_active_transaction())
        await add(table, "child")

    with pytest.raises(Boom):
        async with atomic():
            await add(table, "parent")
            task = asyncio.create_task(child(), name="writing-child")
            await asyncio.sleep(0)
            raise Boom
    assert seen == [None]
    if backend_name == "sqlite":
        # The only writer was held by our transaction: the child failed at once.
        with pytest.raises(OperationalError, match="writing-child"):
            await task
        assert await values(table) == []
    else:
        # It ran on a connection of its own, never part of our transaction.
        await task
        assert await values(table) == ["child"]


@sqlite_only
async def test_a_child_write_fails_at_once_naming_the_owner(table: Any) -> None:
    async def child(value: str, client: Any = None) -> None:
        await add(client or table, value)

    async with atomic() as block:
        await add(table, "parent")
        owner = asyncio.current_task()
        assert owner is not None
        owner.set_name("request-17")
        # Awaited by the transaction's owner: waiting would last acquire_timeout (30 s).
        with pytest.raises(OperationalError) as info:
            await asyncio.wait_for(asyncio.create_task(child("child"), name="worker"), 5)
        message = str(info.value)
        assert "'request-17'" in message and "'worker'" in message
        assert "client=" in message and "atomic(using='default')" in message
        # Opening a transaction of its own, or leasing the writer, fails the same way.

        async def own_block() -> None:
            async with atomic():
                pass

        with pytest.raises(OperationalError, match="request-17"):
            await asyncio.create_task(own_block())

        async def lease() -> None:
            async with table.connection():
                pass

        with pytest.raises(OperationalError, match="request-17"):
            await asyncio.create_task(lease())
        # Reads go to a reader; the transaction passed explicitly is joined.
        assert await asyncio.create_task(values(table)) == []
        await asyncio.create_task(child("joined", block))
    assert await values(table) == ["joined", "parent"]


@sqlite_only
async def test_a_task_outside_the_transaction_still_waits_for_the_writer(table: Any) -> None:
    started = asyncio.Event()

    async def other() -> None:
        await started.wait()
        await add(table, "other")  # waits for the writer, then writes

    task = asyncio.create_task(other())  # created before the block: not its child
    async with atomic():
        await add(table, "parent")
        started.set()
        await asyncio.sleep(0.05)
    await task
    assert await values(table) == ["other", "parent"]


async def test_unique_violation_in_a_transaction_writes_nothing(table: Any) -> None:
    with pytest.raises(UniqueViolationError):
        async with atomic():
            await add(table, "a")
            await add(table, "a")
    assert await values(table) == []


async def test_atomic_block_of_the_database(table: Any) -> None:
    with pytest.raises(UniqueViolationError):
        async with table.atomic_block() as block:
            await add(block, "x")
            await add(block, "x")
    assert await values(table) == []
    async with atomic():
        async with table.atomic_block() as block:  # a savepoint in the open transaction
            await add(block, "y")
            block.set_rollback(True)
        await add(table, "z")
    assert await values(table) == ["z"]


async def test_timeout_cancels_and_rolls_back(table: Any) -> None:
    with pytest.raises(TransactionTimeoutError):
        async with atomic(timeout=0.2) as tx:
            await add(tx, "a")
            await asyncio.sleep(0.3)
            await add(tx, "b")
    assert await values(table) == []


async def test_timeout_past_at_exit_rolls_back(table: Any) -> None:
    with pytest.raises(TransactionTimeoutError):
        async with atomic(timeout=0.1):
            await add(table, "a")
            await asyncio.sleep(0.2)
    assert await values(table) == []


async def test_close_rolls_back_open_transactions(make_database: Any) -> None:
    database = await make_database()
    await database.execute("CREATE TABLE IF NOT EXISTS tx_items (v VARCHAR(50) PRIMARY KEY)", ())
    await database.execute("DELETE FROM tx_items", ())
    with pytest.raises(OperationalError, match="closed"):
        async with atomic():
            await add(database, "lost")
            await database.disconnect()
    await database.connect()
    try:
        assert await values(database) == []
    finally:
        await database.execute("DROP TABLE tx_items", ())


async def test_isolation_and_read_only_only_on_the_outermost_block(table: Any) -> None:
    async with atomic(isolation="serializable"):
        await add(table, "a")
        with pytest.raises(OxydeError, match="outermost"):
            async with atomic(isolation="serializable"):
                pass
    with pytest.raises(ValueError, match="isolation"):
        async with atomic(isolation="whatever"):
            pass
    assert await values(table) == ["a"]


def test_bad_timeout_values() -> None:
    with pytest.raises(ValueError):
        atomic(timeout=0)
    with pytest.raises(TypeError):
        atomic(timeout="soon")  # type: ignore[arg-type]


# -- SQLite specifics -------------------------------------------------------------------------


@sqlite_only
async def test_running_statement_is_cancelled_at_the_timeout(table: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TransactionTimeoutError):
        async with atomic(timeout=0.2) as tx:
            await add(tx, "a")
            await tx.fetch(ENDLESS, ())
    assert loop.time() - start < 1
    assert await values(table) == []
    assert table.stats()["in_use"] == 0


@sqlite_only
async def test_savepoint_that_cannot_be_made_leaves_the_depth(table: Any) -> None:
    with pytest.raises(TransactionTimeoutError):
        async with atomic(timeout=0.1) as outer:
            await asyncio.sleep(0.15)
            try:
                async with atomic():
                    pass
            finally:
                assert outer.transaction.depth == 0
    assert table.stats()["in_use"] == 0


@sqlite_only
async def test_cancelled_inside_a_transaction_leaves_the_writer_idle(table: Any) -> None:
    entered = asyncio.Event()

    async def work() -> None:
        async with atomic():
            await add(table, "a")
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(work())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with table.connection() as conn:
        assert conn.role == "writer" and not conn.in_transaction
    assert await values(table) == []


@sqlite_only
async def test_failed_commit_raises_and_discards_the_connection(table: Any) -> None:
    await table.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)", ())
    await table.execute(
        "CREATE TABLE c (id INTEGER PRIMARY KEY, "
        "p_id INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
        (),
    )
    async with table.connection() as conn:
        writer = conn.id
    with pytest.raises(ForeignKeyViolationError):
        async with atomic():
            await table.execute("INSERT INTO c (p_id) VALUES (42)", ())
    assert await table.fetch("SELECT count(*) FROM c", ()) == [(0,)]
    async with table.connection() as conn:
        assert conn.id != writer and not conn.in_transaction


@sqlite_only
async def test_read_only_transaction(table: Any) -> None:
    await add(table, "a")
    async with atomic(read_only=True) as tx:
        assert tx.transaction.connection.role == "reader"
        assert await values(tx) == ["a"]
        with pytest.raises(OperationalError, match="readonly"):
            await add(tx, "b")
    async with table.connection(write=False) as conn:
        assert await conn.fetch("PRAGMA query_only", ()) == [(0,)]
    await add(table, "c")
    assert await values(table) == ["a", "c"]


@sqlite_only
async def test_idle_transaction_is_rolled_back_by_the_sweeper(make_database: Any) -> None:
    database = await make_database(
        PoolSettings(transaction_timeout=0.1, transaction_cleanup_interval=0.05)
    )
    await database.execute("CREATE TABLE tx_items (v TEXT PRIMARY KEY)", ())
    with pytest.raises(TransactionTimeoutError, match="idle"):
        async with atomic():
            await add(database, "abandoned")
            await asyncio.sleep(0.4)
            # The writer was given back: another task could write meanwhile.
            assert database.stats()["in_use"] == 0
            await add(database, "too late")
    assert await values(database) == []
    await add(database, "fine")
    assert await values(database) == ["fine"]


@sqlite_only
async def test_disconnect_all_rolls_back(make_database: Any) -> None:
    database = await make_database()
    await database.execute("CREATE TABLE tx_items (v TEXT PRIMARY KEY)", ())
    entered = asyncio.Event()

    async def open_forever() -> None:
        async with atomic():
            await add(database, "x")
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(open_forever())
    await entered.wait()
    await db.disconnect_all()
    assert not database.connected
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await database.connect()
    assert await values(database) == []
