"""MySQL / MariaDB backend under failure: refused and hung servers, killed sessions,
cancelled statements, outages, bulk atomicity, and no leaks through any of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.backends import is_required, skip_module_unless_selected

URL = os.environ.get("OXYDE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


#: prefix of every table this module makes: unique per process, so parallel runs
#: against one server do not meet
OXR = f"oxr{os.getpid()}_"
skip_module_unless_selected("mysql")
if not is_required("mysql"):
    pytest.importorskip("MySQLdb")

import MySQLdb  # noqa: E402

from oxyde.backends.mysql import MySQLBackend  # noqa: E402
from oxyde.backends.settings import PoolSettings  # noqa: E402
from oxyde.backends.url import parse_url  # noqa: E402
from oxyde.exceptions import OperationalError, UniqueViolationError  # noqa: E402

pytestmark = [pytest.mark.mysql, pytest.mark.timeout(60)]


def server_params() -> dict[str, Any]:
    url = parse_url(URL)
    params: dict[str, Any] = {"host": url.host or "localhost", "autocommit": True}
    if url.username:
        params["user"] = url.username
    if url.password:
        params["password"] = url.password
    if url.port:
        params["port"] = url.port
    if url.database:
        params["database"] = url.database
    return params


def admin() -> Any:
    """A plain driver connection for watching and poking the server from outside."""
    return MySQLdb.connect(**server_params())


def sql_rows(conn: Any, sql: str) -> tuple[tuple[Any, ...], ...]:
    conn.query(sql.encode())
    res = conn.store_result()
    return res.fetch_row(0) if res is not None else ()


def running(thread_id: int) -> str | None:
    """What session ``thread_id`` is executing right now, if it exists."""
    conn = admin()
    try:
        rows = sql_rows(
            conn,
            f"SELECT COALESCE(INFO, '') FROM information_schema.PROCESSLIST WHERE ID = {thread_id}",
        )
    finally:
        conn.close()
    return rows[0][0] if rows else None


def sessions(thread_ids: set[int]) -> set[int]:
    conn = admin()
    try:
        rows = sql_rows(conn, "SELECT ID FROM information_schema.PROCESSLIST")
    finally:
        conn.close()
    return {int(r[0]) for r in rows} & thread_ids


def kill(what: str, thread_id: int) -> None:
    conn = admin()
    try:
        sql_rows(conn, f"KILL {what} {thread_id}")
    finally:
        conn.close()


async def open_backend(url: str = URL, **settings: Any) -> MySQLBackend:
    settings.setdefault("acquire_timeout", 5)
    backend = MySQLBackend(url, PoolSettings(**settings))
    try:
        await backend.open()
    except OperationalError as exc:
        if is_required("mysql"):
            raise
        pytest.skip(f"no MySQL server at {url}: {exc}")
    return backend


async def settle(backend: MySQLBackend) -> None:
    """Wait until background recovery, resets and closes are done."""
    for _ in range(300):
        if not backend.stats()["background"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"background work still running: {backend.stats()}")


@pytest.fixture
async def backend() -> AsyncIterator[MySQLBackend]:
    b = await open_backend(max_connections=3)
    yield b
    await b.close()


@pytest.fixture
async def table(backend: MySQLBackend) -> AsyncIterator[str]:
    async with backend.connection() as c:
        await c.execute(f"DROP TABLE IF EXISTS {OXR}item", [])
        await c.execute(
            f"CREATE TABLE {OXR}item (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "code INT NOT NULL UNIQUE, note VARCHAR(40) NULL) ENGINE=InnoDB",
            [],
        )
    yield f"{OXR}item"
    async with backend.connection() as c:
        await c.execute(f"DROP TABLE IF EXISTS {OXR}item", [])


async def count(backend: MySQLBackend) -> int:
    async with backend.connection() as c:
        return int((await c.fetch(f"SELECT COUNT(*) FROM {OXR}item", []))[0][0])


class Proxy:
    """A TCP relay to the server that can be switched off and on: an outage we control."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()
            self.links.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


# -- unreachable servers -----------------------------------------------------------------


async def test_connection_refused_fails_within_acquire_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on that port now
    backend = MySQLBackend(f"mysql://root@127.0.0.1:{port}/test", PoolSettings(acquire_timeout=2))
    start = time.monotonic()
    with pytest.raises(OperationalError) as info:
        await backend.open()
    assert time.monotonic() - start < 2
    assert info.value.code in (2002, 2003)
    assert f"127.0.0.1:{port}" in str(info.value)
    await backend.close()


