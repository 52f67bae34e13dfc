"""Auto-batching of independent statements on PostgreSQL: statements of concurrent tasks
outside transactions share pipelined connections, and each task still gets exactly its
own result or its own error, whatever the others do (fail, get cancelled, run in a
transaction, go through PgBouncer, run with prepared statements off)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest

from oxyde.db import AsyncDatabase, PoolSettings
from oxyde.exceptions import OperationalError, UniqueViolationError
from tests.integration.pgbouncer import pgbouncer_for_tests, postgres_url
from tests.support.backends import is_required

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

#: The server itself, even when the suite runs through PgBouncer.
DIRECT_URL = os.environ.get("OXYDE_TEST_POSTGRES_DIRECT_URL") or postgres_url()

OpenDatabase = Callable[..., Awaitable[AsyncDatabase]]

PID = "SELECT $1::int, pg_backend_pid()"


def _with_option(url: str, option: str) -> str:
    return url + ("&" if "?" in url else "?") + option


@pytest.fixture(scope="module")
def server_url() -> str:
    try:
        psycopg.connect(DIRECT_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if is_required("postgres"):
            pytest.fail(f"PostgreSQL is not reachable: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    return DIRECT_URL


@pytest.fixture(scope="module")
def pgbouncer_url(server_url: str) -> Iterator[str]:
    yield from pgbouncer_for_tests(server_url)


@pytest.fixture
def app_name() -> str:
    return f"oxyde-batch-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def open_database(server_url: str, app_name: str) -> AsyncIterator[OpenDatabase]:
    """``await open_database(url=None, **settings)``: a connected, unregistered database."""
    opened: list[AsyncDatabase] = []

    async def open_(url: str | None = None, **settings: Any) -> AsyncDatabase:
        settings.setdefault("max_connections", 4)
        settings.setdefault("acquire_timeout", 5)
        settings.setdefault("pg_application_name", app_name)
        database = AsyncDatabase(
            url or postgres_url(),
            name=f"batch-{uuid.uuid4().hex[:8]}",
            settings=PoolSettings(**settings),
            auto_register=False,
        )
        await database.connect()
        opened.append(database)
        return database

    yield open_
    for database in opened:
        await database.disconnect()


@pytest.fixture
async def table(server_url: str) -> AsyncIterator[str]:
    name = f"pgbatch_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(
            f'CREATE TABLE "{name}" (id BIGSERIAL PRIMARY KEY, k INT UNIQUE, v TEXT)'
        )
    yield name
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture
async def monitor(server_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    conn = await psycopg.AsyncConnection.connect(server_url, autocommit=True)
    yield conn
    await conn.close()


async def keys(monitor: psycopg.AsyncConnection[Any], table: str) -> list[int]:
    cur = await monitor.execute(f'SELECT k FROM "{table}" ORDER BY k')
    return [k for (k,) in await cur.fetchall()]


async def settled(database: AsyncDatabase) -> dict[str, int]:
    """The pool's counters once every connection is back (idle pipes included)."""
    for _ in range(100):
        stats = database.stats()
        if stats["pool_available"] == stats["pool_size"] and stats["batch_pipes"] == 0:
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pool did not settle: {database.stats()}")


# -- sharing -----------------------------------------------------------------------------


async def test_each_task_gets_its_own_result(open_database: OpenDatabase) -> None:
    database = await open_database()
    results = await asyncio.gather(
        *(database.fetch("SELECT $1::int * 2, $2::text", [n, f"t{n}"]) for n in range(300))
    )
    assert results == [[(n * 2, f"t{n}")] for n in range(300)]
    # and again, now with the statement prepared on the connections
    results = await asyncio.gather(
        *(database.fetch("SELECT $1::int * 2, $2::text", [n, f"t{n}"]) for n in range(300))
    )
    assert results == [[(n * 2, f"t{n}")] for n in range(300)]
    await settled(database)


async def test_gathered_statements_share_one_connection(open_database: OpenDatabase) -> None:
    database = await open_database(max_connections=4)
    rows = await asyncio.gather(*(database.fetch(PID, [n]) for n in range(10)))
    assert [r[0][0] for r in rows] == list(range(10))
    # Ten lookups started together: one connection, so one round trip.
    assert len({r[0][1] for r in rows}) == 1


