"""SQLite under stress: cancel storms, contention, other processes holding locks,
bulk writes cut short, and a writer killed mid-transaction (G1-G6)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import apsw
import pytest

from oxyde.db import PoolSettings, atomic
from oxyde.exceptions import UniqueViolationError

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite"])

SPIN = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
    "SELECT count(*) FROM c"
)
ROOT = Path(__file__).resolve().parents[2]


async def accounts(database: Any, n: int = 20, balance: int = 100) -> None:
    await database.execute(
        "CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)", ()
    )
    await database.execute_many(
        "INSERT INTO account (id, balance) VALUES (?, ?)", [(i, balance) for i in range(n)]
    )


async def total(ex: Any) -> int:
    return int((await ex.fetch("SELECT sum(balance) FROM account", ()))[0][0])


async def test_cancel_storm_leaves_the_pool_whole(make_database: Any) -> None:
    """T1: tasks cancelled at random points (waiting, running, committing) leak nothing."""
    database = await make_database(PoolSettings(max_connections=5, acquire_timeout=10))
    await accounts(database)
    rng = random.Random(1234)

    async def transfer(a: int, b: int) -> None:
        async with atomic():
            await database.execute("UPDATE account SET balance = balance - 1 WHERE id = ?", (a,))
            await database.fetch(SPIN, (rng.randrange(1, 20000),))
            await database.execute("UPDATE account SET balance = balance + 1 WHERE id = ?", (b,))

    async def one(i: int) -> None:
        kind = i % 4
        if kind == 0:
            await transfer(rng.randrange(20), rng.randrange(20))
        elif kind == 1:
            await database.fetch(SPIN, (rng.randrange(1, 200000),))
        elif kind == 2:
            async for _ in database.stream("SELECT * FROM account", (), chunk_size=3):
                await asyncio.sleep(0.001)
        else:
            await database.execute_many(
                "UPDATE account SET balance = balance WHERE id = ?",
                [(j % 20,) for j in range(500)],
            )

    tasks = [asyncio.create_task(one(i)) for i in range(200)]

    async def canceller() -> None:
        for task in tasks:
            await asyncio.sleep(rng.random() * 0.003)
            if rng.random() < 0.7:
                task.cancel()

    await canceller()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if r is not None and not isinstance(r, asyncio.CancelledError)]
    assert not errors, errors[:3]
    for _ in range(50):  # let abandoned async generators finish closing
        if database.stats()["in_use"] == 0:
            break
        await asyncio.sleep(0.01)
    stats = database.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0 and stats["size"] <= 5, stats
    # No half transfer survived, and nothing was left open on the writer.
    assert await total(database) == 20 * 100
    async with database.connection() as conn:
        assert not conn.in_transaction
    for _ in range(50):
        assert await database.fetch("SELECT 1", ()) == [(1,)]


async def test_bulk_write_cut_short_is_all_or_nothing(database: Any) -> None:
    """T8: a cancelled or failing executemany leaves the table unchanged."""
    await database.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, v TEXT UNIQUE)", ())
    rows = [(f"v{i}",) for i in range(50_000)]
    for delay in (0.0, 0.002, 0.01, 0.03):
        task = asyncio.create_task(database.execute_many("INSERT INTO item (v) VALUES (?)", rows))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        n = (await database.fetch("SELECT count(*) FROM item", ()))[0][0]
        assert n in (0, len(rows)), n
        await database.execute("DELETE FROM item", ())
    broken = [*rows[:30_000], ("v7",), *rows[30_000:]]
    with pytest.raises(UniqueViolationError):
        await database.execute_many("INSERT INTO item (v) VALUES (?)", broken)
    assert (await database.fetch("SELECT count(*) FROM item", ()))[0][0] == 0


async def test_writers_and_readers_contend_without_busy_errors(make_database: Any) -> None:
    """T16a: concurrent transfers and snapshot reads: no SQLITE_BUSY, no lost update."""
    database = await make_database(PoolSettings(max_connections=5))
    await accounts(database)
    deadline = time.monotonic() + 1.5
    errors: list[BaseException] = []
    transfers = 0

    async def writer(seed: int) -> None:
        nonlocal transfers
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            a, b = rng.randrange(20), rng.randrange(20)
            try:
                async with atomic():
                    row = await database.fetch("SELECT balance FROM account WHERE id = ?", (a,))
                    await database.execute(
                        "UPDATE account SET balance = ? WHERE id = ?", (row[0][0] - 1, a)
                    )
                    await database.execute(
                        "UPDATE account SET balance = balance + 1 WHERE id = ?", (b,)
                    )
                transfers += 1
            except Exception as exc:
                errors.append(exc)

    async def reader() -> None:
        while time.monotonic() < deadline:
            try:
                # One statement is one snapshot: the sum never sees half a transfer.
                assert await total(database) == 2000
            except Exception as exc:
                errors.append(exc)
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(i) for i in range(3)), *(reader() for _ in range(6)))
    assert not errors, errors[:3]
    assert transfers > 10
    assert await total(database) == 2000


LOCK_HOLDER_SCRIPT = """
import apsw, sys, time
db = apsw.Connection(sys.argv[1])
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(30)
"""


async def test_cancel_while_another_process_holds_the_lock(
    make_database: Any, database_url: str
) -> None:
    """T16c: a write blocked on a lock held by another process returns when cancelled."""
    database = await make_database(PoolSettings(sqlite_busy_timeout=60_000))
    await database.execute("CREATE TABLE item (v TEXT)", ())
    path = database_url.removeprefix("sqlite://")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCK_HOLDER_SCRIPT,
        path,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"locked"
        task = asyncio.create_task(database.execute("INSERT INTO item VALUES ('x')", ()))
        await asyncio.sleep(0.2)
        assert not task.done()
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - start < 0.2
    finally:
        holder.kill()
        await holder.wait()
    assert await database.execute("INSERT INTO item VALUES ('y')", ()) == 1
    assert database.stats()["in_use"] == 0


WRITER_SCRIPT = """
import asyncio, sys
from oxyde.db import AsyncDatabase, PoolSettings, atomic

