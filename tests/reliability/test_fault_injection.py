"""A fault at every await point of the common operations, on every backend.

Each call oxyde makes on a pooled connection (statements, BEGIN/COMMIT/ROLLBACK,
savepoints, COPY, each chunk of a stream) is an await point. A wrapper around the
connections counts them and, at the k-th, injects one fault: the task is cancelled
(the cancellation lands inside the real call), the server ends the session (a real
disconnect: ``pg_terminate_backend`` / ``KILL``), or the call fails with a driver error.
For k = 1, 2, ... until the operation completes without reaching k, over ``create``,
``atomic()`` with three writes, ``bulk_create`` of 1000, ``get_or_create``,
``update_or_create`` and ``iterator()`` + ``break``, it checks afterwards: every
connection is back in the pool (idle, or discarded), no session is left idle in a
transaction, nothing is half-written, an operation that returned wrote everything, and
the next operation works. The database behind the wrapper is real.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from oxyde import Field, Model, PoolSettings, atomic
from oxyde.db import create_tables, drop_tables
from oxyde.exceptions import OperationalError, OxydeError

pytestmark = [pytest.mark.timeout(300)]

#: the connection methods through which every await on a connection goes
METHODS = (
    "fetch",
    "fetch_described",
    "execute",
    "execute_many",
    "copy_insert",
    "begin",
    "commit",
    "rollback",
    "savepoint",
    "release_savepoint",
    "rollback_to_savepoint",
)
#: the backend methods that run a statement outside a transaction (their own await point)
BACKEND_METHODS = ("fetch", "fetch_described", "execute", "execute_many")
BACKEND_CLASSES = {
    "postgres": ("oxyde.backends.postgres.pool", "PostgresBackend"),
    "mysql": ("oxyde.backends.mysql.pool", "MySQLBackend"),
    "sqlite": ("oxyde.backends.sqlite.backend", "SQLiteBackend"),
}
CONNECTION_CLASSES = {
    "postgres": ("oxyde.backends.postgres.connection", "PostgresConnection"),
    "mysql": ("oxyde.backends.mysql.connection", "MySQLConnection"),
    "sqlite": ("oxyde.backends.sqlite.connection", "SQLiteConnection"),
}
#: an operation reaching none of its first this many await points is a test bug
MAX_AWAITS = 80


class FiItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    code: int = Field(db_unique=True)
    n: int = 0

    class Meta:
        is_table = True
        table_name = "fi_item"


class Injector:
    """Counts the await points and injects the fault at the k-th."""

    def __init__(self, backend: str, admin: Any, level: str) -> None:
        self.backend = backend
        #: "connection": oxyde's calls on a connection; "driver": the driver's own awaits
        self.level = level
        self.admin = admin
        self.fault = ""
        self.at = 0
        self.count = 0
        self.hit = False
        #: the task running the operation: the one a "cancel" fault cancels
        self.victim: asyncio.Task[Any] | None = None

    def arm(self, fault: str, at: int, victim: asyncio.Task[Any]) -> None:
        self.fault, self.at, self.count, self.hit = fault, at, 0, False
        self.victim = victim

    def disarm(self) -> None:
        self.at = 0

    async def point(self, conn: Any, where: str = "driver") -> None:
        """An await point of ``conn`` (None: which session is not known here: a
        disconnect then ends every session of the pool on PostgreSQL, and is not
        injected on MySQL); ``where``: "backend" for the backends' own statement
        methods, whose errors come out already mapped."""
        if not self.at:
            return
        if conn is None and self.fault == "disconnect" and self.backend != "postgres":
            return
        self.count += 1
        if self.count != self.at:
            return
        self.hit = True
        if self.fault == "cancel":
            # The operation's task, delivered at its next suspension: inside the real
            # call (or wherever that task waits for it, as for a shielded COMMIT).
            assert self.victim is not None
            self.victim.cancel()
        elif self.fault == "error":
            raise self.error(where)
        else:
            self.disconnect(conn)

    def error(self, where: str) -> BaseException:
        """A driver error: psycopg's own at PostgreSQL's driver level (its callers map
        it); elsewhere as oxyde maps it (MySQL's and SQLite's jobs map inside)."""
        if self.level == "driver" and self.backend == "postgres" and where == "driver":
            import psycopg

            return psycopg.OperationalError("injected: server closed the connection")
        return OperationalError("injected driver error", code="08006")

    def disconnect(self, conn: Any) -> None:
        if self.backend == "postgres" and conn is None:
            self.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'oxyde-fi'"
            )
            time.sleep(0.02)
        elif self.backend == "postgres":
            pid = getattr(conn, "raw", conn).info.backend_pid
            self.admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                cur = self.admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                if cur.fetchone() is None:
                    return
                time.sleep(0.005)
        else:
            cur = self.admin.cursor()
            cur.execute(f"KILL {int(conn.thread_id)}")
            cur.close()


def _admin(backend: str, url: str) -> Any:
    if backend == "postgres":
        import psycopg

        return psycopg.connect(url, autocommit=True)
    if backend == "mysql":
        import MySQLdb

        from oxyde.backends.url import parse_url

        parsed = parse_url(url)
        given = {
            "user": parsed.username,
            "password": parsed.password,
            "port": parsed.port,
            "database": parsed.database,
        }
        params: dict[str, Any] = {"host": parsed.host or "localhost", "autocommit": True}
        params.update((key, value) for key, value in given.items() if value)
        return MySQLdb.connect(**params)
    return None


@pytest.fixture(params=["connection", "driver"])
async def harness(
    request: pytest.FixtureRequest,
    backend_name: str,
    database_url: str,
    make_database: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Any, Injector]]:
    level = request.param
    url = database_url
    if backend_name == "postgres" and level == "connection":
        # Every statement on a lent connection (the batcher's pipes are another path).
        url += ("&" if "?" in url else "?") + "batching=off"
    database = await make_database(
        PoolSettings(max_connections=2, acquire_timeout=10, pg_application_name="oxyde-fi"),
        url=url,
    )
    await drop_tables(database, models=[FiItem])
    await create_tables(database, models=[FiItem])
    admin = _admin(backend_name, database_url)
    injector = Injector(backend_name, admin, level)
    if level == "connection":
        module_name, class_name = CONNECTION_CLASSES[backend_name]
        cls = getattr(importlib.import_module(module_name), class_name)
        for name in METHODS:
            original = getattr(cls, name, None)
            if original is not None:
                monkeypatch.setattr(cls, name, _wrapped(original, injector))
        monkeypatch.setattr(cls, "stream", _wrapped_stream(cls.stream, injector))
    else:
        _wrap_driver(backend_name, injector, monkeypatch)
    module_name, class_name = BACKEND_CLASSES[backend_name]
    backend_cls = getattr(importlib.import_module(module_name), class_name)
    for name in BACKEND_METHODS:
        original = getattr(backend_cls, name, None)
        if original is not None:
            monkeypatch.setattr(backend_cls, name, _wrapped(original, injector, level="backend"))
    try:
        yield database, injector
    finally:
        injector.disarm()
        monkeypatch.undo()
        await drop_tables(database, models=[FiItem])
        if admin is not None:
            admin.close()


def _wrap_driver(backend: str, injector: Injector, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap the driver-level awaits: psycopg's ``wait`` (every psycopg operation) and
    the libpq fast path's socket waits; MySQL's and SQLite's worker-thread jobs."""
    if backend == "postgres":
        from oxyde.backends.postgres import direct
        from oxyde.backends.postgres.pool import _PooledConnection

        wait = _PooledConnection.wait

        async def psycopg_wait(self: Any, gen: Any, *args: Any, **kwargs: Any) -> Any:
            await injector.point(self)
            return await wait(self, gen, *args, **kwargs)

        ready = direct._ready

        async def socket_wait(*args: Any, **kwargs: Any) -> None:
            await injector.point(None)
            await ready(*args, **kwargs)

        monkeypatch.setattr(_PooledConnection, "wait", psycopg_wait)
        monkeypatch.setattr(direct, "_ready", socket_wait)
    elif backend == "mysql":
        from oxyde.backends.mysql.connection import MySQLConnection

        job = MySQLConnection._job

        async def mysql_job(self: Any, fn: Any, *args: Any) -> Any:
            try:
                await injector.point(self)
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError):
                    raise
                error = exc

                def fail(*_: Any) -> Any:
                    raise error

                return await job(self, fail, *args)
            return await job(self, fn, *args)

        monkeypatch.setattr(MySQLConnection, "_job", mysql_job)
    else:
        from oxyde.backends.sqlite.connection import SQLiteConnection

        run = SQLiteConnection._run

        async def sqlite_run(self: Any, fn: Any) -> Any:
            try:
                await injector.point(self)
            except Exception as exc:
                error = exc

                def fail() -> Any:
                    raise error

                return await run(self, fail)
            return await run(self, fn)

        monkeypatch.setattr(SQLiteConnection, "_run", sqlite_run)


