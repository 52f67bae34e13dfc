"""The PostgreSQL backend when things go wrong: cancelled tasks, killed backends, a server
that goes away and comes back, bulk writes interrupted halfway (guarantees G1-G3, G6, G9)."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from oxyde.backends.postgres import PostgresBackend
from oxyde.db import AsyncDatabase, PoolSettings, atomic
from oxyde.exceptions import OperationalError, UniqueViolationError
from tests.integration.pgbouncer import find_pgbouncer, postgres_url, start_pgbouncer
from tests.support.backends import is_required

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

DIRECT_URL = os.environ.get("OXYDE_TEST_POSTGRES_DIRECT_URL") or postgres_url()


@pytest.fixture(scope="module")
def server_url() -> str:
    try:
        psycopg.connect(DIRECT_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if is_required("postgres"):
            pytest.fail(f"PostgreSQL is not reachable: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    return DIRECT_URL


@pytest.fixture
def app_name() -> str:
    return f"oxyde-rel-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def monitor(server_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    conn = await psycopg.AsyncConnection.connect(server_url, autocommit=True)
    yield conn
    await conn.close()


@pytest.fixture
async def table(server_url: str) -> AsyncIterator[str]:
    name = f"pgr_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(
            f'CREATE TABLE "{name}" (id BIGSERIAL PRIMARY KEY, k INT UNIQUE, v TEXT, '
            "balance BIGINT NOT NULL DEFAULT 0)"
        )
    yield name
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture
async def database(server_url: str, app_name: str) -> AsyncIterator[AsyncDatabase]:
    db = AsyncDatabase(
        server_url,
        name=f"rel-{app_name}",
        settings=PoolSettings(
            max_connections=4, min_connections=1, acquire_timeout=5, pg_application_name=app_name
        ),
        auto_register=True,
    )
    await db.connect()
    yield db
    await db.disconnect()
    from oxyde.db.registry import unregister_connection

    unregister_connection(db.name)


async def server_states(monitor: psycopg.AsyncConnection[Any], app_name: str) -> list[str]:
    cur = await monitor.execute(
        "SELECT coalesce(state, '') FROM pg_stat_activity WHERE application_name = %s",
        [app_name],
    )
    return [state for (state,) in await cur.fetchall()]


async def count_rows(monitor: psycopg.AsyncConnection[Any], table: str) -> int:
    cur = await monitor.execute(f'SELECT count(*) FROM "{table}"')
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def settle(database: AsyncDatabase) -> dict[str, int]:
    """Wait (5 s at most) until every connection is back in the pool; return the
    pool's counters."""
    deadline = time.monotonic() + 5
    while True:
        stats = database.stats()
        if stats["pool_available"] == stats["pool_size"] and stats["requests_waiting"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"the pool did not settle: {stats}")
        await asyncio.sleep(0.05)


async def test_cancel_storm_leaks_nothing(
    database: AsyncDatabase,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
    table: str,
) -> None:
    rng = random.Random(20240611)
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'

    async def job(n: int) -> None:
        kind = n % 4
        if kind == 0:
            await database.fetch("SELECT pg_sleep($1::float8)", [rng.uniform(0, 0.2)])
        elif kind == 1:
            async with atomic(using=database.name):
                await database.execute(insert, [n, "tx"])
                await asyncio.sleep(rng.uniform(0, 0.2))
                await database.execute(insert, [-n, "tx"])
        elif kind == 2:
            await database.execute_many(insert, [[n * 1000 + i, "bulk"] for i in range(300)])
        else:
            await database.fetch("SELECT count(*) FROM generate_series(1, 200000)", [])

    async def cancel_later(task: asyncio.Task[None]) -> None:
        await asyncio.sleep(rng.uniform(0, 0.3))
        task.cancel()

    tasks = [asyncio.create_task(job(n)) for n in range(1, 201)]
    cancellers = [asyncio.create_task(cancel_later(t)) for t in tasks]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*cancellers)
    unexpected = [
        r
        for r in results
        if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
    ]
    assert unexpected == []
    stats = await settle(database)
    assert stats["pool_size"] <= 4
    # Nothing is left running or holding a transaction on the server.
    for _ in range(50):
        states = await server_states(monitor, app_name)
        if all(state == "idle" for state in states):
            break
        await asyncio.sleep(0.05)
    assert all(state == "idle" for state in states), states
    # Every transaction was all-or-nothing: its two rows, or neither.
    cur = await monitor.execute(
        f'SELECT k FROM "{table}" WHERE v = %s AND k > 0 AND -k NOT IN '
        f'(SELECT k FROM "{table}" WHERE v = %s)',
        ["tx", "tx"],
    )
    assert await cur.fetchall() == []
    cur = await monitor.execute(
        f'SELECT k / 1000, count(*) FROM "{table}" WHERE v = %s GROUP BY 1 HAVING count(*) <> 300',
        ["bulk"],
    )
    assert await cur.fetchall() == []
    for _ in range(50):
        assert await database.fetch("SELECT 1", []) == [(1,)]