async def test_a_server_that_never_answers_fails_within_acquire_timeout() -> None:
    # accepts TCP connections and never says a word: the handshake hangs
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        backend = MySQLBackend(
            f"mysql://root@127.0.0.1:{port}/test", PoolSettings(acquire_timeout=1)
        )
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(OperationalError, match="acquire_timeout"):
            await backend.open()
        assert loop.time() - start < 1.5
        start = loop.time()
        await backend.close()
        # the abandoned connect thread was given a bounded connect_timeout as well
        assert loop.time() - start < 4
        assert backend.stats()["size"] == 0
    finally:
        listener.close()


async def test_outage_fails_fast_and_the_pool_recovers() -> None:
    url = parse_url(URL)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 3306)
    await proxy.start()
    user = f"{url.username}@" if url.username else ""
    if url.password:
        user = f"{url.username}:{url.password}@"
    proxied = f"mysql://{user}127.0.0.1:{proxy.port}/{url.database or ''}"
    backend = await open_backend(proxied, max_connections=2, acquire_timeout=1)
    try:
        async with backend.connection() as c:
            assert await c.fetch("SELECT 1", []) == [(1,)]
        await proxy.stop()
        loop = asyncio.get_running_loop()
        for _ in range(3):
            start = loop.time()
            with pytest.raises(OperationalError):
                async with backend.connection() as c:
                    await c.fetch("SELECT 1", [])
            assert loop.time() - start < 1.5
        await proxy.start()
        async with backend.connection() as c:
            assert await c.fetch("SELECT 2", []) == [(2,)]
        await settle(backend)
        assert backend.stats()["size"] <= 2
    finally:
        await backend.close()
        if proxy.server is not None:
            await proxy.stop()


# -- killed sessions -----------------------------------------------------------------------


async def test_kill_connection_on_an_idle_pooled_connection_is_survived(
    backend: MySQLBackend,
) -> None:
    async with backend.connection() as c:
        victim = c.thread_id
    await asyncio.to_thread(kill, "CONNECTION", victim)
    await asyncio.sleep(0.05)
    # the very next query succeeds, on a fresh connection
    async with backend.connection() as c:
        assert await c.fetch("SELECT CONNECTION_ID()", []) != [(victim,)]


async def test_kill_connection_during_a_query_fails_it_and_then_recovers(
    backend: MySQLBackend,
) -> None:
    async with backend.connection() as c:
        victim = c.thread_id
        call = asyncio.ensure_future(c.fetch("SELECT SLEEP(5)", []))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(kill, "CONNECTION", victim)
        with pytest.raises(OperationalError) as info:
            await asyncio.wait_for(call, 3)
        assert info.value.code in (2013, 2006, 1927)
    async with backend.connection() as c:
        assert c.thread_id != victim
        assert await c.fetch("SELECT 1", []) == [(1,)]
    await settle(backend)
    assert backend.stats()["in_use"] == 0


# -- cancellation ---------------------------------------------------------------------------


async def test_cancelled_sleep_returns_promptly_and_leaves_no_orphan() -> None:
    backend = await open_backend(max_connections=1)
    try:
        started = asyncio.Event()
        thread_id = 0

        async def sleeper() -> None:
            nonlocal thread_id
            async with backend.connection() as c:
                thread_id = c.thread_id
                started.set()
                await c.fetch("SELECT SLEEP(10)", [])

        task = asyncio.create_task(sleeper())
        await started.wait()
        await asyncio.sleep(0.2)
        assert (await asyncio.to_thread(running, thread_id) or "").startswith("SELECT SLEEP")
        loop = asyncio.get_running_loop()
        start = loop.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert loop.time() - start < 0.25
        # the only connection is held until its thread has returned, and then it is
        # clean: this statement runs to its end, nothing kills it
        async with backend.connection() as c:
            rows = await c.fetch("SELECT SLEEP(0.2), CONNECTION_ID()", [])
        assert rows == [(0, thread_id)]
        assert loop.time() - start < 2
        assert await asyncio.to_thread(running, thread_id) == ""
    finally:
        await backend.close()


