"""Read replicas on real replication: a PostgreSQL streaming replica and a MariaDB replica,
each started here as a pair of its own (see replication.py).

Where a statement ran is asked of the server in the routed session
(``pg_is_in_recovery()``, ``@@server_id``), through the executor the query layer gets.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from oxyde import Field, Model
from oxyde.db import AsyncDatabase, PoolSettings, Replica, atomic
from oxyde.db.registry import lookup, unregister_connection
from oxyde.queries.executor import resolve_executor
from tests.conftest import backend_unavailable
from tests.integration.replication import mariadb_pair, missing_tools, postgres_pair

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("backend_name", ["postgres", "mysql"], scope="module"),
]

WHERE = {
    "postgres": ("SELECT CASE WHEN pg_is_in_recovery() THEN 'replica' ELSE 'primary' END", ()),
    "mysql": ("SELECT CASE @@server_id WHEN 2 THEN 'replica' ELSE 'primary' END", ()),
}


class RpItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "rp_item"


@pytest.fixture(scope="module")
def pair(backend_name: str) -> Iterator[Any]:
    """The replicated pair of the engine, started once for the module."""
    why = missing_tools(backend_name)
    if why is not None:
        backend_unavailable(backend_name, why)
    start = postgres_pair if backend_name == "postgres" else mariadb_pair
    with start() as running:
        yield running


@pytest.fixture
async def cluster(pair: Any, backend_name: str) -> AsyncIterator[Any]:
    """``await cluster(**options)``: "default" on the pair's primary with its replica,
    the table ``rp_item`` created empty on the primary and replicated."""
    made: list[AsyncDatabase] = []

    async def make(max_lag: float | None = None, **options: Any) -> AsyncDatabase:
        options.setdefault("check_interval", 0.2)
        settings = PoolSettings(max_connections=8, acquire_timeout=10)
        replica = Replica(pair.replica_url, max_lag=max_lag, settings=settings)
        database = AsyncDatabase(
            pair.primary_url, replicas=[replica], settings=settings, overwrite=True, **options
        )
        made.append(database)
        await database.connect()
        return database

    seeder = AsyncDatabase(pair.primary_url, name="seed", auto_register=False)
    async with seeder:
        await seeder.execute("DROP TABLE IF EXISTS rp_item", ())
        await seeder.execute(
            "CREATE TABLE rp_item (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)", ()
        )
        await seeder.execute("INSERT INTO rp_item (id, name) VALUES (1, 'first')", ())
    await _replicated(pair, "SELECT name FROM rp_item WHERE id = 1", [("first",)])
    yield make
    for database in made:
        await database.disconnect()
        if lookup(database.name) is database:
            unregister_connection(database.name)


async def _replicated(pair: Any, sql: str, expected: list[Any], within: float = 30) -> None:
    """Wait until ``sql`` on the replica returns ``expected``."""
    probe = AsyncDatabase(pair.replica_url, name="probe", auto_register=False)
    async with probe:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                rows = [tuple(r) for r in await probe.fetch(sql, ())]
            except Exception:
                rows = None
            if rows == expected or loop.time() > deadline:
                assert rows == expected
                return
            await asyncio.sleep(0.05)


async def where_reads_go(backend_name: str) -> str:
    """The server a model's read runs on, asked in the routed session."""
    ex = resolve_executor(None, None, RpItem)
    sql, params = WHERE[backend_name]
    rows = await ex.fetch(sql, params)
    return str(rows[0][0])


async def fresh(coro_fn: Any) -> Any:
    """In a task with an empty context: another request, which wrote nothing."""
    return await asyncio.create_task(coro_fn(), context=contextvars.Context())


