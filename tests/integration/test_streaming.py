"""Result delivery on every backend: ``iterator()`` keeps memory flat in the size of the
result, and leaving a stream early (break, close, cancel, error) hands the connection
back clean; ``all(mode="msgpack")`` gives the rows as msgpack bytes."""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest

from oxyde import Field, Model, atomic, execute_raw


class StRow(Model):
    id: int | None = Field(default=None, db_pk=True)
    n: int

    class Meta:
        is_table = True
        table_name = "st_row"


ROWS = 200_000


async def fill(total: int) -> None:
    """``total`` rows (a multiple of 1000), n = 0 .. total-1, written by the server."""
    await StRow.objects.bulk_create([StRow(n=i) for i in range(1000)])
    if total > 1000:
        await execute_raw(
            "INSERT INTO st_row (n) SELECT a.n * 1000 + b.n FROM st_row a CROSS JOIN st_row b "
            f"WHERE a.n BETWEEN 1 AND {total // 1000 - 1}"
        )


@pytest.fixture
async def table(database: Any, model_tables: Any) -> Any:
    await model_tables(StRow)
    return database


@pytest.fixture
async def big(table: Any) -> Any:
    await fill(ROWS)
    return table


def in_use(database: Any) -> int:
    stats = database.stats()
    if "in_use" in stats:
        return int(stats["in_use"])
    return int(stats.get("pool_size", 0)) - int(stats.get("pool_available", 0))


async def busy_sessions(backend: str) -> int:
    """Server-side view: other sessions of this database still doing something (an open
    transaction or a statement still sending rows), or on SQLite whether a reader still
    pins the WAL (a TRUNCATE checkpoint then cannot finish)."""
    if backend == "postgres":
        rows = await execute_raw(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
    elif backend == "mysql":
        rows = await execute_raw(
            "SELECT count(*) AS n FROM information_schema.processlist WHERE db = DATABASE() "
            "AND id <> CONNECTION_ID() AND command <> 'Sleep'"
        )
    else:
        rows = await execute_raw("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(rows[0]["busy"])
    return int(rows[0]["n"])


async def settled(database: Any, backend: str) -> tuple[int, int]:
    """``(connections in use, busy server sessions)`` once the clean-up had its chance."""
    deadline = time.monotonic() + 5
    while True:
        state = (in_use(database), await busy_sessions(backend))
        if state == (0, 0) or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


async def test_iterator_yields_every_row_in_order(table: Any) -> None:
    await fill(5000)
    seen = [row.n async for row in StRow.objects.order_by("n").iterator(chunk_size=333)]
    assert seen == list(range(5000))
    values = [d async for d in StRow.objects.filter(n__lt=3).order_by("n").values("n").iterator()]
    assert values == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [x async for x in StRow.objects.none().iterator()] == []
    with pytest.raises(ValueError):
        async for _ in StRow.objects.iterator(chunk_size=0):
            pass


async def test_iterator_memory_stays_flat(big: Any, backend_name: str) -> None:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        count = total = 0
        async for row in StRow.objects.iterator(chunk_size=1000):
            count += 1
            total += row.n
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert count == ROWS and total == ROWS * (ROWS - 1) // 2
    # the whole result as instances takes well over 50 MB; a chunk of them about 1 MB
    assert peak < 8 * 2**20, f"{backend_name}: peak {peak / 2**20:.1f} MiB while streaming"
    assert await settled(big, backend_name) == (0, 0)


async def test_leaving_early_returns_the_connection_clean(big: Any, backend_name: str) -> None:
    # closed explicitly
    stream = cast("AsyncGenerator[StRow, None]", StRow.objects.iterator(chunk_size=100))
    async with contextlib.aclosing(stream) as rows:
        async for row in rows:
            if row.n >= 150:
                break
    assert await settled(big, backend_name) == (0, 0)
    # a plain break: the abandoned generator is closed by the event loop
    async for row in StRow.objects.iterator(chunk_size=100):
        if row.n >= 150:
            break
    assert await settled(big, backend_name) == (0, 0)
    # an error in the consumer
    with pytest.raises(LookupError):
        async for row in StRow.objects.iterator(chunk_size=100):
            raise LookupError(row.n)
    assert await settled(big, backend_name) == (0, 0)
    assert await StRow.objects.count() == ROWS


async def test_cancel_mid_stream_returns_the_connection_clean(big: Any, backend_name: str) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in StRow.objects.iterator(chunk_size=500):
            started.set()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await settled(big, backend_name) == (0, 0)
    assert await StRow.objects.filter(n__lt=10).count() == 10


async def test_leaving_early_inside_a_transaction_keeps_it_usable(
    big: Any, backend_name: str
) -> None:
    async with atomic() as tx:
        await StRow.objects.filter(n=0).update(n=-1, client=tx)
        async for row in StRow.objects.order_by("n").iterator(chunk_size=100, client=tx):
            if row.n >= 5:
                break
        # the transaction goes on on the same connection
        assert await StRow.objects.filter(n=-1).count(client=tx) == 1
        seen = [r.n async for r in StRow.objects.filter(n__lt=3).order_by("n").iterator(client=tx)]
        assert seen == [-1, 1, 2]
    assert await StRow.objects.filter(n=-1).count() == 1
    assert await settled(big, backend_name) == (0, 0)


async def test_all_as_msgpack(table: Any) -> None:
    import msgpack  # type: ignore[import-untyped]

    from oxyde import _protocol

    await fill(1000)
    query = StRow.objects.filter(n__lt=3).order_by("n")
    data = await query.all(mode="msgpack")
    assert isinstance(data, bytes)
    expected = await query.values("id", "n").all()
    assert msgpack.unpackb(data) == expected == _protocol.unpack(data)
    assert await query.values("n").all(mode="msgpack") == msgpack.packb([{"n": 0}, {"n": 1},
                                                                         {"n": 2}])  # fmt: skip
    assert msgpack.unpackb(await query.values_list("n").all(mode="msgpack")) == [
        {"n": 0}, {"n": 1}, {"n": 2}]  # fmt: skip
    assert await StRow.objects.none().all(mode="msgpack") == b"\x90"
    assert await StRow.objects.filter(n__lt=0).all(mode="msgpack") == b"\x90"