async def test_cancel_inside_a_transaction_rolls_it_back(backend: MySQLBackend, table: str) -> None:
    thread_id = 0

    async def work() -> None:
        nonlocal thread_id
        async with backend.connection() as c, c.atomic_block():
            thread_id = c.thread_id
            await c.execute(f"INSERT INTO {OXR}item (code) VALUES (1)", [])
            await c.fetch("SELECT SLEEP(10)", [])

    task = asyncio.create_task(work())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 3)
    await settle(backend)
    assert await count(backend) == 0
    # the connection came back to the pool idle, not inside a transaction
    seen = set()
    for _ in range(backend.stats()["size"]):
        async with backend.connection() as c:
            seen.add(c.thread_id)
            if c.thread_id == thread_id:
                assert not c.in_transaction
                if "mariadb" in backend.server_info.lower():
                    assert await c.fetch("SELECT @@in_transaction", []) == [(0,)]
    assert thread_id in seen


async def test_a_cancelled_statement_aborts_the_transaction(
    backend: MySQLBackend, table: str
) -> None:
    async with backend.connection() as c:
        await c.begin()
        await c.execute(f"INSERT INTO {OXR}item (code) VALUES (1)", [])
        call = asyncio.ensure_future(c.fetch("SELECT SLEEP(10)", []))
        await asyncio.sleep(0.2)
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        # work cannot go on as if nothing happened, and COMMIT refuses
        with pytest.raises(OperationalError, match="cancelled"):
            await c.execute(f"INSERT INTO {OXR}item (code) VALUES (2)", [])
        with pytest.raises(OperationalError, match="rolled back"):
            await c.commit()
        assert not c.in_transaction
    assert await count(backend) == 0


async def test_close_with_a_cancelled_call_in_flight() -> None:
    backend = await open_backend(max_connections=2)
    async with backend.connection() as c:
        thread_id = c.thread_id
    task = asyncio.create_task(_sleep_on(backend, 10))
    await asyncio.sleep(0.2)
    task.cancel()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await backend.close()
    assert loop.time() - start < 3
    assert backend.stats()["size"] == 0
    await asyncio.sleep(0.1)
    assert await asyncio.to_thread(sessions, {thread_id}) == set()


async def _sleep_on(backend: MySQLBackend, seconds: float) -> None:
    async with backend.connection() as c:
        await c.fetch("SELECT SLEEP(%s)", [seconds])


async def test_cancelled_stream_discards_its_connection(backend: MySQLBackend) -> None:
    big = (
        "WITH RECURSIVE d (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 9) "
        "SELECT a.n, SLEEP(0.001) FROM d a, d b, d c"
    )
    thread_id = 0

    async def consume() -> None:
        nonlocal thread_id
        async with backend.connection() as c:
            thread_id = c.thread_id
            async for _ in c.stream(big, [], chunk_size=50):
                pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 3)
    await settle(backend)
    assert backend.stats()["in_use"] == 0
    async with backend.connection() as c:
        assert await c.fetch("SELECT 1", []) == [(1,)]
    await asyncio.sleep(0.1)
    assert await asyncio.to_thread(sessions, {thread_id}) == set()


async def test_the_event_loop_never_waits_on_the_server(backend: MySQLBackend) -> None:
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not done:
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.gather(*(_sleep_on(backend, 0.4) for _ in range(3)))
    done = True
    await tick
    assert len(gaps) > 20
    # a blocked loop would show a gap of the full 0.4 s statement
    assert max(gaps) < 0.25


# -- bulk atomicity -------------------------------------------------------------------------


async def test_bulk_insert_with_a_duplicate_in_the_middle_writes_nothing(
    backend: MySQLBackend, table: str
) -> None:
    rows: list[list[Any]] = [[i, f"row {i}"] for i in range(10_000)]
    rows[7531] = [17, "duplicate of row 17"]
    sql = f"INSERT INTO {OXR}item (code, note) VALUES (%s, %s)"
    async with backend.connection() as c:
        with pytest.raises(UniqueViolationError):
            await c.execute_many(sql, rows)
        # and inside an outer transaction, only the batch is undone
        async with c.atomic_block():
            await c.execute(f"INSERT INTO {OXR}item (code) VALUES (-1)", [])
            with pytest.raises(UniqueViolationError):
                await c.execute_many(sql, rows)
    assert await count(backend) == 1


