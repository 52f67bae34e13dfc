"""One apsw connection as an oxyde ``Connection``: statements, transactions, streams.

A call runs in one of two places. When the connection's worker thread is idle and the
statement is one whose abort leaves nothing behind (``onloop.py``), it runs right here
on the event loop's thread under a time budget, with a busy handler that never sleeps;
if the budget runs out or a lock is taken, it is aborted and handed to the worker. Every
other call becomes one job on the worker thread (``_run``), and a job does the whole
call: execute and fetch all rows, or BEGIN + executemany + COMMIT, so a call costs at
most one thread hop. The loop thread touches the connection only while no job is queued
or running on it (``Worker.pending == 0``), so apsw never sees two threads at once.

When a task awaiting a job is cancelled the job is flagged, the progress handler (or
the busy handler, while waiting on a lock) aborts the statement, and the task waits,
shielded, until the worker has let go of the connection; only then does the
``CancelledError`` travel on, so a connection is never handed back while SQLite still
runs on it. A call on the loop cannot be cancelled half-way: it is over within its
budget.

Automatic WAL checkpoints (``PRAGMA wal_autocheckpoint``) are taken over by a WAL hook
so that a commit on the loop never runs one (a checkpoint syncs the disk): the worker
runs it after the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

import apsw

from oxyde.backends.base import Executor, Row
from oxyde.backends.capabilities import Capabilities
from oxyde.backends.commit_point import redeliver_cancellation
from oxyde.backends.shielding import shielded
from oxyde.backends.sqlite import arith, functions, onloop
from oxyde.backends.sqlite.capabilities import CAPABILITIES
from oxyde.backends.sqlite.errors import map_error
from oxyde.backends.sqlite.onloop import LOOP_BUDGET, LOOP_CHECK_STEPS, StatementInfo, classify
from oxyde.backends.sqlite.worker import IDLE, Job, Worker
from oxyde.exceptions import ConnectionLostError, OperationalError, ProgrammingError

if TYPE_CHECKING:
    from oxyde.sql.dialects.base import Dialect

__all__ = ["ConnectOptions", "SQLiteConnection", "pause"]

T = TypeVar("T")

#: VM instructions between two looks at the cancellation flag on the worker (about 1 ms
#: of SQLite work here). Each look takes the GIL: much more often, two readers contend
#: for it and stop running in parallel, and a busy event loop slows long statements down.
PROGRESS_STEPS: Final = 50_000
#: prepared statements kept per connection (apsw's default is 100); one query shape has
#: one SQL text, so a larger cache means fewer re-prepares.
STATEMENT_CACHE: Final = 256
#: A COMMIT runs on the loop only when its transaction changed at most this many rows
#: (a commit cannot be interrupted, and its cost grows with the pages it writes).
COMMIT_ON_LOOP_ROWS: Final = 64
#: ``execute_many`` runs on the loop only for at most this many parameter sets.
MANY_ON_LOOP: Final = 64
# Longest single sleep of the busy handler; it also wakes early when cancelled.
_BUSY_SLEEP_MAX: Final = 0.02

_ISOLATION: Final = frozenset(
    {"read uncommitted", "read committed", "repeatable read", "serializable"}
)
_SAVEPOINT_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ids = itertools.count(1)
_perf_counter: Final = time.perf_counter


class _Retry(Exception):
    """A call on the loop gave up (budget, lock) without leaving any effect."""


#: what the ``_*_here`` methods return when the call must go to the worker instead
_MISS: Final[Any] = object()


class ConnectOptions:
    """What every connection of one database applies when it opens."""

    __slots__ = ("busy_timeout", "dialect", "label", "path", "pragmas")

    def __init__(
        self,
        *,
        path: str,
        label: str,
        dialect: Dialect,
        pragmas: Sequence[tuple[str, str]],
        busy_timeout: float,
    ) -> None:
        self.path = path
        #: the database alias, for thread names and messages
        self.label = label
        self.dialect = dialect
        #: (name, value) pairs run as ``PRAGMA name=value`` in this order
        self.pragmas = tuple(pragmas)
        #: seconds a statement waits for a lock before SQLITE_BUSY
        self.busy_timeout = busy_timeout


def _pragma(db: apsw.Connection, name: str) -> Any:
    return db.execute(f"PRAGMA {name}").fetchall()[0][0]


async def pause() -> None:
    """Let the loop run other callbacks (calls completing on the loop never yield)."""
    # Twice: the loop queues the timers and I/O callbacks that came due behind this task,
    # so after one yield it would run the next statement before them.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    onloop.mark_paused()


class SQLiteConnection:
    """An ``oxyde.backends.base.Connection`` over one apsw connection and its thread."""

    def __init__(self, options: ConnectOptions, *, role: str) -> None:
        self._options = options
        self.role = role
        self.id = next(_ids)
        self._worker = Worker(f"oxyde-sqlite-{options.label}-{role}-{self.id}")
        self._db: apsw.Connection | None = None
        # Mirrors of the apsw state, refreshed at the end of each call so the loop can
        # read them without touching the connection.
        self._in_tx = False
        self._query_only = False
        self._closed = False
        #: a failed COMMIT or a dead worker: the pool must close, not reuse, it
        self.broken = False
        self.created_at = time.monotonic()
        self.last_used = self.created_at
        self._savepoints = itertools.count(1)
        self._busy_since = 0.0
        # Set by a cancellation so a busy handler sleeping on a lock wakes at once.
        self._busy_wake = threading.Event()
        #: while the loop thread runs a statement: the perf_counter() time it must stop
        self._loop_deadline = 0.0
        #: a commit needs no disk sync here (WAL with synchronous <= NORMAL, or memory)
        self._writes_on_loop = False
        #: streams with an open cursor on this connection
        self._streams = 0
        #: WAL pages after which a commit is followed by a checkpoint (0: never)
        self._checkpoint_pages = 0
        self._checkpoint_due = False
        #: total_changes() when the open transaction began
        self._tx_changes = 0
        #: the cursor calls on the loop reuse
        self._cursor: apsw.Cursor | None = None

    # -- the one way work reaches the worker ----------------------------------------

    async def _run(self, fn: Callable[[], T], *, commits: bool = False) -> T:
        """Run ``fn`` on the worker. ``commits``: it ends with a COMMIT of its own, so a
        cancellation that could not stop it before its COMMIT went through gets its
        result, and is delivered after (the commit point, ``commit_point.py``)."""
        if self._closed:
            raise ConnectionLostError("the SQLite connection is closed")
        loop = asyncio.get_running_loop()
        job = Job(fn, loop, loop.create_future())
        self._worker.submit(job)
        try:
            result: T = await (asyncio.shield(job.future) if commits else job.future)
            return result
        except asyncio.CancelledError:
            await self._abandon(job)
            future = job.future
            done = commits and future.done() and not future.cancelled()
            if done and future.exception() is None:
                redeliver_cancellation()
                committed: T = future.result()
                return committed
            raise

    async def _abandon(self, job: Job) -> None:
        """Stop a cancelled job and wait, shielded from further cancellation, until the
        worker has returned from it."""
        job.cancelled = True
        if job.done:
            return
        self._wake_busy_handler()
        waiter = job.waiter = job.loop.create_future()
        while not job.done:
            try:
                await asyncio.shield(waiter)
            except asyncio.CancelledError:
                # Cancelled again: keep waiting, the caller re-raises the cancellation.
                continue

    def _wake_busy_handler(self) -> None:
        self._busy_wake.set()

    # -- running on the loop -------------------------------------------------------

    def _loop_db(self) -> apsw.Connection | None:
        """The connection, if the loop thread may use it now (the worker is idle)."""
        if self._worker.pending or self._closed:
            return None
        return self._db

    def _loop_statement(self, sql: str) -> StatementInfo | None:
        """The statement's info when it may be tried on the loop now, else None."""
        db = self._loop_db()
        if db is None:
            return None
        info = classify(db, sql)
        if info is None or not info.loop_ok:
            return None
        if info.write and (self._in_tx or not self._writes_on_loop or self._streams):
            return None
        if info.skip:
            info.skip -= 1
            return None
        return info

    def _enter_loop(self, db: apsw.Connection) -> None:
        db.set_progress_handler(self._loop_over_budget, LOOP_CHECK_STEPS)
        self._loop_deadline = _perf_counter() + LOOP_BUDGET

    def _leave_loop(self, db: apsw.Connection) -> None:
        self._loop_deadline = 0.0
        with contextlib.suppress(apsw.Error):  # closed underneath: _settle notices
            db.set_progress_handler(self._should_abort, PROGRESS_STEPS)
        if self._checkpoint_due:
            self._checkpoint_later()

    def _loop_over_budget(self) -> bool:
        deadline = self._loop_deadline
        # 0: clean-up (``_undo``) in progress, which must not be aborted
        return deadline != 0.0 and _perf_counter() > deadline

    def _run_here(self, fn: Callable[[apsw.Connection], T]) -> T:
        """``fn(db)`` on the loop thread, or ``_MISS`` when it must go to the worker."""
        db = self._loop_db()
        if db is None:
            return _MISS  # type: ignore[no-any-return]
        try:
            self._enter_loop(db)
        except apsw.Error:
            return _MISS  # type: ignore[no-any-return]  # the worker reports it
        try:
            return fn(db)
        except _Retry:
            return _MISS  # type: ignore[no-any-return]
        finally:
            self._leave_loop(db)

    def _retry_here(self, exc: apsw.Error) -> bool:
        """On the loop, a busy lock or the budget's abort moves the call to the worker."""
        return bool(self._loop_deadline) and isinstance(exc, (apsw.BusyError, apsw.InterruptError))

    def _checkpoint_later(self) -> None:
        self._checkpoint_due = False
        loop = asyncio.get_running_loop()
        self._worker.submit(Job(self._checkpoint_sync, loop, loop.create_future()))

    def _checkpoint_sync(self) -> None:
        db = self._db
        if db is not None:
            # PASSIVE: copies what it can without waiting for readers; best effort, as
            # SQLite's own automatic checkpoint is.
            with contextlib.suppress(apsw.Error):
                db.wal_checkpoint()

    def _on_wal(self, _db: apsw.Connection, _name: str, pages: int) -> int:
        if pages >= self._checkpoint_pages:
            self._checkpoint_due = True
        return apsw.SQLITE_OK

    # -- opening and closing -----------------------------------------------------

    async def open(self) -> None:
        try:
            await self._run(self._open_sync)
        except BaseException:
            # Cancelled or failed: close what may have been opened, end the thread.
            self.close_nowait()
            raise

    def _open_sync(self) -> None:
        opts = self._options
        try:
            db = apsw.Connection(
                opts.path,
                flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE,
                statementcachesize=STATEMENT_CACHE,
            )
        except apsw.Error as exc:
            raise OperationalError(
                f"cannot open SQLite database {opts.path!r}: {exc}{_directory_problem(opts.path)}",
                code=getattr(exc, "extendedresult", None),
            ) from exc
        try:
            # Double-quoted strings are identifiers only: a misspelt column must not
            # silently become a string literal.
            db.config(apsw.SQLITE_DBCONFIG_DQS_DML, 0)
            db.config(apsw.SQLITE_DBCONFIG_DQS_DDL, 0)
            # The query planner stability guarantee: one plan per statement whatever the
            # bound values. Without it SQLite reads some bound values while planning (a
            # ``LIMIT ?``, comparisons on analysed columns) and must then re-prepare the
            # cached statement at every execution, which costs a point query 75% more.
            db.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, 1)
            # Our own busy handler instead of busy_timeout: it gives up when the call is
            # cancelled rather than sleeping out the whole timeout, and at once on the loop.
            db.set_busy_handler(self._on_busy)
            db.set_progress_handler(self._should_abort, PROGRESS_STEPS)
            functions.install(db)
            arith.register_functions(db)
            for name, value in opts.pragmas:
                if name == "journal_mode" and self.role != "writer":
                    continue  # persistent in the file; the writer has set it
                db.execute(f"PRAGMA {name}={value}").fetchall()
            journal = str(_pragma(db, "journal_mode")).lower()
            synchronous = int(str(_pragma(db, "synchronous")))
            in_memory = not db.filename  # ":memory:" and temporary databases
            self._writes_on_loop = (
                in_memory or synchronous == 0 or (journal == "wal" and synchronous <= 1)
            )
            if journal == "wal":
                pages = int(str(_pragma(db, "wal_autocheckpoint")))
                if pages > 0:
                    # Replaces SQLite's automatic checkpoint (the two are exclusive).
                    self._checkpoint_pages = pages
                    db.set_wal_hook(self._on_wal)
        except apsw.Error as exc:
            db.close(True)
            raise map_error(exc) from exc
        self._db = db
        self._cursor = db.cursor()

    def _should_abort(self) -> bool:
        return self._worker.current.cancelled

    def _on_busy(self, count: int) -> bool:
        if self._loop_deadline:
            return False  # never sleep on the loop: the worker waits for the lock
        if self._worker.current.cancelled:
            return False
        now = time.monotonic()
        if count == 0:
            self._busy_since = now
        remaining = self._options.busy_timeout - (now - self._busy_since)
        if remaining <= 0:
            return False
        wake = self._busy_wake
        if wake.wait(min(remaining, _BUSY_SLEEP_MAX, 0.001 * (count + 1))):
            wake.clear()
        return not self._worker.current.cancelled

    async def close(self) -> None:
        """Roll back whatever is open and close the connection and its thread."""
        if self._closed:
            return
        try:
            await self._run(self._close_sync)
        finally:
            self._closed = True
            self._worker.stop()

    def close_nowait(self) -> None:
        """Queue the close without waiting for it (pool shrinking, discards)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        self._worker.submit(Job(self._close_sync, loop, loop.create_future()))
        self._worker.stop()

    def _close_sync(self) -> None:
        db, self._db = self._db, None
        self._cursor = None
        if db is not None:
            # force: finalise statements left by an abandoned stream. Closing rolls
            # back an open transaction; there is nothing else to report.
            with contextlib.suppress(apsw.Error):
                db.close(True)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- Executor ----------------------------------------------------------------

    #: what it can do; ``foreign_keys_disabled`` is here
    #: (``oxyde.backends.base.ForeignKeySuspension``)
    capabilities: Final[Capabilities] = CAPABILITIES

    @property
    def dialect(self) -> Dialect:
        return self._options.dialect

    @property
    def in_transaction(self) -> bool:
        return self._in_tx

    def _conn(self) -> apsw.Connection:
        db = self._db
        if db is None:
            raise ConnectionLostError("the SQLite connection is closed")
        return db

    def _settle(self, db: apsw.Connection) -> None:
        try:
            self._in_tx = db.in_transaction
        except apsw.Error:
            # Closed underneath us: not reusable.
            self._in_tx = False
            self.broken = True
        self.last_used = time.monotonic()
        if self._checkpoint_due and not self._loop_deadline:
            self._checkpoint_due = False
            self._checkpoint_sync()

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        if onloop.pause_due():
            await pause()
        rows = self.fetch_now(sql, params)
        if rows is not None:
            return rows
        return await self._run(lambda: self._fetch_sync(sql, params))

    def fetch_now(self, sql: str, params: Sequence[Any]) -> list[Row] | None:
        """The rows, run here on the loop, or None when the call must go to the worker
        (``fetch`` does that). Raises the statement's error like ``fetch``."""
        # _loop_statement, _enter_loop and _leave_loop written out: the hot path of
        # every point query.
        db = self._db
        if db is None or self._worker.pending or self._closed:
            return None
        info = classify(db, sql)
        if info is None or not info.loop_ok:
            return None
        if info.write and (self._in_tx or not self._writes_on_loop or self._streams):
            return None
        if info.skip:
            info.skip -= 1
            return None
        cursor: apsw.Cursor = self._cursor  # type: ignore[assignment]
        try:
            db.set_progress_handler(self._loop_over_budget, LOOP_CHECK_STEPS)
            self._loop_deadline = _perf_counter() + LOOP_BUDGET
            rows: list[Row] = cursor.execute(sql, params).fetchall()
        except apsw.Error as exc:
            self._loop_failed(db, info, exc)
            return None
        self._loop_deadline = 0.0
        db.set_progress_handler(self._should_abort, PROGRESS_STEPS)
        if self._checkpoint_due:
            self._checkpoint_later()
        # A DML statement that succeeds leaves the transaction state as it was.
        if info.overruns:
            info.fitted()
        return rows

    def _loop_failed(self, db: apsw.Connection, info: StatementInfo, exc: apsw.Error) -> None:
        """After a failed statement on the loop: return to retry it on the worker (over
        budget, or a lock), else raise its error."""
        self._leave_loop(db)
        self._settle(db)
        if isinstance(exc, apsw.InterruptError):
            info.overran()
        elif not isinstance(exc, apsw.BusyError):
            raise map_error(exc) from exc

    def _fetch_sync(self, sql: str, params: Sequence[Any]) -> list[Row]:
        db = self._conn()
        try:
            rows: list[Row] = db.execute(sql, params).fetchall()
        except apsw.Error as exc:
            raise map_error(exc) from exc
        finally:
            self._settle(db)
        return rows

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        def job() -> tuple[list[str], list[Row]]:
            db = self._conn()
            names: list[str] = []

            # The description is read before the first step: a statement that returns
            # no rows is complete by the time ``execute`` returns and has none left.
            def trace(cursor: apsw.Cursor, _sql: str, _bindings: Any) -> bool:
                names[:] = [d[0] for d in cursor.description]
                return True

            cursor = db.cursor()
            cursor.exec_trace = trace
            try:
                rows: list[Row] = cursor.execute(sql, params).fetchall()
            except apsw.Error as exc:
                raise map_error(exc) from exc
            finally:
                self._settle(db)
            return names, rows

        return await self._run(job)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        if onloop.pause_due():
            await pause()
        changed = self.execute_now(sql, params)
        if changed is not None:
            return changed
        return await self._run(lambda: self._execute_sync(sql, params))

    def execute_now(self, sql: str, params: Sequence[Any]) -> int | None:
        """``execute`` run here on the loop, or None when it must go to the worker."""
        # _loop_statement, _enter_loop and _leave_loop written out, as in fetch_now: the
        # hot path of every single-row UPDATE and DELETE.
        db = self._db
        if db is None or self._worker.pending or self._closed:
            return None
        info = classify(db, sql)
        if info is None or not info.loop_ok:
            return None
        if info.write and (self._in_tx or not self._writes_on_loop or self._streams):
            return None
        if info.skip:
            info.skip -= 1
            return None
        cursor: apsw.Cursor = self._cursor  # type: ignore[assignment]
        try:
            db.set_progress_handler(self._loop_over_budget, LOOP_CHECK_STEPS)
            self._loop_deadline = _perf_counter() + LOOP_BUDGET
            before = db.total_changes()
            for _ in cursor.execute(sql, params):
                pass
        except apsw.Error as exc:
            self._loop_failed(db, info, exc)
            return None
        self._loop_deadline = 0.0
        db.set_progress_handler(self._should_abort, PROGRESS_STEPS)
        if self._checkpoint_due:
            self._checkpoint_later()
        if info.overruns:
            info.fitted()
        return db.changes() if db.total_changes() != before else 0

    def _execute_sync(self, sql: str, params: Sequence[Any]) -> int:
        db = self._conn()
        before = db.total_changes()
        try:
            for _ in db.execute(sql, params):
                pass
        except apsw.Error as exc:
            raise map_error(exc) from exc
        finally:
            self._settle(db)
        # ``changes()`` keeps the count of the last INSERT/UPDATE/DELETE, so a DDL
        # statement would report a stale number: only trust it if something changed.
        return db.changes() if db.total_changes() != before else 0

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        if not params_seq:
            return 0
        # On the loop only as a transaction of its own: an abort then rolls it all back.
        if len(params_seq) <= MANY_ON_LOOP:
            info = self._loop_statement(sql)
            if info is not None and info.write:
                changed = self._run_here(lambda db: self._execute_many_sync(sql, params_seq))
                if changed is not _MISS:
                    return changed
                if self._closed:
                    raise ConnectionLostError("the SQLite connection is closed")
        outer = not self.in_transaction
        return await self._run(lambda: self._execute_many_sync(sql, params_seq), commits=outer)

    def _execute_many_sync(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        db = self._conn()
        before = db.total_changes()
        outer = not db.in_transaction
        name = f"oxyde_many_{next(self._savepoints)}"
        try:
            db.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
            for _ in db.executemany(sql, params_seq):
                pass
            db.execute("COMMIT" if outer else f"RELEASE {name}")
        except BaseException as exc:
            self._undo(db, None if outer else name)
            if isinstance(exc, apsw.Error):
                if self._retry_here(exc):
                    raise _Retry from None
                raise map_error(exc) from exc
            raise
        finally:
            self._settle(db)
        # Counts every row the statements changed (triggers and cascades included).
        changed: int = db.total_changes() - before
        return changed

    def _undo(self, db: apsw.Connection, savepoint: str | None) -> None:
        """Roll back what a failed call started; never interrupted by cancellation."""
        worker = self._worker
        job, worker.current = worker.current, IDLE
        deadline, self._loop_deadline = self._loop_deadline, 0.0
        try:
            if not db.in_transaction:
                return  # SQLite already rolled the whole transaction back
            if savepoint is None:
                db.execute("ROLLBACK")
            else:
                db.execute(f"ROLLBACK TO {savepoint}; RELEASE {savepoint}")
        except apsw.Error:
            # Leave the state for the pool to see: it closes a connection that is
            # still in a transaction.
            pass
        finally:
            worker.current = job
            self._loop_deadline = deadline

    @asynccontextmanager
    async def atomic_block(self) -> AsyncIterator[Executor]:
        """A transaction on this connection, or a savepoint when one is open."""
        if not self._in_tx:
            await self.begin()
            try:
                yield self
            except BaseException:
                await shielded(self.rollback())
                raise
            await self.commit()
            return
        name = f"oxyde_block_{next(self._savepoints)}"
        await self.savepoint(name)
        try:
            yield self
        except BaseException:
            await shielded(self._rollback_to(name))
            raise
        await self.release_savepoint(name)

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        # The cursor only ever lives (and dies) on the worker thread.
        open_cursor: list[Iterator[Row]] = []

        def step(start: bool) -> list[Row]:
            db = self._conn()
            try:
                if start:
                    open_cursor.append(db.execute(sql, params))
                chunk = list(itertools.islice(open_cursor[0], chunk_size))
                if len(chunk) < chunk_size:
                    open_cursor.clear()  # exhausted: SQLite has reset the statement
                return chunk
            except apsw.Error as exc:
                open_cursor.clear()
                raise map_error(exc) from exc
            finally:
                self._settle(db)

        def reset() -> None:
            # Closing an unfinished cursor resets its statement, so the connection
            # keeps no read open (which would pin the WAL snapshot or abort later).
            cursor: Any = open_cursor.pop()
            cursor.close(True)
            if self._db is not None:
                self._settle(self._db)

        # While a cursor is open, a write on the loop could not be aborted cleanly (its
        # rollback would abort the open read too), so writes go to the worker.
        self._streams += 1
        try:
            chunk = await self._run(lambda: step(True))
            while chunk:
                yield chunk
                if not open_cursor:
                    break
                chunk = await self._run(lambda: step(False))
        finally:
            try:
                if open_cursor and not self._closed:
                    await shielded(self._run(reset))
            finally:
                self._streams -= 1

    # -- Connection: transactions --------------------------------------------------

    async def begin(self, *, isolation: str | None = None, read_only: bool = False) -> None:
        if isolation is not None:
            key = isolation.lower().replace("_", " ").replace("-", " ")
            if key not in _ISOLATION:
                raise ValueError(
                    f"unknown isolation level {isolation!r}; valid: {', '.join(sorted(_ISOLATION))}"
                )
            # SQLite transactions are always serializable, which satisfies every
            # weaker level too.
        # BEGIN does no I/O; on the loop a held lock makes it fail at once, unchanged.
        if self._run_here(lambda db: self._begin_sync(db, read_only)) is _MISS:
            await self._run(lambda: self._begin_sync(self._conn(), read_only))

    def _begin_sync(self, db: apsw.Connection, read_only: bool) -> None:
        try:
            if read_only:
                # A deferred transaction takes no write lock; query_only makes a
                # write inside it fail instead of upgrading the lock.
                db.execute("PRAGMA query_only=1; BEGIN DEFERRED")
                self._query_only = True
            else:
                db.execute("BEGIN IMMEDIATE")
            self._tx_changes = db.total_changes()
        except apsw.Error as exc:
            self._reset_query_only(db)
            if self._retry_here(exc) and not db.in_transaction:
                raise _Retry from None
            raise map_error(exc) from exc
        finally:
            self._settle(db)

    def _reset_query_only(self, db: apsw.Connection) -> None:
        if self._query_only:
            self._query_only = False
            try:
                db.execute("PRAGMA query_only=0")
            except apsw.Error:
                self.broken = True

    def _small_commit(self) -> bool:
        """Whether COMMIT may run on the loop: nothing written, or little and no sync."""
        db = self._loop_db()
        if db is None:
            return False
        if self._query_only:
            return True
        return self._writes_on_loop and db.total_changes() - self._tx_changes <= COMMIT_ON_LOOP_ROWS

    async def commit(self) -> None:
        if self._small_commit() and self._run_here(self._commit_sync) is not _MISS:
            return
        await self._run(lambda: self._commit_sync(self._conn()))

    def _commit_sync(self, db: apsw.Connection) -> None:
        try:
            if not db.in_transaction:
                raise OperationalError(
                    "cannot commit: the database already rolled this transaction back"
                )
            db.execute("COMMIT")
        except apsw.Error as exc:
            if self._retry_here(exc) and db.in_transaction:
                # Still open and unchanged: the worker commits it, waiting for the lock.
                raise _Retry from None
            # e.g. a deferred foreign key violation: SQLite keeps the transaction
            # open. Roll it back and have the pool drop this connection.
            self.broken = True
            self._undo(db, None)
            self._reset_query_only(db)
            raise map_error(exc) from exc
        finally:
            self._settle(db)
        self._reset_query_only(db)

    async def rollback(self) -> None:
        # Under WAL a rollback drops pages from the cache; elsewhere it rewrites the file.
        if (self._writes_on_loop or self._query_only or not self._in_tx) and self._run_here(
            self._rollback_sync
        ) is not _MISS:
            return
        await self._run(lambda: self._rollback_sync(self._conn()))

    def _rollback_sync(self, db: apsw.Connection) -> None:
        deadline, self._loop_deadline = self._loop_deadline, 0.0
        if deadline:
            # A rollback is never aborted: no budget on it (it is cheap where it runs
            # on the loop).
            db.set_progress_handler(None)
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except apsw.Error as exc:
            raise map_error(exc) from exc
        finally:
            self._loop_deadline = deadline
            self._reset_query_only(db)
            self._settle(db)

    async def savepoint(self, name: str) -> None:
        await self._simple(f"SAVEPOINT {_check_name(name)}", here=True)

    async def release_savepoint(self, name: str) -> None:
        # Releasing the outermost savepoint commits: on the loop only without a sync.
        await self._simple(
            f"RELEASE SAVEPOINT {_check_name(name)}", here=self._in_tx and self._writes_on_loop
        )

    async def rollback_to_savepoint(self, name: str) -> None:
        await self._simple(f"ROLLBACK TO SAVEPOINT {_check_name(name)}", here=False)

    async def _rollback_to(self, name: str) -> None:
        if self._in_tx:
            await self.rollback_to_savepoint(name)
            await self.release_savepoint(name)

    async def _simple(self, sql: str, *, here: bool = False) -> None:
        """One statement without rows; ``here``: one that is cheap and does not wait for
        locks, so it may run on the loop."""
        if here and self._run_here(lambda db: self._simple_sync(db, sql)) is not _MISS:
            return
        await self._run(lambda: self._simple_sync(self._conn(), sql))

    def _simple_sync(self, db: apsw.Connection, sql: str) -> None:
        try:
            db.execute(sql)
        except apsw.Error as exc:
            if self._retry_here(exc) and not isinstance(exc, apsw.InterruptError):
                raise _Retry from None
            raise map_error(exc) from exc
        finally:
            self._settle(db)

    @asynccontextmanager
    async def foreign_keys_disabled(self) -> AsyncIterator[None]:
        """``oxyde.backends.base.ForeignKeySuspension.foreign_keys_disabled``."""
        rows = await self.fetch("PRAGMA foreign_keys", ())
        enabled = bool(rows and rows[0][0])
        if enabled and not self._in_tx:
            await self._simple("PRAGMA foreign_keys=OFF")
        try:
            yield
        finally:
            if enabled and not self._in_tx:
                await shielded(self._simple("PRAGMA foreign_keys=ON"))

    async def ping(self) -> None:
        """A trivial statement: raises if the connection is unusable."""
        await self.fetch("SELECT 1", ())

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("in transaction" if self._in_tx else "idle")
        return f"<SQLiteConnection {self._options.label}/{self.role}#{self.id} {state}>"


def _check_name(name: str) -> str:
    if not _SAVEPOINT_NAME.match(name):
        raise ProgrammingError(f"invalid savepoint name {name!r}")
    return name


def _directory_problem(path: str) -> str:
    """Why the directory of the (absolute) database ``path`` cannot hold it, if it cannot."""
    if path == ":memory:" or path.startswith("file:"):
        return ""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        return f" (the directory {directory!r} does not exist)"
    if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
        return f" (the directory {directory!r} is not readable and writable)"
    return ""
