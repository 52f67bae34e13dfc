"""``AsyncDatabase``: one named database, its backend pool, and the Executor over it.

Each call borrows a connection for one statement (reads may go to a reader, writes to
the writer), unless the calling task has an open ``atomic()`` transaction on this
database: then the call joins it, as a Django ``connection`` does inside ``atomic``.
That also keeps a task from waiting on itself for SQLite's single writer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self

from oxyde.backends import backend_class
from oxyde.backends.base import (
    Backend,
    Connection,
    Row,
    SingleWriterBackend,
    StatementBackend,
    can_copy,
    runs_statements,
    single_writer,
)
from oxyde.backends.settings import Duration, PoolSettings
from oxyde.backends.shielding import shielded
from oxyde.backends.url import DatabaseURL, parse_url
from oxyde.db import querylog
from oxyde.db.replicas import Replica, replicas_from
from oxyde.db.routing import Routing
from oxyde.db.transaction import (
    Atomic,
    Transaction,
    current_transaction_of,
    foreign_transaction_of,
)
from oxyde.exceptions import OperationalError, TransactionTimeoutError

if TYPE_CHECKING:
    from oxyde.backends.capabilities import Capabilities
    from oxyde.sql.dialects.base import Dialect

__all__ = ["STATS_KEYS", "AsyncDatabase"]

#: the keys ``AsyncDatabase.stats()`` has on every backend
STATS_KEYS = ("size", "max", "idle", "in_use", "waiting", "connections_lost")


class AsyncDatabase:
    """A database reachable under ``name``; ``await connect()`` opens its pool.

    ``auto_register`` adds it to the connection registry (``ValueError`` if the name is
    taken, unless ``overwrite``), so queries find it through ``using=name``.

    ``replicas`` (URLs, mappings or ``Replica``) are read replicas of ``url``, each with
    a pool of its own; queries outside a transaction read from them (see
    ``oxyde.db.routing``), ``router``, ``read_your_writes`` (seconds; ``None``: off),
    ``balance`` ("round_robin" or "least_in_use") and ``check_interval`` (seconds
    between lag samples) tune that. The methods of the database itself always run on
    the primary.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "default",
        settings: PoolSettings | None = None,
        auto_register: bool = True,
        overwrite: bool = False,
        replicas: Sequence[str | Mapping[str, Any] | Replica] = (),
        router: object = None,
        read_your_writes: Duration | None = 5.0,
        balance: str = "round_robin",
        check_interval: Duration = 1.0,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a database name must be a non-empty string, got {name!r}")
        if settings is not None and not isinstance(settings, PoolSettings):
            raise TypeError(f"settings must be a PoolSettings, got {type(settings).__name__}")
        self._parsed: DatabaseURL = parse_url(url)
        self.url = url
        self.name = name
        self.settings = settings if settings is not None else PoolSettings()
        #: "postgres", "mysql" or "sqlite"
        self.backend_name = self._parsed.backend
        self._backend: Backend | None = None
        self._connecting: asyncio.Lock | None = None
        self._transactions: set[Transaction] = set()
        #: the backend when its writes all go through one connection; its reads too
        #: when ``_writer_reads``
        self._single_writer: SingleWriterBackend | None = None
        self._writer_reads = False
        #: the backend when it runs lone statements itself
        self._statements: StatementBackend | None = None
        self._sweeper: asyncio.Task[None] | None = None
        #: replicas and router; ``None`` when there are neither (queries then use the
        #: database itself, at the cost of one check)
        self.routing: Routing | None = None
        states = replicas_from(replicas, name, self._parsed, self.settings)
        if states or router is not None:
            self.routing = Routing(
                self,
                states,
                router=router,
                read_your_writes=read_your_writes,
                balance=balance,
                check_interval=check_interval,
            )
        if auto_register:
            from oxyde.db.registry import register_connection

            register_connection(self, overwrite=overwrite)

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return f"<AsyncDatabase {self.name!r} {self._parsed.redacted()} {state}>"

    @property
    def parsed_url(self) -> DatabaseURL:
        return self._parsed

    @property
    def connected(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> Backend:
        """The open backend (its pool); ``OperationalError`` when not connected."""
        backend = self._backend
        if backend is None:
            self._not_connected()
        return backend

    def _not_connected(self) -> NoReturn:
        raise OperationalError(
            f"database {self.name!r} is not connected; call `await db.init({self.name}=URL)` "
            "or `await database.connect()` first"
        )

    # -- lifecycle ---------------------------------------------------------------

    async def ensure_connected(self) -> None:
        """Connect if not connected yet (the public Oxyde's on-demand connect)."""
        if not self.connected:
            await self.connect()

    async def connect(self) -> Self:
        """Open the pool (idempotent; concurrent callers share one attempt)."""
        if self._backend is not None:
            return self
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._backend is None:
                factory = backend_class(self.backend_name)
                backend = factory(self._parsed, self.settings, name=self.name)
                await backend.open()
                # Read once here: the per-call paths test plain attributes.
                self._statements = backend if runs_statements(backend) else None
                if single_writer(backend):
                    self._single_writer = backend
                    self._writer_reads = backend.uses_writer(False)
                else:
                    self._single_writer = None
                    self._writer_reads = False
                if self.routing is not None:
                    try:
                        await self.routing.open()
                    except BaseException:
                        await backend.close()
                        raise
                self._backend = backend
        return self

    async def disconnect(self) -> None:
        """Roll back open transactions and close the pool. Later calls raise
        ``OperationalError`` until ``connect()`` is called again."""
        backend, self._backend = self._backend, None
        self._statements = self._single_writer = None
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
        endings = [tx.end_abandoned("closed") for tx in list(self._transactions)]
        if endings:
            await asyncio.gather(*endings, return_exceptions=True)
        if backend is not None:
            await backend.close()
        if self.routing is not None:
            await self.routing.close()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    def stats(self) -> dict[str, int]:
        """Pool counters, the same keys on every backend: ``size`` (connections open),
        ``max``, ``idle``, ``in_use``, ``waiting`` (tasks waiting for a connection) and
        ``connections_lost``; all zero when not connected. The backend's own counters
        follow (psycopg's ``pool_size``, ``requests_waiting``..., MySQL's
        ``background``)."""
        backend = self._backend
        if backend is None:
            return dict.fromkeys(STATS_KEYS, 0)
        raw: dict[str, int] = dict(backend.stats())
        if "pool_size" in raw:  # psycopg_pool's names
            size = raw["pool_size"]
            idle = raw.get("pool_available", 0)
            common = {
                "size": size,
                "max": raw.get("pool_max", 0),
                "idle": idle,
                "in_use": max(size - idle, 0),
                "waiting": raw.get("requests_waiting", 0),
                "connections_lost": raw.get("connections_lost", 0),
            }
        else:
            common = {key: raw.get(key, 0) for key in STATS_KEYS}
        return {**common, **{k: v for k, v in raw.items() if k not in common}}

    def replica_stats(self) -> dict[str, Any]:
        """Per replica: ``state`` ("healthy", "lagging", "down", "connecting"), ``lag``
        last seen (seconds), ``queries`` run, ``fallbacks`` (reads it could not serve),
        ``errors``, ``in_use``; and ``primary_fallbacks`` (reads that went to the
        primary for want of a healthy replica) and ``read_your_writes_reads``. Empty
        without replicas."""
        routing = self.routing
        return routing.stats() if routing is not None else {}

    def connection(self, *, write: bool = True) -> AbstractAsyncContextManager[Connection]:
        """Borrow one raw backend connection (for work that needs a pinned session)."""
        backend = self.backend
        if self._single_writer is not None and (write or self._writer_reads):
            self._refuse_foreign_writer()
        return backend.connection(write=write)

    def _refuse_foreign_writer(self) -> None:
        """Fail at once where a call would wait for the single writer connection that
        an open transaction of another task holds: typically a child task of the block
        (``gather``, ``create_task``), which its parent may be awaiting, so the wait
        would last the whole ``acquire_timeout`` or end in a deadlock (G4)."""
        tx = foreign_transaction_of(self)
        backend = self._single_writer
        if tx is None or backend is None or not backend.holds_writer(tx.connection):
            return
        owner = tx.owner.get_name() if tx.owner is not None else "?"
        task = asyncio.current_task()
        me = task.get_name() if task is not None else "?"
        raise OperationalError(
            f"database {self.name!r}: task {me!r} needs the only writer connection, which "
            f"the open transaction of task {owner!r} holds (atomic(using={self.name!r})); "
            "it would wait until that transaction ends, forever if that task awaits this "
            "one. A transaction belongs to the task that opened it: pass it to this "
            "task's queries as client=<the atomic() block>, or write from that task."
        )

    # -- Executor ----------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self.backend.dialect

    @property
    def capabilities(self) -> Capabilities:
        """What the backend can do (``oxyde.backends.capabilities``); only once connected."""
        return self.backend.capabilities

    @property
    def in_transaction(self) -> bool:
        """Whether the calling task has an open transaction here, which calls join."""
        return current_transaction_of(self) is not None

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        tx = current_transaction_of(self)
        if tx is not None:
            return await tx.fetch(sql, params, write=write)
        backend = self._backend or self._not_connected()
        if self._single_writer is not None and (write or self._writer_reads):
            self._refuse_foreign_writer()
        threshold = self.settings.slow_query_threshold
        if querylog.wanted(threshold):
            return await querylog.timed(
                self, "fetch", sql, params, self._fetch(backend, sql, params, write), threshold
            )
        statements = self._statements
        if statements is not None:
            # ``_fetch``'s first branch, without its coroutine frame
            return await statements.fetch(sql, params, write=write)
        return await self._fetch(backend, sql, params, write)

    async def _fetch(
        self, backend: Backend, sql: str, params: Sequence[Any], write: bool
    ) -> list[Row]:
        statements = self._statements
        if statements is not None:
            return await statements.fetch(sql, params, write=write)
        async with backend.connection(write=write) as conn:
            return await conn.fetch(sql, params, write=write)

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        tx = current_transaction_of(self)
        if tx is not None:
            return await tx.fetch_described(sql, params, write=write)
        backend = self._backend or self._not_connected()
        if self._single_writer is not None and (write or self._writer_reads):
            self._refuse_foreign_writer()
        aw = self._fetch_described(backend, sql, params, write)
        threshold = self.settings.slow_query_threshold
        if querylog.wanted(threshold):
            return await querylog.timed(self, "fetch", sql, params, aw, threshold)
        return await aw

    async def _fetch_described(
        self, backend: Backend, sql: str, params: Sequence[Any], write: bool
    ) -> tuple[list[str], list[Row]]:
        statements = self._statements
        if statements is not None:
            return await statements.fetch_described(sql, params, write=write)
        async with backend.connection(write=write) as conn:
            return await conn.fetch_described(sql, params, write=write)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        tx = current_transaction_of(self)
        if tx is not None:
            return await tx.execute(sql, params)
        backend = self._backend or self._not_connected()
        if self._single_writer is not None:
            self._refuse_foreign_writer()
        threshold = self.settings.slow_query_threshold
        if querylog.wanted(threshold):
            return await querylog.timed(
                self, "execute", sql, params, self._execute(backend, sql, params), threshold
            )
        statements = self._statements
        if statements is not None:
            # ``_execute``'s first branch, without its coroutine frame
            return await statements.execute(sql, params)
        return await self._execute(backend, sql, params)

    async def _execute(self, backend: Backend, sql: str, params: Sequence[Any]) -> int:
        statements = self._statements
        if statements is not None:
            return await statements.execute(sql, params)
        async with backend.connection(write=True) as conn:
            return await conn.execute(sql, params)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        tx = current_transaction_of(self)
        if tx is not None:
            return await tx.execute_many(sql, params_seq)
        backend = self._backend or self._not_connected()
        if self._single_writer is not None:
            self._refuse_foreign_writer()
        aw = self._execute_many(backend, sql, params_seq)
        threshold = self.settings.slow_query_threshold
        if querylog.wanted(threshold):
            return await querylog.timed(self, "execute_many", sql, None, aw, threshold)
        return await aw

    @staticmethod
    async def _execute_many(backend: Backend, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        async with backend.connection(write=True) as conn:
            return await conn.execute_many(sql, params_seq)

    def atomic_block(self) -> Atomic:
        """A transaction on this database, or a savepoint in the calling task's open one."""
        return Atomic(self.name, _database=self)

    async def copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        schema: str | None = None,
        returning_pk: str | None = None,
    ) -> list[Any]:
        """``CopyExecutor.copy_insert`` on one connection, or in the calling task's
        transaction when it has one; ``OperationalError`` where ``capabilities.copy``
        is False."""
        tx = current_transaction_of(self)
        if tx is not None:
            return await tx.copy_insert(
                table, columns, rows, schema=schema, returning_pk=returning_pk
            )
        backend = self._backend or self._not_connected()
        if self._single_writer is not None:
            self._refuse_foreign_writer()
        aw = self._copy_insert(backend, table, columns, rows, schema, returning_pk)
        threshold = self.settings.slow_query_threshold
        if querylog.wanted(threshold):
            return await querylog.timed(self, "copy", f"COPY {table}", None, aw, threshold)
        return await aw

    @staticmethod
    async def _copy_insert(
        backend: Backend,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        schema: str | None,
        returning_pk: str | None,
    ) -> list[Any]:
        async with backend.connection(write=True) as conn:
            if not can_copy(conn):
                raise OperationalError("this database's backend has no COPY")
            return await conn.copy_insert(
                table, columns, rows, schema=schema, returning_pk=returning_pk
            )

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        tx = current_transaction_of(self)
        if tx is not None:
            chunks = tx.stream(sql, params, chunk_size=chunk_size)
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                await chunks.aclose()
            return
        backend = self._backend or self._not_connected()
        if self._writer_reads:
            self._refuse_foreign_writer()
        async with backend.connection(write=False) as conn:
            chunks = conn.stream(sql, params, chunk_size=chunk_size)
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                await chunks.aclose()

    # -- transactions ------------------------------------------------------------

    async def _begin_transaction(
        self, *, isolation: str | None, read_only: bool, deadline: float | None
    ) -> Transaction:
        backend = self._backend or self._not_connected()
        if self._single_writer is not None and (not read_only or self._writer_reads):
            self._refuse_foreign_writer()
        lease = backend.connection(write=not read_only)
        try:
            if deadline is None:
                conn = await lease.__aenter__()
            else:
                async with asyncio.timeout_at(deadline):
                    conn = await lease.__aenter__()
        except TimeoutError as exc:
            if isinstance(exc, TransactionTimeoutError) or deadline is None:
                raise
            raise TransactionTimeoutError(
                f"atomic() on database {self.name!r} timed out waiting for a connection"
            ) from None
        try:
            await conn.begin(isolation=isolation, read_only=read_only)
        except BaseException as exc:
            await _release(lease, exc)
            raise
        tx = Transaction(self, lease, conn, deadline=deadline)
        self._transactions.add(tx)
        self._start_sweeper()
        return tx

    def _forget_transaction(self, tx: Transaction) -> None:
        self._transactions.discard(tx)

    def _start_sweeper(self) -> None:
        if self.settings.transaction_timeout is None:
            return
        sweeper = self._sweeper
        if sweeper is None or sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep(), name=f"oxyde-transaction-sweeper-{self.name}"
            )

    async def _sweep(self) -> None:
        """Roll back transactions idle longer than ``transaction_timeout``."""
        limit = self.settings.transaction_timeout
        assert limit is not None
        interval = self.settings.transaction_cleanup_interval
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for tx in list(self._transactions):
                if tx.state == "open" and tx._busy == 0 and now - tx.last_used > limit:
                    tx.end_abandoned("expired")


async def _release(lease: AbstractAsyncContextManager[Connection], exc: BaseException) -> None:
    await shielded(lease.__aexit__(type(exc), exc, exc.__traceback__))