async def test_statements_issued_apart_run_in_parallel(open_database: OpenDatabase) -> None:
    database = await open_database(max_connections=4)

    async def later(n: int) -> list[tuple[Any, ...]]:
        await asyncio.sleep(0.01 * n)
        return await database.fetch("SELECT $1::int, pg_backend_pid(), pg_sleep(0.3)", [n])

    started = asyncio.get_running_loop().time()
    rows = await asyncio.gather(*(later(n) for n in range(3)))
    elapsed = asyncio.get_running_loop().time() - started
    # Each found the previous pipe busy and took a connection of its own.
    assert len({r[0][1] for r in rows}) == 3
    assert elapsed < 0.8


async def test_a_busy_pool_queues_behind_running_statements(
    open_database: OpenDatabase,
) -> None:
    database = await open_database(max_connections=2)
    async with database.connection() as held:  # one of the two connections is taken
        first = asyncio.ensure_future(database.fetch(PID + ", pg_sleep(0.2)", [1]))
        await asyncio.sleep(0.05)
        # No connection is left in the pool: the statement joins the busy pipe
        # rather than waiting for a connection to come back.
        second = await database.fetch(PID, [2])
        assert second[0][1] == (await first)[0][1]
        assert await held.fetch("SELECT $1::int", [3]) == [(3,)]


# -- errors --------------------------------------------------------------------------------


async def test_an_error_stays_with_its_statement(
    open_database: OpenDatabase, table: str, monitor: psycopg.AsyncConnection[Any]
) -> None:
    database = await open_database()
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'
    results = await asyncio.gather(
        *(database.execute(insert, [k, "x"]) for k in [1, 2, 1, 3, 2, 4]),
        return_exceptions=True,
    )
    assert results[:2] == [1, 1]
    assert isinstance(results[2], UniqueViolationError)
    assert results[3] == 1
    assert isinstance(results[4], UniqueViolationError)
    assert results[5] == 1
    # Every statement was its own transaction: the failures undid nothing else.
    assert await keys(monitor, table) == [1, 2, 3, 4]