def _wrapped(
    original: Callable[..., Awaitable[Any]], injector: Injector, level: str = "connection"
) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if level == "connection":
            await injector.point(self)
        else:
            await injector.point(None, "backend")
        return await original(self, *args, **kwargs)

    return method


def _wrapped_stream(original: Callable[..., Any], injector: Injector) -> Any:
    def stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        chunks = original(self, *args, **kwargs)

        async def wrapped() -> AsyncIterator[Any]:
            try:
                while True:
                    await injector.point(self)
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        return
                    yield chunk
            finally:
                await chunks.aclose()

        return wrapped()

    return stream


# -- the operations: each writes rows of its codes all or nothing --------------------------


# Each appends to ``done`` the moment the operation has returned: a cancellation delivered
# after that (the commit point) still ends the task as cancelled.


async def op_create(codes: list[int], done: list[bool]) -> None:
    await FiItem.objects.create(code=codes[0], n=1)
    done.append(True)


async def op_atomic3(codes: list[int], done: list[bool]) -> None:
    async with atomic():
        for code in codes[:3]:
            await FiItem.objects.create(code=code, n=1)
    done.append(True)


async def op_bulk1000(codes: list[int], done: list[bool]) -> None:
    await FiItem.objects.bulk_create([FiItem(code=code, n=1) for code in codes])
    done.append(True)