async def _wait_state(database: AsyncDatabase, state: str, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while database.replica_stats()["replicas"][0]["state"] != state:
        assert loop.time() < deadline, database.replica_stats()
        await asyncio.sleep(0.05)


async def test_reads_run_on_the_replica_writes_on_the_primary(
    cluster: Any, backend_name: str
) -> None:
    database = await cluster(read_your_writes=None)
    assert await where_reads_go(backend_name) == "replica"
    ex = resolve_executor(None, None, RpItem)
    sql, params = WHERE[backend_name]
    assert (await ex.fetch(sql, params, write=True))[0][0] == "primary"
    assert (await RpItem.objects.get(id=1)).name == "first"

    async def in_transaction() -> str:
        async with atomic():
            return await where_reads_go(backend_name)

    assert await in_transaction() == "primary"
    await RpItem.objects.create(id=2, name="second")
    rows = await database.fetch("SELECT name FROM rp_item WHERE id = 2", ())
    assert rows and rows[0][0] == "second"
    stats = database.replica_stats()["replicas"][0]
    assert stats["state"] == "healthy" and stats["queries"] >= 2 and stats["lag"] is not None


async def test_read_your_writes_with_a_delayed_replica(
    cluster: Any, pair: Any, backend_name: str
) -> None:
    await cluster(read_your_writes=60)
    pair.delay_replica(4)
    try:
        # a first write after the delay is in place, so the replica is surely behind
        await RpItem.objects.filter(id=1).update(name="updated")
        assert await where_reads_go(backend_name) == "primary"
        assert (await RpItem.objects.get(id=1)).name == "updated"
        assert await RpItem.objects.filter(name="updated").count() == 1

        async def other_request() -> str:
            return str((await RpItem.objects.get(id=1)).name)

        # the delay is real: a task that did not write reads the replica's old row
        assert await fresh(other_request) == "first"
    finally:
        pair.delay_replica(0)
    await _replicated(pair, "SELECT name FROM rp_item WHERE id = 1", [("updated",)])


async def test_a_lagging_replica_leaves_rotation_and_returns(
    cluster: Any, pair: Any, backend_name: str
) -> None:
    database = await cluster(max_lag=1, read_your_writes=None)
    await _wait_state(database, "healthy")
    pair.delay_replica(5)
    try:
        await RpItem.objects.filter(id=1).update(name="lagged")
        await _wait_state(database, "lagging")
        assert database.replica_stats()["replicas"][0]["lag"] > 1
        assert await where_reads_go(backend_name) == "primary"
        assert (await RpItem.objects.get(id=1)).name == "lagged"
    finally:
        pair.delay_replica(0)
    await _wait_state(database, "healthy")
    assert await where_reads_go(backend_name) == "replica"


async def test_failover_when_the_replica_dies_mid_load_and_return(
    cluster: Any, pair: Any, backend_name: str
) -> None:
    database = await cluster(read_your_writes=None)
    failures: list[BaseException] = []
    reads = 0
    stop = asyncio.Event()

    async def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                item = await RpItem.objects.get(id=1)
                assert item.id == 1
                reads += 1
            except Exception as exc:
                failures.append(exc)
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(reader()) for _ in range(20)]
    try:
        await asyncio.sleep(0.5)
        before = database.replica_stats()["replicas"][0]["queries"]
        assert before > 0
        await asyncio.to_thread(pair.stop_replica)
        await asyncio.sleep(1.0)
        assert database.replica_stats()["replicas"][0]["state"] == "down"
        after_kill = reads
        await asyncio.sleep(0.5)
        assert reads > after_kill  # the primary serves them
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert failures == []
    stats = database.replica_stats()
    assert stats["primary_fallbacks"] > 0
    assert await where_reads_go(backend_name) == "primary"

    await asyncio.to_thread(pair.start_replica)
    await _wait_state(database, "healthy")
    assert await where_reads_go(backend_name) == "replica"
    # A replica killed at once may recover its last transactions from its relay log a
    # moment after it reports no lag: wait for the row there, within a bound.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (item := await RpItem.objects.get_or_none(id=1)) is None:
        assert loop.time() < deadline, "the row never came back on the restarted replica"
        await asyncio.sleep(0.1)
    assert item.name
