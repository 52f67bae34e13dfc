"""One pooled psycopg connection as an oxyde ``Connection``: statements, transactions, COPY.

Connections run in autocommit mode and transactions are explicit ``BEGIN``/``COMMIT``
statements, so a statement outside ``atomic()`` is its own transaction and nothing is
ever left open by accident. Statements go through psycopg's raw cursor: the SQL text
keeps its ``$1`` placeholders and is sent as is, so the text of one query shape is
byte-stable and prepared statements (when enabled) are reused. Single statements with
parameters skip psycopg's cursors and go straight through libpq (``direct.py``);
statements without (scripts, transaction control), COPY and streams use psycopg.
One operation runs at a time on a connection: psycopg's connection lock serialises
statements, and a lock of our own keeps other calls out of a pipeline or COPY in
progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Final, TypeVar

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg import sql as pg_sql
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.raw_cursor import AsyncRawServerCursor

from oxyde import _slicing
from oxyde.backends.base import Row
from oxyde.backends.capabilities import Capabilities
from oxyde.backends.commit_point import (
    finish_past_commit_point,
    past_commit_point,
    redeliver_cancellation,
)
from oxyde.backends.postgres.capabilities import CAPABILITIES
from oxyde.backends.postgres.direct import run_many, run_statement
from oxyde.backends.postgres.errors import map_error
from oxyde.backends.postgres.wire import (
    COUNT,
    DESCRIBED,
    ROWS,
    Wire,
    drops_prepared,
    rows_in_slices,
)
from oxyde.exceptions import ManagerError, OperationalError
from oxyde.sql.dialects.base import Dialect

T = TypeVar("T")

__all__ = ["PostgresConnection"]

_IDLE: Final = TransactionStatus.IDLE
_INTRANS: Final = TransactionStatus.INTRANS
_INERROR: Final = TransactionStatus.INERROR
_TUPLES_OK: Final = ExecStatus.TUPLES_OK

#: isolation level spellings accepted by ``begin`` -> the SQL that sets them
_ISOLATION: Final = {
    "read uncommitted": "READ UNCOMMITTED",
    "read committed": "READ COMMITTED",
    "repeatable read": "REPEATABLE READ",
    "serializable": "SERIALIZABLE",
}

_NO_WAIT: Final = contextlib.nullcontext()

# Names of savepoints and cursors made by oxyde itself; unique per process.
_names = itertools.count(1)

#: parameter sets per ``executemany`` call inside one pipeline
_PIPELINE_SLICE: Final = 1000

# Keys for COPY, drawn from the key column's sequence. The sequence is looked up once
# (MATERIALIZED): inline, pg_get_serial_sequence would run again for every row.
_RESERVE_IDS: Final = (
    "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence($1, $2)::regclass AS seq) "
    "SELECT nextval(s.seq) FROM s, generate_series(1, $3::bigint)"
)


def begin_sql(isolation: str | None, read_only: bool) -> str:
    """The BEGIN statement for an isolation level (any case; ``_`` or ``-`` for spaces)."""
    sql = "BEGIN"
    if isolation is not None:
        key = isolation.lower().replace("_", " ").replace("-", " ")
        level = _ISOLATION.get(key)
        if level is None:
            raise ValueError(
                f"unknown isolation level {isolation!r}; valid: {', '.join(_ISOLATION)}"
            )
        sql += f" ISOLATION LEVEL {level}"
    if read_only:
        sql += " READ ONLY"
    return sql


class PostgresConnection:
    """A borrowed psycopg connection; valid until it goes back to the pool."""

    __slots__ = ("_dialect", "_lock", "_raw", "_wire")

    def __init__(
        self, raw: AsyncConnection[Row], dialect: Dialect, wire: Wire | None = None
    ) -> None:
        self._raw = raw
        self._dialect = dialect
        #: the connection's libpq statement state; None: every statement through psycopg
        self._wire = wire
        # Held by the operations made of several statements (pipeline, COPY), so that a
        # concurrent call on this connection waits for them instead of slipping into
        # their pipeline or transaction. psycopg already serialises single
        # statements; the lock is made on first use.
        self._lock: asyncio.Lock | None = None

    #: what it can do; ``copy_insert`` is here (``oxyde.backends.base.CopyExecutor``)
    capabilities: Final[Capabilities] = CAPABILITIES

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def raw(self) -> AsyncConnection[Row]:
        """The psycopg connection, for what oxyde does not wrap (LISTEN, custom types)."""
        return self._raw

    @property
    def in_transaction(self) -> bool:
        return self._raw.pgconn.transaction_status in (_INTRANS, _INERROR)

    # -- statements ----------------------------------------------------------------------

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        if self._wire is not None and params:
            rows: list[Row] = await self._direct(sql, params, ROWS, write)
            return rows
        cur = await self._run(sql, params)
        # The result's status, not ``cur.description``: that builds column objects.
        result = cur.pgresult
        if result is None or result.status != _TUPLES_OK:
            return []
        if _slicing.large(result.ntuples):
            return await self._converted(rows_in_slices(self._raw, result), write)
        return await cur.fetchall()

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        if self._wire is not None and params:
            described: tuple[list[str], list[Row]] = await self._direct(
                sql, params, DESCRIBED, write
            )
            return described
        cur = await self._run(sql, params)
        description = cur.description
        if description is None:
            return [], []
        names = [column.name for column in description]
        result = cur.pgresult
        if result is not None and _slicing.large(result.ntuples):
            return names, await self._converted(rows_in_slices(self._raw, result), write)
        return names, await cur.fetchall()

    async def _converted(self, converting: Coroutine[Any, Any, T], write: bool) -> T:
        """A large result converted in slices. A write outside a transaction has
        committed by now: its conversion finishes whatever happens to the caller, and a
        cancellation is delivered after (the commit point, ``commit_point.py``)."""
        if write and not self.in_transaction:
            return await finish_past_commit_point(converting)
        return await converting

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        if self._wire is not None and params:
            count: int = await self._direct(sql, params, COUNT)
            return count
        cur = await self._run(sql, params)
        return max(cur.rowcount, 0)

    async def _direct(self, sql: str, params: Sequence[Any], mode: int, write: bool = False) -> Any:
        wire = self._wire
        assert wire is not None
        lock = self._lock
        if lock is not None and lock.locked():
            async with lock:
                return await self._direct_unlocked(wire, sql, params, mode, write)
        return await self._direct_unlocked(wire, sql, params, mode, write)

    async def _direct_unlocked(
        self, wire: Wire, sql: str, params: Sequence[Any], mode: int, write: bool
    ) -> Any:
        raw = self._raw
        # psycopg's own lock: its cursors and ours never interleave on the connection.
        async with raw.lock:
            return await run_statement(raw, wire, sql, params, mode, write)

    async def _run(self, sql: str, params: Sequence[Any]) -> AsyncCursor[Row]:
        """Execute one statement; its result is then in the cursor (no more I/O)."""
        lock = self._lock
        if lock is not None and lock.locked():
            async with lock:
                return await self._run_unlocked(sql, params)
        return await self._run_unlocked(sql, params)

    async def _run_unlocked(self, sql: str, params: Sequence[Any]) -> AsyncCursor[Row]:
        cur = self._raw.cursor()
        wire = self._wire
        if wire is not None and drops_prepared(sql):
            # Whether it succeeds or not, the session may have lost them.
            wire.clear()
        try:
            # No parameters: the simple protocol, which also takes several statements.
            await cur.execute(sql, params or None)
        except psycopg.Error as exc:
            raise map_error(exc) from exc
        return cur

    def _compound(self) -> asyncio.Lock:
        lock = self._lock
        if lock is None:
            lock = self._lock = asyncio.Lock()
        return lock

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` once per parameter set in one pipeline, all-or-nothing.

        Outside a transaction, ``BEGIN``, the statements and ``COMMIT`` share one
        pipeline, so the whole batch costs about one network round trip. Inside one, the
        batch joins it, and on error leaves it aborted for its owner to roll back.
        """
        if not params_seq:
            return 0
        async with self._compound():
            return await self._execute_many(sql, params_seq)

    async def _execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        raw = self._raw
        own_transaction = not self.in_transaction
        wire = self._wire
        if wire is not None:
            # Through libpq with the connection's own prepared statements.
            async with raw.lock:
                return await run_many(raw, wire, sql, params_seq, own_transaction)
        cursors = []
        try:
            async with raw.pipeline():
                if own_transaction:
                    await raw.execute("BEGIN")
                # Handed to psycopg in slices: a cancelled task then only waits for the
                # slice in flight to drain, not for the rest of a large batch.
                for start in range(0, len(params_seq), _PIPELINE_SLICE):
                    cur = raw.cursor()
                    cursors.append(cur)
                    await cur.executemany(sql, params_seq[start : start + _PIPELINE_SLICE])
                if own_transaction:
                    await raw.execute("COMMIT")
        except psycopg.Error as exc:
            if own_transaction:
                await self._abandon_transaction()
            raise map_error(exc) from exc
        except BaseException:
            if own_transaction:
                await self._abandon_transaction()
            raise
        # Row counts are only known once the pipeline has synced.
        return sum(max(cur.rowcount, 0) for cur in cursors)

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        """Rows in chunks from a named server-side cursor (``DECLARE``/``FETCH``).

        A cursor lives in a transaction: outside one, the stream opens its own and ends
        it when the rows are exhausted or the iterator is closed early.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        own_transaction = not self.in_transaction
        if own_transaction:
            await self.begin()
        name = f"oxyde_cursor_{next(_names)}"
        cursor = AsyncRawServerCursor(self._raw, name)
        # A chunk larger than a slice is fetched as a plain statement, so that its rows
        # are converted a slice at a time (``fetch``) rather than all in one call on the
        # loop, as the cursor's own fetchmany() would.
        fetch_chunk = (
            pg_sql.SQL("FETCH FORWARD {} FROM {}")
            .format(pg_sql.Literal(chunk_size), pg_sql.Identifier(name))
            .as_string(self._raw)
            if _slicing.large(chunk_size)
            else None
        )
        finished = False
        try:
            try:
                await cursor.execute(sql, params or None)
                while True:
                    if fetch_chunk is not None:
                        rows = await self.fetch(fetch_chunk, ())
                    else:
                        rows = await cursor.fetchmany(chunk_size)
                    if rows:
                        yield rows
                    if len(rows) < chunk_size:
                        break
                await cursor.close()
            except psycopg.Error as exc:
                raise map_error(exc) from exc
            if own_transaction:
                await self.commit()
            finished = True
        finally:
            if not finished:
                # Abandoned (break, exception, cancel): the cursor goes with the
                # transaction we opened, or is closed inside the caller's. (Closing it
                # once its transaction is over costs no round trip.)
                if own_transaction:
                    await self._abandon_transaction()
                with contextlib.suppress(psycopg.Error):
                    await cursor.close()

    async def copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        schema: str | None = None,
        returning_pk: str | None = None,
    ) -> list[Any]:
        """``oxyde.backends.base.CopyExecutor.copy_insert``."""
        if not rows:
            return []
        async with self._compound():
            return await self._copy_insert(table, columns, rows, schema, returning_pk)

    async def _copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        schema: str | None,
        returning_pk: str | None,
    ) -> list[Any]:
        quote = self._dialect.quote_ident
        target = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
        own_transaction = not self.in_transaction
        cancelled = False
        if own_transaction:
            await self._command_unlocked("BEGIN")
        try:
            keys: list[Any] = []
            names = list(columns)
            if returning_pk is not None:
                reserved = await self._run_unlocked(_RESERVE_IDS, [target, returning_pk, len(rows)])
                keys = [row[0] for row in await reserved.fetchall()]
                if keys[0] is None:
                    raise ManagerError(
                        f"COPY into {target}: column {returning_pk!r} has no sequence "
                        "to draw keys from"
                    )
                names.insert(0, returning_pk)
            sql = f"COPY {target} ({', '.join(quote(name) for name in names)}) FROM STDIN"
            async with self._raw.cursor().copy(sql) as copy:
                if keys:
                    for key, row in zip(keys, rows, strict=True):
                        await copy.write_row((key, *row))
                else:
                    for row in rows:
                        await copy.write_row(row)
            if own_transaction:
                # The commit point: a cancellation from here waits for the outcome.
                commit = asyncio.ensure_future(self._commit_unlocked())
                cancelled = await past_commit_point(commit)
                commit.result()
        except psycopg.Error as exc:
            if own_transaction:
                await self._abandon_transaction()
            raise map_error(exc) from exc
        except BaseException:
            if own_transaction:
                await self._abandon_transaction()
            raise
        finally:
            if cancelled:
                redeliver_cancellation()
        return keys

    # -- transactions --------------------------------------------------------------------

    async def begin(self, *, isolation: str | None = None, read_only: bool = False) -> None:
        sql = begin_sql(isolation, read_only)
        async with self._turn():
            if self.in_transaction:
                raise OperationalError("a transaction is already open on this connection")
            await self._command_unlocked(sql)

    async def commit(self) -> None:
        """COMMIT; a transaction already aborted by an error is rolled back and the
        commit raises (PostgreSQL would silently answer ROLLBACK)."""
        async with self._turn():
            await self._commit_unlocked()

    async def rollback(self) -> None:
        """ROLLBACK. On a connection the server has closed this succeeds quietly: the
        session ended, and its transaction with it; the pool then replaces it."""
        raw = self._raw
        async with self._turn():
            try:
                await raw.rollback()
            except psycopg.Error as exc:
                if raw.broken or raw.closed:
                    return
                raise map_error(exc) from exc

    async def savepoint(self, name: str) -> None:
        await self._command(f"SAVEPOINT {self._dialect.quote_ident(name)}")

    async def release_savepoint(self, name: str) -> None:
        await self._command(f"RELEASE SAVEPOINT {self._dialect.quote_ident(name)}")

    async def rollback_to_savepoint(self, name: str) -> None:
        await self._command(f"ROLLBACK TO SAVEPOINT {self._dialect.quote_ident(name)}")

    def atomic_block(self) -> _AtomicBlock:
        return _AtomicBlock(self)

    # -- internals -----------------------------------------------------------------------

    def _turn(self) -> AbstractAsyncContextManager[object]:
        """Wait for a running pipeline or COPY on this connection, if there is one."""
        lock = self._lock
        return lock if lock is not None and lock.locked() else _NO_WAIT

    async def _command(self, sql: str) -> None:
        async with self._turn():
            await self._command_unlocked(sql)

    async def _command_unlocked(self, sql: str) -> None:
        try:
            await self._raw.execute(sql)
        except psycopg.Error as exc:
            raise map_error(exc) from exc

    async def _commit_unlocked(self) -> None:
        if self._raw.pgconn.transaction_status == _INERROR:
            await self._abandon_transaction()
            raise OperationalError(
                "the transaction was aborted by an earlier error and has been rolled back",
                code="25P02",
            )
        try:
            await self._raw.commit()
        except psycopg.Error as exc:
            raise map_error(exc) from exc

    async def _abandon_transaction(self) -> None:
        """Roll back after a failure; a connection that cannot even do that is closed,
        so the pool replaces it instead of lending it out."""
        if self._raw.pgconn.transaction_status == _IDLE:
            return
        try:
            await self._raw.rollback()
        except Exception:
            await self._raw.close()


class _AtomicBlock:
    """A transaction on a connection outside one, a savepoint inside one."""

    __slots__ = ("_conn", "_savepoint")

    def __init__(self, conn: PostgresConnection) -> None:
        self._conn = conn
        self._savepoint: str | None = None

    async def __aenter__(self) -> PostgresConnection:
        conn = self._conn
        if conn.in_transaction:
            self._savepoint = f"oxyde_block_{next(_names)}"
            await conn.savepoint(self._savepoint)
        else:
            await conn.begin()
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        name = self._savepoint
        if exc_type is None:
            if name is None:
                await conn.commit()
            else:
                await conn.release_savepoint(name)
            return
        # The block failed: undo it, without hiding the error that ended it.
        try:
            if name is None:
                await conn.rollback()
            elif conn.raw.pgconn.transaction_status in (_INTRANS, _INERROR):
                await conn.rollback_to_savepoint(name)
                await conn.release_savepoint(name)
        except (OperationalError, psycopg.Error):
            await conn._abandon_transaction()