async def test_task_cancelled_inside_atomic_leaves_no_idle_transaction(
    database: AsyncDatabase,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
    table: str,
) -> None:
    inside = asyncio.Event()

    async def transaction() -> None:
        async with atomic(using=database.name):
            await database.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(transaction())
    await asyncio.wait_for(inside.wait(), 5)
    assert "idle in transaction" in await server_states(monitor, app_name)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    states = await server_states(monitor, app_name)
    assert states and all(state == "idle" for state in states), states
    assert await count_rows(monitor, table) == 0
    # The same session serves the next transaction, which commits normally.
    async with atomic(using=database.name):
        await database.execute(f'INSERT INTO "{table}" (k) VALUES (2)', [])
    assert await count_rows(monitor, table) == 1


async def test_cancel_during_a_statement_inside_atomic(
    database: AsyncDatabase,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
    table: str,
) -> None:
    async def transaction() -> None:
        async with atomic(using=database.name):
            await database.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
            await database.fetch("SELECT pg_sleep(30)", [])

    task = asyncio.create_task(transaction())
    for _ in range(100):
        if "active" in await server_states(monitor, app_name):
            break
        await asyncio.sleep(0.02)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2
    states = await server_states(monitor, app_name)
    assert states and all(state == "idle" for state in states), states
    assert await count_rows(monitor, table) == 0


@pytest.mark.parametrize("path", ["pipeline", "copy"])
@pytest.mark.slow
async def test_bulk_insert_interrupted_writes_nothing(
    server_url: str,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
    table: str,
    path: str,
) -> None:
    from oxyde.backends.url import parse_url

    backend = PostgresBackend(
        parse_url(server_url),
        PoolSettings(max_connections=2, pg_application_name=app_name),
        name="bulk",
    )
    await backend.open()
    rows = [[i, "x" * 50] for i in range(100_000)]

    async def bulk() -> None:
        async with backend.connection() as conn:
            if path == "pipeline":
                await conn.execute_many(f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)', rows)
            else:
                await conn.copy_insert(table, ["k", "v"], rows, returning_pk="id")

    try:
        # A cancel 50 ms in.
        task = asyncio.create_task(bulk())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await count_rows(monitor, table) == 0
        # The server kills the backend halfway.
        task = asyncio.create_task(bulk())
        await asyncio.sleep(0.1)
        await monitor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [app_name],
        )
        with pytest.raises(OperationalError):
            await task
        assert await count_rows(monitor, table) == 0
        # A duplicate key in the middle.
        rows[50_000][0] = 7
        with pytest.raises(UniqueViolationError):
            await bulk()
        assert await count_rows(monitor, table) == 0
        # The pool is whole and its connections clean.
        async with backend.connection() as conn:
            assert not conn.in_transaction
            assert await conn.fetch("SELECT 1", []) == [(1,)]
        states = await server_states(monitor, app_name)
        assert all(state == "idle" for state in states), states
    finally:
        await backend.close()