async def test_failing_reads_beside_good_ones(open_database: OpenDatabase) -> None:
    database = await open_database()
    calls = [
        database.fetch("SELECT 10 / $1::int", [n % 3])
        for n in range(12)  # n % 3 == 0 fails
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for n, result in enumerate(results):
        if n % 3 == 0:
            assert isinstance(result, OperationalError)
            assert result.sqlstate == "22012"  # division_by_zero
        else:
            assert result == [(10 // (n % 3),)]


async def test_a_value_that_cannot_be_bound_fails_alone(open_database: OpenDatabase) -> None:
    database = await open_database()
    results = await asyncio.gather(
        database.fetch("SELECT $1::int", [1]),
        database.fetch("SELECT $1", [object()]),
        database.fetch("SELECT $1::int", [3]),
        return_exceptions=True,
    )
    assert results[0] == [(1,)]
    assert isinstance(results[1], OperationalError)
    assert results[2] == [(3,)]


async def test_a_killed_connection_fails_its_statements_and_the_pool_recovers(
    open_database: OpenDatabase, monitor: psycopg.AsyncConnection[Any]
) -> None:
    database = await open_database(max_connections=2)
    victim = asyncio.ensure_future(database.fetch(PID + ", pg_sleep(5)", [1]))
    for _ in range(100):
        cur = await monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(5)' "
            "AND application_name = %s",
            [database.settings.pg_application_name],
        )
        found = await cur.fetchall()
        if found:
            break
        await asyncio.sleep(0.02)
    await monitor.execute("SELECT pg_terminate_backend(%s)", [found[0][0]])
    with pytest.raises(OperationalError):
        await victim
    assert await database.fetch("SELECT $1::int", [7]) == [(7,)]
    await settled(database)


# -- cancellation ----------------------------------------------------------------------------


async def test_a_cancelled_task_leaves_the_others_their_results(
    open_database: OpenDatabase,
) -> None:
    database = await open_database()
    slow = "SELECT $1::int FROM pg_sleep(0.1)"
    tasks = [asyncio.ensure_future(database.fetch(slow, [n])) for n in range(6)]
    await asyncio.sleep(0.02)
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    assert [results[n] for n in (0, 1, 3, 4, 5)] == [[(n,)] for n in (0, 1, 3, 4, 5)]
    assert await database.fetch("SELECT $1::int", [1]) == [(1,)]
    await settled(database)


async def test_cancelling_every_waiting_task_stops_the_server(
    open_database: OpenDatabase, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    database = await open_database()
    tasks = [
        asyncio.ensure_future(database.fetch("SELECT $1::int FROM pg_sleep(30)", [n]))
        for n in range(3)
    ]
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await settled(database)
    assert asyncio.get_running_loop().time() - started < 5
    cur = await monitor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state <> 'idle'",
        [app_name],
    )
    assert await cur.fetchone() == (0,)


async def test_a_cancel_storm_leaves_every_result_right(open_database: OpenDatabase) -> None:
    database = await open_database(max_connections=3)

    async def lookup(n: int) -> list[tuple[Any, ...]]:
        return await database.fetch("SELECT $1::int FROM pg_sleep($2::float8)", [n, (n % 5) / 500])

    tasks = [asyncio.ensure_future(lookup(n)) for n in range(200)]
    for n, task in enumerate(tasks):
        if n % 7 == 0:
            asyncio.get_running_loop().call_later((n % 11) / 1000, task.cancel)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for n, result in enumerate(results):
        if not isinstance(result, asyncio.CancelledError):
            assert result == [(n,)]
    await settled(database)
    assert await database.fetch("SELECT $1::int", [1]) == [(1,)]


# -- transactions --------------------------------------------------------------------------


async def test_statements_in_a_transaction_are_not_batched_with_others(
    open_database: OpenDatabase, table: str
) -> None:
    database = await open_database(max_connections=3)
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'
    select = f'SELECT count(*) FROM "{table}" WHERE k >= $1'
    inside: list[int] = []
    written = asyncio.Event()
    looked = asyncio.Event()

    async def transaction() -> None:
        async with database.atomic_block():
            await database.execute(insert, [1, "tx"])
            written.set()
            await looked.wait()
            inside.append((await database.fetch(select, [0]))[0][0])
            await database.execute(insert, [2, "tx"])

    async def outside() -> list[int]:
        await written.wait()
        found = await asyncio.gather(*(database.fetch(select, [0]) for _ in range(10)))
        looked.set()
        return [rows[0][0] for rows in found]

    _, counts = await asyncio.gather(transaction(), outside())
    # The transaction sees its own row; nobody outside sees uncommitted ones.
    assert inside == [1]
    assert counts == [0] * 10
    assert (await database.fetch(select, [0]))[0][0] == 2


async def test_a_failed_transaction_beside_batched_statements(
    open_database: OpenDatabase, table: str, monitor: psycopg.AsyncConnection[Any]
) -> None:
    database = await open_database(max_connections=3)
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'

    async def doomed() -> None:
        async with database.atomic_block():
            await database.execute(insert, [100, "tx"])
            await database.execute(insert, [100, "tx"])

    results = await asyncio.gather(
        doomed(), *(database.execute(insert, [k, "out"]) for k in range(5)), return_exceptions=True
    )
    assert isinstance(results[0], UniqueViolationError)
    assert results[1:] == [1] * 5
    assert await keys(monitor, table) == [0, 1, 2, 3, 4]


async def test_cancelling_a_statement_inside_a_transaction_stops_it(
    open_database: OpenDatabase,
    table: str,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
) -> None:
    database = await open_database(max_connections=2)
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'

    async def transaction() -> None:
        async with database.atomic_block():
            await database.execute(insert, [1, "tx"])
            await database.fetch("SELECT $1::int FROM pg_sleep(30)", [1])

    task = asyncio.ensure_future(transaction())
    for _ in range(100):
        cur = await monitor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND state = 'active'",
            [app_name],
        )
        if await cur.fetchone() == (1,):
            break
        await asyncio.sleep(0.02)
    started = asyncio.get_running_loop().time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.get_running_loop().time() - started < 3
    await settled(database)
    cur = await monitor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state <> 'idle'",
        [app_name],
    )
    assert await cur.fetchone() == (0,)
    assert await keys(monitor, table) == []
    # the connection serves the next transaction
    async with database.atomic_block():
        await database.execute(insert, [2, "tx"])
    assert await keys(monitor, table) == [2]


# -- prepared statements -----------------------------------------------------------------