async def op_get_or_create(codes: list[int], done: list[bool]) -> None:
    await FiItem.objects.get_or_create(code=codes[0], defaults={"n": 1})
    done.append(True)


async def op_update_or_create(codes: list[int], done: list[bool]) -> None:
    await FiItem.objects.update_or_create(code=codes[0], defaults={"n": 1})
    done.append(True)


async def op_iterator_break(codes: list[int], done: list[bool]) -> None:
    seen = 0
    async for _ in FiItem.objects.order_by("id").iterator(chunk_size=2):
        seen += 1
        if seen == 3:
            break
    done.append(True)


OPS: dict[str, tuple[Callable[[list[int], list[bool]], Awaitable[None]], int]] = {
    "create": (op_create, 1),
    "atomic3": (op_atomic3, 3),
    "bulk1000": (op_bulk1000, 1000),
    "get_or_create": (op_get_or_create, 1),
    "update_or_create": (op_update_or_create, 1),
    "iterator_break": (op_iterator_break, 0),
}


async def _settle(database: Any) -> None:
    deadline = time.monotonic() + 10
    while True:
        stats = database.stats()
        if "pool_available" in stats:
            idle = stats["pool_available"] == stats["pool_size"]
        else:
            idle = stats["in_use"] == 0
        if idle:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"connections did not come back: {stats}")
        await asyncio.sleep(0.01)


def _idle_in_transaction(backend: str, admin: Any, database: Any) -> int:
    if backend == "postgres":
        cur = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'oxyde-fi' "
            "AND state LIKE 'idle in transaction%'"
        )
        return int(cur.fetchone()[0])
    if backend == "mysql":
        threads = [conn.thread_id for conn in list(database.backend._idle)]
        if not threads:
            return 0
        cur = admin.cursor()
        cur.execute(
            "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id IN "
            f"({', '.join(str(int(t)) for t in threads)})"
        )
        (count,) = cur.fetchone()
        cur.close()
        return int(count)
    return 0


@pytest.mark.parametrize("fault", ["cancel", "disconnect", "error"])
@pytest.mark.parametrize("op", list(OPS))
async def test_a_fault_at_every_await_point(
    harness: tuple[Any, Injector], backend_name: str, op: str, fault: str
) -> None:
    database, injector = harness
    if fault == "disconnect" and backend_name == "sqlite":
        pytest.skip("SQLite has no server to end a session")
    run, size = OPS[op]
    await FiItem.objects.bulk_create([FiItem(code=-k, n=0) for k in range(1, 6)])
    next_code = 1
    reached = 0
    for k in range(1, MAX_AWAITS + 1):
        codes = list(range(next_code, next_code + max(size, 1)))
        next_code += len(codes)
        if op == "update_or_create":
            await FiItem.objects.create(code=codes[0], n=0)
        done: list[bool] = []
        task = asyncio.ensure_future(run(codes, done))
        injector.arm(fault, k, task)
        try:
            await task
        except asyncio.CancelledError:
            assert fault == "cancel" and task.cancelled()
        except OxydeError:
            assert fault in ("error", "disconnect")
        hit = injector.hit
        returned = bool(done)
        injector.disarm()
        await _settle(database)
        assert _idle_in_transaction(backend_name, injector.admin, database) == 0
        rows = await FiItem.objects.filter(code__in=codes).values_list("code", "n").all()
        stored = dict(rows)
        if op == "update_or_create":
            assert list(stored) == [codes[0]] and stored[codes[0]] in (0, 1), stored
            written = stored[codes[0]] == 1
        elif size:
            assert len(stored) in (0, len(codes)), f"half-written at await {k}: {len(stored)}"
            written = len(stored) == len(codes)
        else:
            written = False
        if returned and size:
            assert written, f"returned at await {k}, yet not written"
        if op == "atomic3" and fault == "cancel":
            # The commit point: committed data means the block returned.
            assert written == returned, (k, written, returned)
        # The next operation works, on whichever connection the pool lends.
        await FiItem.objects.create(code=-1000 - k, n=0)
        async with atomic():
            await FiItem.objects.filter(code=-1).update(n=k)
        if not hit:
            reached = k - 1
            break
    else:
        raise AssertionError(f"{op} never completed within {MAX_AWAITS} await points")
    assert reached >= 1, f"{op}: no await point was reached"
    print(f"{backend_name} {injector.level} {op} {fault}: a fault at each of {reached} awaits")