@pytest.mark.slow
async def test_backend_kills_during_transfers_keep_the_books_balanced(
    database: AsyncDatabase,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
    table: str,
) -> None:
    accounts = 20
    await database.execute_many(
        f'INSERT INTO "{table}" (k, balance) VALUES ($1, 100)', [[k] for k in range(accounts)]
    )
    rng = random.Random(7)
    failures: list[BaseException] = []
    stop = time.monotonic() + 2.5

    async def transfers() -> None:
        while time.monotonic() < stop:
            a, b = rng.sample(range(accounts), 2)
            try:
                async with atomic(using=database.name):
                    await database.execute(
                        f'UPDATE "{table}" SET balance = balance - 1 WHERE k = $1', [a]
                    )
                    await asyncio.sleep(0.002)
                    await database.execute(
                        f'UPDATE "{table}" SET balance = balance + 1 WHERE k = $1', [b]
                    )
            except OperationalError as exc:
                failures.append(exc)

    killed: list[int] = []

    async def killer() -> None:
        while True:
            await asyncio.sleep(0.4)
            if time.monotonic() >= stop:
                return
            # The kill is in the select list, so it only reaches the rows filtered.
            cur = await monitor.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [app_name],
            )
            killed.extend(pid for pid, _ in await cur.fetchall())

    await asyncio.gather(*(transfers() for _ in range(6)), killer())
    assert failures, "the kills never hit a transaction: the test proves nothing"
    # pg_terminate_backend only signals: wait until the killed sessions are gone.
    for _ in range(100):
        cur = await monitor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [killed]
        )
        if await cur.fetchone() == (0,):
            break
        await asyncio.sleep(0.02)
    cur = await monitor.execute(f'SELECT sum(balance) FROM "{table}"')
    assert await cur.fetchone() == (accounts * 100,)
    # Once the kills stop, every call succeeds.
    await settle(database)
    for _ in range(20):
        async with atomic(using=database.name):
            assert await database.fetch("SELECT 1", []) == [(1,)]


async def test_stream_abandoned_or_cancelled_returns_a_clean_connection(
    database: AsyncDatabase, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    sql = "SELECT x FROM generate_series(1, 1000000) AS x"
    chunks = database.stream(sql, [], chunk_size=500)
    async for _ in chunks:
        break
    await chunks.aclose()  # type: ignore[attr-defined]

    async def consume() -> None:
        async for _ in database.stream(sql, [], chunk_size=500):
            await asyncio.sleep(0.01)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle(database)
    states = await server_states(monitor, app_name)
    assert all(state == "idle" for state in states), states


async def test_one_connection_runs_one_operation_at_a_time(server_url: str, table: str) -> None:
    from oxyde.backends.url import parse_url

    backend = PostgresBackend(parse_url(server_url), PoolSettings(max_connections=1), name="g5")
    await backend.open()
    insert = f'INSERT INTO "{table}" (k) VALUES ($1)'
    count = f'SELECT count(*) FROM "{table}"'
    try:
        async with backend.connection() as conn:
            results = await asyncio.gather(
                conn.execute_many(insert, [[i] for i in range(3000)]),
                conn.fetch(count, []),
                conn.copy_insert(table, ["k"], [[-i] for i in range(1, 2001)]),
                conn.fetch(count, []),
                *(conn.fetch("SELECT $1::int, pg_sleep(0.01)", [n]) for n in range(5)),
            )
            # Each call waited for the pipeline or COPY before it: none slipped into
            # another's pipeline or transaction.
            assert results[:4] == [3000, [(3000,)], [], [(5000,)]]
            assert [rows[0][0] for rows in results[4:]] == list(range(5))
            assert not conn.in_transaction
            assert await conn.fetch(count, []) == [(5000,)]
    finally:
        await backend.close()


@pytest.mark.skipif(
    find_pgbouncer() is None and not is_required("postgres"), reason="needs pgbouncer"
)
@pytest.mark.slow
async def test_calls_fail_fast_while_the_server_is_away_and_recover(server_url: str) -> None:
    from oxyde.backends.url import parse_url

    # The bouncer stands in for the server: stopping it is a server going away.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = PoolSettings(max_connections=2, acquire_timeout=0.5, pg_prepare=False)
    with start_pgbouncer(server_url, port=port) as url:
        backend = PostgresBackend(parse_url(url), settings, name="away")
        await backend.open()
        async with backend.connection() as conn:
            assert await conn.fetch("SELECT 1", []) == [(1,)]
    try:
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(OperationalError, match=f"127.0.0.1:{port}"):
                async with backend.connection() as conn:
                    await conn.fetch("SELECT 1", [])
            assert time.monotonic() - started < 1.0
        with start_pgbouncer(server_url, port=port):
            deadline = time.monotonic() + 15
            while True:
                try:
                    async with backend.connection() as conn:
                        assert await conn.fetch("SELECT 2", []) == [(2,)]
                    break
                except OperationalError:
                    assert time.monotonic() < deadline, "the pool did not recover"
                    await asyncio.sleep(0.2)
    finally:
        await backend.close()