async def _server_prepared(database: AsyncDatabase) -> list[str]:
    """The statements the batcher prepared in the pool's one session."""
    # Through a borrowed connection and without parameters: psycopg's simple protocol,
    # so this query is never prepared itself.
    async with database.connection() as conn:
        rows = await conn.fetch(
            "SELECT statement FROM pg_prepared_statements WHERE name LIKE '\\_oxyde\\_%'", []
        )
    return sorted(row[0] for row in rows)


async def test_statements_are_prepared_after_the_threshold(
    open_database: OpenDatabase, server_url: str
) -> None:
    database = await open_database(
        _with_option(server_url, "prepare_threshold=2"), max_connections=1
    )
    query = "SELECT $1::int + 100"
    for n in range(2):
        assert await database.fetch(query, [n]) == [(n + 100,)]
    assert await _server_prepared(database) == []
    assert await database.fetch(query, [5]) == [(105,)]
    assert await _server_prepared(database) == [query]


async def test_the_prepared_cache_keeps_its_capacity(
    open_database: OpenDatabase, server_url: str
) -> None:
    database = await open_database(
        _with_option(server_url, "prepare_threshold=0"),
        max_connections=1,
        pg_statement_cache_capacity=2,
    )
    for shape in range(5):
        assert await database.fetch(f"SELECT $1::int + {shape}", [1]) == [(1 + shape,)]
    assert await _server_prepared(database) == ["SELECT $1::int + 3", "SELECT $1::int + 4"]


async def test_statements_survive_deallocate_all(
    open_database: OpenDatabase, server_url: str
) -> None:
    database = await open_database(
        _with_option(server_url, "prepare_threshold=0"), max_connections=1
    )
    assert await database.fetch("SELECT $1::int", [1]) == [(1,)]
    assert await _server_prepared(database) == ["SELECT $1::int"]
    await database.execute("DEALLOCATE ALL", [])
    assert await database.fetch("SELECT $1::int", [2]) == [(2,)]
    assert await _server_prepared(database) == ["SELECT $1::int"]


async def test_a_prepared_statement_follows_a_changed_table(
    open_database: OpenDatabase, server_url: str, table: str
) -> None:
    database = await open_database(
        _with_option(server_url, "prepare_threshold=0"), max_connections=1
    )
    await database.execute(f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)', [1, "a"])
    query = f'SELECT * FROM "{table}" WHERE k = $1'
    assert await database.fetch(query, [1]) == [(1, 1, "a")]
    await database.execute(f'ALTER TABLE "{table}" ADD COLUMN extra INT DEFAULT 7', [])
    # The cached plan's row type changed: the statement is prepared again.
    assert await database.fetch(query, [1]) == [(1, 1, "a", 7)]


@pytest.mark.parametrize("where", ["prepare-off", "pgbouncer"])
async def test_batching_without_prepared_statements(
    open_database: OpenDatabase, server_url: str, pgbouncer_url: str, table: str, where: str
) -> None:
    url = pgbouncer_url if where == "pgbouncer" else server_url
    database = await open_database(_with_option(url, "prepare_threshold=none"))
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'
    for _ in range(2):
        results = await asyncio.gather(
            *(database.fetch("SELECT $1::int * 3", [n]) for n in range(50))
        )
        assert results == [[(n * 3,)] for n in range(50)]
    outcomes = await asyncio.gather(
        *(database.execute(insert, [k, "x"]) for k in [1, 2, 1, 3]), return_exceptions=True
    )
    assert outcomes[:2] == [1, 1]
    assert isinstance(outcomes[2], UniqueViolationError)
    assert outcomes[3] == 1
    if where == "prepare-off":
        assert await _server_prepared(database) == []


async def test_batching_can_be_turned_off(open_database: OpenDatabase) -> None:
    database = await open_database(
        _with_option(postgres_url(), "batching=off"), max_connections=4, min_connections=4
    )
    rows = await asyncio.gather(*(database.fetch(PID + ", pg_sleep(0.05)", [n]) for n in range(4)))
    assert [r[0][0] for r in rows] == list(range(4))
    assert len({r[0][1] for r in rows}) == 4
    assert "batch_pipes" not in database.stats()


async def test_described_rows(open_database: OpenDatabase) -> None:
    database = await open_database()
    names, rows = await database.fetch_described("SELECT $1::int AS a, $2::text AS b", [1, "x"])
    assert names == ["a", "b"]
    assert rows == [(1, "x")]
