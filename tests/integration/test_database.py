"""AsyncDatabase and the SQLite backend through the Executor API: connecting, URLs,
PRAGMAs, readers and the writer, errors, cancellation, pool limits and streaming."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

import apsw
import pytest

from oxyde import db
from oxyde.backends.base import Executor
from oxyde.db import AsyncDatabase, PoolSettings, get_connection
from oxyde.db.registry import lookup
from oxyde.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityError,
    NotNullViolationError,
    OperationalError,
    ProgrammingError,
    UniqueViolationError,
)

sqlite_only = pytest.mark.parametrize("backend_name", ["sqlite"])

#: a query that runs for ever unless interrupted
ENDLESS = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c"
)


async def count(database: Executor, table: str = "t") -> int:
    rows = await database.fetch(f"SELECT count(*) FROM {table}", ())
    return int(rows[0][0])


async def make_table(database: Executor) -> None:
    await database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)", ())


# -- connecting and URLs --------------------------------------------------------------------


@sqlite_only
async def test_connect_query_disconnect(database_url: str) -> None:
    database = AsyncDatabase(database_url, name="plain", auto_register=False)
    assert not database.connected
    assert database.backend_name == "sqlite"
    await database.connect()
    assert database.connected
    assert await database.fetch("SELECT 1 + ?", (1,)) == [(2,)]
    await database.disconnect()
    assert not database.connected
    with pytest.raises(OperationalError, match="'plain' is not connected"):
        await database.fetch("SELECT 1", ())
    # It can be connected again.
    async with database:
        assert await database.fetch("SELECT 2", ()) == [(2,)]
    assert not database.connected


@sqlite_only
async def test_calls_on_a_database_never_connected(database_url: str) -> None:
    database = AsyncDatabase(database_url, name="idle", auto_register=False)
    for call in (
        database.fetch("SELECT 1", ()),
        database.execute("SELECT 1", ()),
        database.execute_many("SELECT ?", [(1,)]),
    ):
        with pytest.raises(OperationalError, match="'idle' is not connected"):
            await call
    with pytest.raises(OperationalError, match="not connected"):
        async with database.atomic_block():
            pass


@pytest.mark.sqlite
async def test_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with db.connect("sqlite://sub.db") as database:
        await make_table(database)
    assert (tmp_path / "sub.db").exists()


@pytest.mark.sqlite
async def test_missing_directory_fails_clearly(tmp_path: Path) -> None:
    database = AsyncDatabase(
        f"sqlite://{tmp_path}/no/such/dir/x.db", name="bad", auto_register=False
    )
    with pytest.raises(OperationalError, match="cannot open SQLite database") as caught:
        await database.connect()
    assert not database.connected
    assert f"the directory '{tmp_path}/no/such/dir' does not exist" in str(caught.value)


@pytest.mark.sqlite
async def test_relative_missing_directory_names_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = AsyncDatabase("sqlite://gone/x.db", name="bad", auto_register=False)
    with pytest.raises(OperationalError) as caught:
        await database.connect()
    assert f"'{tmp_path}/gone/x.db'" in str(caught.value)
    assert f"the directory '{tmp_path}/gone' does not exist" in str(caught.value)


@pytest.mark.sqlite
@pytest.mark.parametrize("url", ["sqlite::memory:", "sqlite:///:memory:", "sqlite://:memory:"])
async def test_memory_database_is_one_shared_connection(url: str) -> None:
    async with db.connect(url, settings=PoolSettings(max_connections=5)) as database:
        await make_table(database)
        await database.execute("INSERT INTO t (v) VALUES ('a')", ())
        # Reads see the same database (a second connection would see an empty one).
        results = await asyncio.gather(*(count(database) for _ in range(5)))
        assert results == [1] * 5
        assert database.stats()["size"] == 1


@pytest.mark.sqlite
async def test_url_options_are_pragmas(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/o.db?temp_store=memory&busy_timeout=250&cache_size=-4000"
    async with db.connect(url) as database:
        assert await database.fetch("PRAGMA temp_store", ()) == [(2,)]
        assert await database.fetch("PRAGMA cache_size", ()) == [(-4000,)]


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("query", "match"),
    [("nonsense=1", "unknown SQLite URL option 'nonsense'"), ("temp_store=lots", "temp_store")],
)
async def test_bad_url_options_are_rejected(tmp_path: Path, query: str, match: str) -> None:
    database = AsyncDatabase(f"sqlite://{tmp_path}/o.db?{query}", auto_register=False)
    with pytest.raises(ValueError, match=match):
        await database.connect()


def test_invalid_scheme_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="valid schemes"):
        AsyncDatabase("oracle://x/y", name="nope")
    with pytest.raises(KeyError):
        lookup("nope")


def test_settings_must_be_pool_settings() -> None:
    with pytest.raises(TypeError, match="PoolSettings"):
        AsyncDatabase("sqlite:///:memory:", settings={"max_connections": 1}, auto_register=False)  # type: ignore[arg-type]


def test_invalid_pool_settings_fail_before_anything_opens() -> None:
    with pytest.raises(ValueError, match="min_connections"):
        PoolSettings(max_connections=2, min_connections=3)


# -- the registry and the module-level lifecycle --------------------------------------------


@sqlite_only
async def test_registry_names(database_url: str) -> None:
    first = AsyncDatabase(database_url, name="reg")
    try:
        with pytest.raises(ValueError, match="'reg' is already registered"):
            AsyncDatabase(database_url, name="reg")
        assert lookup("reg") is first
        second = AsyncDatabase(database_url, name="reg", overwrite=True)
        assert lookup("reg") is second
        connected = await get_connection("reg")
        assert connected is second and second.connected
        await second.disconnect()
    finally:
        db.unregister_connection("reg")
    with pytest.raises(KeyError, match="no database 'reg'") as info:
        await get_connection("reg")
    assert "db.init(reg=URL)" in str(info.value)
    # The same error is an OperationalError for the query layer.
    assert isinstance(info.value, OperationalError)


@pytest.mark.sqlite
async def test_init_and_close(tmp_path: Path) -> None:
    await db.init(default=f"sqlite://{tmp_path}/a.db", other=f"sqlite://{tmp_path}/b.db")
    try:
        default, other = lookup("default"), lookup("other")
        assert default.connected and other.connected
        await make_table(default)
        await other.execute("CREATE TABLE u (x)", ())
        assert await count(default) == 0
    finally:
        await db.close()
    assert not default.connected and not other.connected
    with pytest.raises(KeyError):
        lookup("default")


@pytest.mark.sqlite
async def test_init_closes_what_it_opened_when_one_fails(tmp_path: Path) -> None:
    with pytest.raises(OperationalError):
        await db.init(good=f"sqlite://{tmp_path}/a.db", bad=f"sqlite://{tmp_path}/x/y/z.db")
    with pytest.raises(KeyError):
        lookup("good")
    with pytest.raises(ValueError, match="at least one"):
        await db.init()


@pytest.mark.sqlite
async def test_lifespan_nests_in_an_application_lifespan(tmp_path: Path) -> None:
    outer = AsyncDatabase(f"sqlite://{tmp_path}/outer.db", name="outer")
    await outer.connect()
    try:
        lifespan = db.lifespan(default=f"sqlite://{tmp_path}/app.db")
        app = object()
        async with lifespan(app):
            assert (await get_connection("default")).connected
        # It closed what it opened, and only that.
        with pytest.raises(KeyError):
            lookup("default")
        assert outer.connected
    finally:
        await outer.disconnect()
        db.unregister_connection("outer")


# -- PRAGMAs and connection set-up ----------------------------------------------------------


@sqlite_only
async def test_pragmas_on_writer_and_readers(make_database: Any) -> None:
    settings = PoolSettings(sqlite_synchronous="FULL", sqlite_cache_size=-2000, min_connections=2)
    database = await make_database(settings)
    expected = {
        "journal_mode": [("wal",)],
        "synchronous": [(2,)],
        "cache_size": [(-2000,)],
        "foreign_keys": [(1,)],
    }
    for write in (True, False):
        async with database.connection(write=write) as conn:
            assert conn.role == ("writer" if write else "reader")
            for pragma, value in expected.items():
                assert await conn.fetch(f"PRAGMA {pragma}", ()) == value, pragma


@sqlite_only
async def test_double_quoted_strings_are_identifiers_only(database: Any) -> None:
    await make_table(database)
    with pytest.raises(ProgrammingError, match="no such column"):
        await database.fetch('SELECT "no_such_column" FROM t', ())


@sqlite_only
async def test_regexp_function(database: Any) -> None:
    rows = await database.fetch(
        "SELECT 'oxyde' REGEXP ?, 'oxyde' REGEXP ?, NULL REGEXP 'x', 42 REGEXP '^4'",
        ("^ox", "z$"),
    )
    assert rows == [(1, 0, None, 1)]


@sqlite_only
async def test_fetch_described_names_columns_of_an_empty_result(database: Any) -> None:
    await make_table(database)
    names, rows = await database.fetch_described("SELECT id AS key, v FROM t WHERE id > ?", (5,))
    assert (names, rows) == (["key", "v"], [])


@sqlite_only
async def test_execute_returns_changed_rows(database: Any) -> None:
    await make_table(database)
    assert await database.execute_many("INSERT INTO t (v) VALUES (?)", [("a",), ("b",)]) == 2
    assert await database.execute("UPDATE t SET v = v || '!'", ()) == 2
    # DDL changes no rows, whatever the last DML statement did.
    assert await database.execute("CREATE INDEX t_v ON t (v)", ()) == 0
    assert await database.execute("DELETE FROM t WHERE id = ?", (999,)) == 0
    rows = await database.fetch("INSERT INTO t (v) VALUES ('c') RETURNING id", (), write=True)
    assert rows == [(3,)]


# -- readers, the writer --------------------------------------------------------------------


@sqlite_only
async def test_a_slow_read_does_not_hold_up_other_reads(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=3))
    slow = asyncio.create_task(database.fetch(ENDLESS, ()))
    await asyncio.sleep(0.05)
    # Another reader answers while the first one is still counting.
    assert await asyncio.wait_for(database.fetch("SELECT 1", ()), 5) == [(1,)]
    assert not slow.done()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow


@sqlite_only
async def test_two_slow_reads_overlap(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=3))
    endless = asyncio.create_task(database.fetch(ENDLESS, ()))
    await asyncio.sleep(0.05)
    # A second slow read runs from start to end while the first one is still running.
    slow = ENDLESS.replace("1000000000", "1000000")
    assert await asyncio.wait_for(database.fetch(slow, ()), 30) == [(1000000,)]
    assert not endless.done()
    assert database.stats()["in_use"] == 1
    endless.cancel()
    with pytest.raises(asyncio.CancelledError):
        await endless


@sqlite_only
async def test_reads_wait_for_the_only_connection(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=1))
    endless = asyncio.create_task(database.fetch(ENDLESS, ()))
    await asyncio.sleep(0.05)
    quick = asyncio.create_task(database.fetch("SELECT 1", ()))
    await asyncio.sleep(0.1)
    assert not quick.done()  # the writer is busy and there is no reader
    endless.cancel()
    assert await quick == [(1,)]


@sqlite_only
async def test_writes_are_serialised_on_the_writer(database: Any) -> None:
    await make_table(database)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def hold_the_writer() -> None:
        async with db.atomic():
            await database.execute("INSERT INTO t (v) VALUES ('first')", ())
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_writer())
    await entered.wait()
    second = asyncio.create_task(database.execute("INSERT INTO t (v) VALUES ('second')", ()))
    await asyncio.sleep(0.1)
    assert not second.done()  # waiting for the writer, not failing with SQLITE_BUSY
    release.set()
    await holder
    assert await second == 1
    rows = await database.fetch("SELECT v FROM t ORDER BY id", ())
    assert rows == [("first",), ("second",)]


@sqlite_only
async def test_min_connections_readers_are_opened_at_connect(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=5, min_connections=3))
    stats = database.stats()
    assert (stats["size"], stats["idle"], stats["in_use"], stats["waiting"]) == (4, 4, 0, 0)
    assert stats["connections_lost"] == 0
    single = await make_database(PoolSettings(max_connections=1), name="single")
    assert single.stats()["size"] == 1


# -- errors ---------------------------------------------------------------------------------


@sqlite_only
async def test_constraint_errors_are_mapped(database: Any) -> None:
    await database.execute(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
        "age INTEGER CHECK (age >= 0))",
        (),
    )
    await database.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))",
        (),
    )
    await database.execute("INSERT INTO parent (id, name) VALUES (1, 'a')", ())
    cases: list[tuple[str, type[IntegrityError], int]] = [
        ("INSERT INTO parent (name) VALUES ('a')", UniqueViolationError, 2067),
        ("INSERT INTO parent (id, name) VALUES (1, 'b')", UniqueViolationError, 1555),
        ("INSERT INTO parent (name) VALUES (NULL)", NotNullViolationError, 1299),
        ("INSERT INTO parent (name, age) VALUES ('c', -1)", CheckViolationError, 275),
        ("INSERT INTO child (parent_id) VALUES (99)", ForeignKeyViolationError, 787),
    ]
    for sql, error, code in cases:
        with pytest.raises(error) as info:
            await database.execute(sql, ())
        assert info.value.code == code
        assert isinstance(info.value.__cause__, apsw.ConstraintError)
    assert await count(database, "parent") == 1
    assert await count(database, "child") == 0


@sqlite_only
async def test_sql_errors_are_programming_errors(database: Any) -> None:
    with pytest.raises(ProgrammingError, match="no such table") as info:
        await database.fetch("SELECT * FROM missing", ())
    assert info.value.code == 1
    with pytest.raises(ProgrammingError, match="syntax error"):
        await database.execute("SELEC 1", ())
    with pytest.raises(ProgrammingError):
        await database.fetch("SELECT ?", (1, 2))


@sqlite_only
async def test_execute_many_is_all_or_nothing(database: Any) -> None:
    await make_table(database)
    rows = [(f"v{i}",) for i in range(100)]
    rows[70] = ("v3",)
    with pytest.raises(UniqueViolationError):
        await database.execute_many("INSERT INTO t (v) VALUES (?)", rows)
    assert await count(database) == 0
    # Inside a transaction it is a savepoint: the batch goes, the transaction stays.
    async with db.atomic() as tx:
        await tx.execute("INSERT INTO t (v) VALUES ('kept')", ())
        with pytest.raises(UniqueViolationError):
            await tx.execute_many("INSERT INTO t (v) VALUES (?)", rows)
        assert await count(tx) == 1
    assert await database.fetch("SELECT v FROM t", ()) == [("kept",)]


# -- cancellation ---------------------------------------------------------------------------


@sqlite_only
async def test_cancelled_query_stops_and_the_connection_is_reused(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=1))
    async with database.connection() as conn:
        task = asyncio.create_task(conn.fetch(ENDLESS, ()))
        await asyncio.sleep(0.1)
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - start < 0.1
        assert await conn.fetch("SELECT 1", ()) == [(1,)]
    # Through the database too: the single connection comes back and works.
    task = asyncio.create_task(database.fetch(ENDLESS, ()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await database.fetch("SELECT 1", ()) == [(1,)]
    stats = database.stats()
    assert (stats["size"], stats["idle"], stats["in_use"], stats["waiting"]) == (1, 1, 0, 0)
    assert stats["connections_lost"] == 0


@sqlite_only
async def test_cancel_while_waiting_for_the_writer(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=2))
    await make_table(database)
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.atomic():
            await database.execute("INSERT INTO t (v) VALUES ('x')", ())
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await entered.wait()
    waiter = asyncio.create_task(database.execute("INSERT INTO t (v) VALUES ('y')", ()))
    await asyncio.sleep(0.05)
    assert database.stats()["waiting"] == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert database.stats()["waiting"] == 0
    release.set()
    await holder
    assert await database.fetch("SELECT v FROM t", ()) == [("x",)]


@sqlite_only
async def test_cancel_while_sqlite_waits_for_a_lock(make_database: Any, database_url: str) -> None:
    database = await make_database(PoolSettings(sqlite_busy_timeout=30_000))
    await make_table(database)
    # Another connection (as another process would) holds the write lock.
    other = apsw.Connection(database_url.removeprefix("sqlite://"))
    other.execute("BEGIN IMMEDIATE")
    try:
        task = asyncio.create_task(database.execute("INSERT INTO t (v) VALUES ('x')", ()))
        await asyncio.sleep(0.1)
        assert not task.done()
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - start < 0.1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await database.execute("INSERT INTO t (v) VALUES ('y')", ()) == 1


@sqlite_only
async def test_busy_timeout_bounds_the_wait_for_a_lock(
    make_database: Any, database_url: str
) -> None:
    database = await make_database(PoolSettings(sqlite_busy_timeout=200))
    await make_table(database)
    other = apsw.Connection(database_url.removeprefix("sqlite://"))
    other.execute("BEGIN IMMEDIATE")
    try:
        start = time.perf_counter()
        with pytest.raises(OperationalError) as info:
            await database.execute("INSERT INTO t (v) VALUES ('x')", ())
        elapsed = time.perf_counter() - start
        assert info.value.code == apsw.SQLITE_BUSY
        assert 0.15 < elapsed < 2
    finally:
        other.execute("ROLLBACK")
        other.close()


@sqlite_only
async def test_many_cancelled_calls_leak_no_connection(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=4, min_connections=1))
    await make_table(database)
    baseline = database.stats()

    async def work(i: int) -> None:
        kind = i % 4
        if kind == 0:
            await database.fetch(ENDLESS, ())
        elif kind == 1:
            await database.execute_many(
                "INSERT INTO t (v) VALUES (?)", [(f"{i}-{j}",) for j in range(2000)]
            )
        elif kind == 2:
            async with db.atomic():
                await database.execute("INSERT INTO t (v) VALUES (?)", (f"a{i}",))
                await database.fetch(ENDLESS, ())
        else:
            async with aclosing(database.stream(ENDLESS, (), chunk_size=1)) as chunks:
                async for _ in chunks:
                    await asyncio.sleep(1)

    tasks = [asyncio.create_task(work(i)) for i in range(40)]
    for i, task in enumerate(tasks):
        await asyncio.sleep(0.002 * (i % 5))
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    # Cancelled, or (a quick batch) finished before the cancel landed.
    assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results), results
    stats = database.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0
    assert stats["size"] <= 4 and stats["size"] >= baseline["size"]
    # Nothing a cancelled transaction wrote survived; the pool still works.
    rows = await database.fetch("SELECT count(*) FROM t WHERE v LIKE 'a%'", ())
    assert rows == [(0,)]
    assert await asyncio.gather(*(count(database) for _ in range(8)))


# -- pool limits ----------------------------------------------------------------------------


@sqlite_only
async def test_acquire_timeout_names_the_database(make_database: Any) -> None:
    database = await make_database(
        PoolSettings(max_connections=1, acquire_timeout=0.2), name="tiny"
    )
    async with database.connection():
        start = time.perf_counter()
        with pytest.raises(OperationalError, match=r"0\.2s .* database 'tiny'"):
            await database.fetch("SELECT 1", ())
        assert 0.15 < time.perf_counter() - start < 2
    assert await database.fetch("SELECT 1", ()) == [(1,)]


@sqlite_only
@pytest.mark.parametrize("test_before_acquire", [True, False])
async def test_test_before_acquire_replaces_a_dead_connection(
    make_database: Any, test_before_acquire: bool
) -> None:
    database = await make_database(
        PoolSettings(max_connections=2, test_before_acquire=test_before_acquire)
    )
    async with database.connection(write=False) as conn:
        dead_id = conn.id
        # Break it underneath the pool, as a failure outside oxyde would.
        await conn._run(conn._conn().close)
    if test_before_acquire:
        assert await database.fetch("SELECT 1", ()) == [(1,)]
        async with database.connection(write=False) as conn:
            assert conn.id != dead_id
    else:
        with pytest.raises(OperationalError):
            await database.fetch("SELECT 1", ())


@sqlite_only
async def test_idle_and_old_readers_are_replaced(make_database: Any) -> None:
    database = await make_database(
        PoolSettings(max_connections=3, min_connections=0, idle_timeout=0.05)
    )
    async with database.connection(write=False) as conn:
        first = conn.id
    async with database.connection(write=False) as conn:
        assert conn.id == first  # still fresh
    await asyncio.sleep(0.1)
    async with database.connection(write=False) as conn:
        assert conn.id != first
    assert database.stats()["size"] == 2  # the writer and one reader

    old = await make_database(
        PoolSettings(max_connections=3, min_connections=0, max_lifetime=0.05), name="old"
    )
    async with old.connection(write=False) as conn:
        first = conn.id
        await asyncio.sleep(0.1)
    async with old.connection(write=False) as conn:
        assert conn.id != first


# -- streaming ------------------------------------------------------------------------------


@sqlite_only
async def test_stream_in_chunks(database: Any) -> None:
    await make_table(database)
    await database.execute_many("INSERT INTO t (v) VALUES (?)", [(f"{i:04}",) for i in range(25)])
    chunks = [c async for c in database.stream("SELECT v FROM t ORDER BY v", (), chunk_size=10)]
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [r[0] for c in chunks for r in c] == [f"{i:04}" for i in range(25)]


@sqlite_only
async def test_stream_early_exit_returns_the_connection_clean(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=2))
    await make_table(database)
    await database.execute_many("INSERT INTO t (v) VALUES (?)", [(str(i),) for i in range(500)])
    async with aclosing(database.stream("SELECT v FROM t", (), chunk_size=10)) as chunks:
        async for chunk in chunks:
            assert len(chunk) == 10
            assert database.stats()["in_use"] == 1
            break
    assert database.stats()["in_use"] == 0
    # The reader holds no snapshot any more: a full checkpoint is not blocked.
    await database.execute("INSERT INTO t (v) VALUES ('new')", ())
    rows = await database.fetch("PRAGMA wal_checkpoint(TRUNCATE)", (), write=True)
    assert rows[0][0] == 0  # not busy
    # The same reader connection streams again from the start.
    first = await anext(aiter(database.stream("SELECT count(*) FROM t", (), chunk_size=5)))
    assert first == [(501,)]


@sqlite_only
async def test_abandoned_stream_is_finalised(make_database: Any) -> None:
    database = await make_database(PoolSettings(max_connections=2))
    await make_table(database)
    await database.execute_many("INSERT INTO t (v) VALUES (?)", [(str(i),) for i in range(50)])
    async for _ in database.stream("SELECT v FROM t", (), chunk_size=5):
        break  # no aclosing(): the event loop's async-generator hook closes it
    for _ in range(20):
        if database.stats()["in_use"] == 0:
            break
        await asyncio.sleep(0.01)
    assert database.stats()["in_use"] == 0


@sqlite_only
async def test_cancelled_stream_returns_the_connection(database: Any) -> None:
    async def consume() -> None:
        async for _ in database.stream(ENDLESS, (), chunk_size=1):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert database.stats()["in_use"] == 0
    assert await database.fetch("SELECT 1", ()) == [(1,)]


# -- the event loop -------------------------------------------------------------------------


@sqlite_only
async def test_event_loop_stays_responsive_during_a_long_query(database: Any) -> None:
    lags: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    beat = asyncio.create_task(heartbeat())
    await database.fetch(ENDLESS.replace("1000000000", "3000000"), ())
    stop.set()
    await beat
    assert len(lags) > 5
    if os.environ.get("OXYDE_TIMING"):  # a wall-clock bound: see the timing marker
        assert max(lags) < 0.05, max(lags)


# -- logging --------------------------------------------------------------------------------


@sqlite_only
async def test_statements_are_logged_with_their_time(
    make_database: Any, caplog: pytest.LogCaptureFixture
) -> None:
    database = await make_database(PoolSettings(slow_query_threshold=0))
    with caplog.at_level(logging.DEBUG, logger="oxyde.sql"):
        await database.fetch("SELECT length(?)", ("a-secret-value",))
    debug = [r for r in caplog.records if r.name == "oxyde.sql"]
    slow = [r for r in caplog.records if r.name == "oxyde.sql.slow"]
    assert any("SELECT length(?)" in r.getMessage() and " ms" in r.getMessage() for r in debug)
    assert slow and slow[0].levelno == logging.WARNING
    assert "[1 params]" in debug[0].getMessage()
    # parameter values are not logged (a text no timing can contain, unlike a number)
    assert "a-secret-value" not in debug[0].getMessage()
    assert "a-secret-value" not in slow[0].getMessage()


@sqlite_only
async def test_nothing_is_logged_by_default(
    database: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="oxyde"):
        await database.fetch("SELECT 1", ())
    assert not [r for r in caplog.records if r.name.startswith("oxyde.sql")]


# -- every backend --------------------------------------------------------------------------


async def test_database_is_an_executor(database: Any) -> None:
    assert isinstance(database, Executor)
    assert database.dialect.name == database.backend_name
    assert await database.fetch("SELECT 1", ()) == [(1,)]