async def test_cancelled_bulk_insert_is_all_or_nothing(backend: MySQLBackend, table: str) -> None:
    rows = [[i, "x" * 30] for i in range(20_000)]
    for delay in (0.0, 0.01, 0.03):
        async with backend.connection() as c:
            await c.execute(f"DELETE FROM {OXR}item", [])
        task = asyncio.create_task(_bulk(backend, rows))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        await settle(backend)
        assert await count(backend) in (0, len(rows))


async def _bulk(backend: MySQLBackend, rows: list[list[Any]]) -> None:
    async with backend.connection() as c:
        await c.execute_many(f"INSERT INTO {OXR}item (code, note) VALUES (%s, %s)", rows)


# -- no leaks ---------------------------------------------------------------------------------


async def test_no_connection_leaks_through_errors_and_cancels(table: str) -> None:
    backend = await open_backend(max_connections=3, min_connections=1)
    seen: set[int] = set()
    rng = random.Random(7)

    async def one(i: int) -> None:
        async with backend.connection() as c:
            seen.add(c.thread_id)
            action = rng.randrange(5)
            if action == 0:
                raise RuntimeError("boom")
            if action == 1:
                async with c.atomic_block():
                    await c.execute(f"INSERT INTO {OXR}item (code) VALUES (%s)", [i])
                    raise RuntimeError("undo")
            if action == 2:
                async for _ in c.stream("SELECT 1 UNION ALL SELECT 2", [], chunk_size=1):
                    break
            if action == 3:
                await c.fetch("SELECT SLEEP(0.05)", [])
            await c.fetch("SELECT %s", [i])

    try:
        for start in range(0, 120, 12):
            tasks = [asyncio.create_task(one(i)) for i in range(start, start + 12)]
            await asyncio.sleep(0.01)
            for t in tasks[::4]:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await settle(backend)
        stats = backend.stats()
        assert stats["in_use"] == 0
        assert 1 <= stats["size"] <= 3
        assert len(await asyncio.to_thread(sessions, seen)) <= 3
        assert await count(backend) == 0
    finally:
        await backend.close()
    await asyncio.sleep(0.1)
    assert await asyncio.to_thread(sessions, seen) == set()


# -- through the model layer ----------------------------------------------------------------


@pytest.fixture
async def bulk_model() -> AsyncIterator[Any]:
    from oxyde import AsyncDatabase, Field, Model, create_tables, drop_tables
    from oxyde.models import unregister_table

    class OxrBulk(Model):
        id: int | None = Field(default=None, db_pk=True)
        code: int = Field(db_unique=True)

        class Meta:
            is_table = True
            table_name = f"{OXR}bulk"

    database = AsyncDatabase(URL, name=f"{OXR}bulk", overwrite=True)
    try:
        try:
            await database.connect()
        except OperationalError as exc:
            if is_required("mysql"):
                raise
            pytest.skip(f"no MySQL server at {URL}: {exc}")
        await drop_tables(database, models=[OxrBulk])
        await create_tables(database, models=[OxrBulk])
        yield OxrBulk
        await drop_tables(database, models=[OxrBulk])
    finally:
        await database.disconnect()
        unregister_table(OxrBulk)
        from oxyde.db.registry import unregister_connection

        with contextlib.suppress(KeyError):
            unregister_connection(f"{OXR}bulk")


async def test_bulk_create_of_10000_with_a_duplicate_writes_nothing(bulk_model: Any) -> None:
    objs = [bulk_model(code=i) for i in range(10_000)]
    objs[7531] = bulk_model(code=17)
    with pytest.raises(UniqueViolationError):
        await bulk_model.objects.bulk_create(objs, batch_size=500, using=f"{OXR}bulk")
    assert await bulk_model.objects.count(using=f"{OXR}bulk") == 0


async def test_bulk_create_keys_are_right_with_concurrent_writers(bulk_model: Any) -> None:
    async def writer(base: int) -> list[Any]:
        objs = [bulk_model(code=base + i) for i in range(1500)]
        created: list[Any] = await bulk_model.objects.bulk_create(
            objs, batch_size=250, using=f"{OXR}bulk"
        )
        return created

    batches = await asyncio.gather(*(writer(k * 100_000) for k in range(4)))
    stored = {
        row["code"]: row["id"]
        for row in await bulk_model.objects.values("id", "code").all(using=f"{OXR}bulk")
    }
    assert len(stored) == 6000
    for batch in batches:
        for obj in batch:
            assert obj.id == stored[obj.code]
