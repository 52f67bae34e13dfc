"""200 concurrent tasks through PgBouncer in transaction mode, prepared statements off:
no errors, every write accounted for, and never more server connections than PgBouncer's
``default_pool_size`` (what docs/deployment.md promises)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from oxyde import Field, Model
from oxyde.db import AsyncDatabase, PoolSettings, atomic
from oxyde.db.registry import lookup, unregister_connection
from tests.conftest import backend_unavailable
from tests.integration.pgbouncer import find_pgbouncer, postgres_url, start_pgbouncer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("backend_name", ["postgres"], scope="module"),
]

TASKS = 200
ROUNDS = 5
#: PgBouncer's default_pool_size: the server connections it may open
SERVER_POOL = 5
#: the clients' application_name: PgBouncer sets it on every server connection it lends
#: them, which tells its sessions apart from any other the server has on this database
#: (a session another test closed a moment ago may still be on its way out)
APP_NAME = "oxyde-pgbouncer-scale"


class PbCounter(Model):
    id: int | None = Field(default=None, db_pk=True)
    task: int
    hits: int = 0

    class Meta:
        is_table = True
        table_name = "pb_counter"


@pytest.fixture(scope="module")
def bouncer(backend_name: str) -> Iterator[str]:
    if find_pgbouncer() is None:
        backend_unavailable(backend_name, "pgbouncer is not installed (apt-get install pgbouncer)")
    with start_pgbouncer(postgres_url(), pool_size=SERVER_POOL) as url:
        yield url


@pytest.fixture
async def through_bouncer(bouncer: str, backend_name: str) -> AsyncIterator[AsyncDatabase]:
    direct = AsyncDatabase(postgres_url(), name="direct", auto_register=False)
    async with direct:
        await direct.execute("DROP TABLE IF EXISTS pb_counter", ())
        await direct.execute(
            "CREATE TABLE pb_counter (id SERIAL PRIMARY KEY, task INTEGER NOT NULL, "
            "hits INTEGER NOT NULL DEFAULT 0)",
            (),
        )
    database = AsyncDatabase(
        bouncer,
        settings=PoolSettings(
            max_connections=20,
            pg_prepare=False,
            acquire_timeout=60,
            pg_application_name=APP_NAME,
        ),
        overwrite=True,
    )
    await database.connect()
    yield database
    await database.disconnect()
    if lookup("default") is database:
        unregister_connection("default")
    async with AsyncDatabase(postgres_url(), name="direct", auto_register=False) as direct:
        await direct.execute("DROP TABLE IF EXISTS pb_counter", ())


async def test_200_tasks_through_pgbouncer_transaction_mode(
    through_bouncer: AsyncDatabase,
) -> None:
    upstream = postgres_url()
    dbname = upstream.rsplit("/", 1)[1].split("?", 1)[0]
    errors: list[BaseException] = []
    peak = 0
    done = asyncio.Event()

    async def watch_server() -> None:
        # PgBouncer's server connections, seen by the server itself
        nonlocal peak
        watcher = AsyncDatabase(upstream, name="watch", auto_register=False)
        async with watcher:
            while not done.is_set():
                rows = await watcher.fetch(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                    "AND backend_type = 'client backend' AND application_name = $2",
                    (dbname, APP_NAME),
                )
                peak = max(peak, int(rows[0][0]))
                await asyncio.sleep(0.01)

    async def worker(n: int) -> None:
        try:
            row = await PbCounter.objects.create(task=n)
            for _ in range(ROUNDS):
                got = await PbCounter.objects.get(id=row.id)
                assert got.task == n
                async with atomic():
                    locked = await PbCounter.objects.filter(id=row.id).select_for_update().all()
                    await PbCounter.objects.filter(id=row.id).update(hits=locked[0].hits + 1)
                assert await PbCounter.objects.filter(task=n).count() == 1
        except Exception as exc:
            errors.append(exc)

    watcher = asyncio.create_task(watch_server())
    await asyncio.sleep(0.05)
    try:
        await asyncio.gather(*(worker(n) for n in range(TASKS)))
    finally:
        done.set()
        await watcher
    assert errors == []
    rows: list[Any] = await PbCounter.objects.values_list("hits", flat=True).all()
    assert len(rows) == TASKS and set(rows) == {ROUNDS}
    assert 1 <= peak <= SERVER_POOL