async def main(url, synchronous):
    database = AsyncDatabase(url, settings=PoolSettings(sqlite_synchronous=synchronous))
    await database.connect()
    n = (await database.fetch("SELECT coalesce(max(batch), 0) FROM done", ()))[0][0]
    while True:
        n += 1
        size = 1 + n % 50
        async with atomic():
            await database.execute_many(
                "INSERT INTO tx (batch, k) VALUES (?, ?)", [(n, k) for k in range(size)]
            )
            await database.execute("INSERT INTO done (batch, size) VALUES (?, ?)", (n, size))
        print(n, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
async def test_killed_writer_loses_no_acknowledged_transaction(
    database: Any, database_url: str, synchronous: str
) -> None:
    """T15 (small): SIGKILL a writing process; committed batches are whole and present."""
    await database.execute("CREATE TABLE tx (batch INTEGER, k INTEGER)", ())
    await database.execute("CREATE TABLE done (batch INTEGER PRIMARY KEY, size INTEGER)", ())
    await database.disconnect()
    path = database_url.removeprefix("sqlite://")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(synchronous)
    for _ in range(3):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER_SCRIPT,
            database_url,
            synchronous,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        first = await child.stdout.readline()
        assert first.strip().isdigit(), first
        await asyncio.sleep(rng.uniform(0.05, 0.3))
        child.send_signal(signal.SIGKILL)
        rest, _ = await child.communicate()
        acknowledged = max(int(n) for n in [*rest.split(), first.strip()])
        check = apsw.Connection(path)
        try:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            done = dict(check.execute("SELECT batch, size FROM done").fetchall())
            counts = dict(check.execute("SELECT batch, count(*) FROM tx GROUP BY batch").fetchall())
        finally:
            check.close()
        # Every acknowledged batch is there; no batch is there in part.
        assert all(b in done for b in range(1, acknowledged + 1))
        assert counts == {b: size for b, size in done.items()}
