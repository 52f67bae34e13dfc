"""``atomic()``: transactions pinned to one connection, savepoints, timeouts, task ownership.

The outermost ``atomic()`` block of a task borrows a write connection from the
database, begins a transaction and publishes a ``Transaction`` in a ContextVar together
with the task that owns it. Nested blocks of the same task become savepoints
(``sp_<depth>``). Child tasks (``gather``, ``create_task``) inherit the ContextVar but
not the ownership, so they never see the transaction and use the pool.

A block commits only when it exits normally and nobody asked for a rollback;
``set_rollback(True)`` rolls back that block only (its savepoint, or the whole
transaction for the outermost block) without raising. A failed COMMIT raises and the
backend drops the connection. Clean-up (rollback, giving the connection back) is
shielded from cancellation so it always completes.

Two clocks can end a transaction early: ``atomic(timeout=...)`` (the next operation
raises ``TransactionTimeoutError``, a statement running when time is up is cancelled,
and the block rolls back) and ``PoolSettings.transaction_timeout`` (a sweeper task
rolls back a transaction left idle that long; using it afterwards raises).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from contextvars import ContextVar, Token
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, ParamSpec, Self, TypeVar, overload

from oxyde.backends.base import Connection, Row, can_copy
from oxyde.backends.commit_point import past_commit_point, redeliver_cancellation
from oxyde.backends.shielding import shielded
from oxyde.db import querylog
from oxyde.exceptions import OperationalError, OxydeError, TransactionTimeoutError

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from oxyde.backends.capabilities import Capabilities
    from oxyde.db.database import AsyncDatabase
    from oxyde.sql.dialects.base import Dialect

__all__ = [
    "Atomic",
    "Transaction",
    "TransactionTimeoutError",
    "atomic",
    "end_shared_transaction",
    "get_active_transaction",
    "on_commit",
    "share_transaction",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_log = logging.getLogger("oxyde.tx")

#: alias -> the open outermost transaction of the task that set it
_active: ContextVar[Mapping[str, Transaction] | None] = ContextVar(
    "oxyde_transactions", default=None
)

_OPEN: Final = "open"
_ENDING: Final = "ending"  # the owner is committing or rolling back
_EXPIRED: Final = "expired"  # rolled back by the idle sweeper
_CLOSED: Final = "closed"  # rolled back because the database was closed
_DONE: Final = "done"

#: operations of a shared transaction that get their own savepoint, and its name
_GUARDED: Final = frozenset({"fetch", "execute", "execute_many", "copy"})
_GUARD: Final = "oxyde_shared_statement"


#: alias -> a transaction every task uses (see ``share_transaction``); empty in
#: applications, so the hot path pays one truthiness test for it
_shared: dict[str, Transaction] = {}


def get_active_transaction(using: str = "default") -> Transaction | None:
    """The current task's open transaction on database ``using``, if any."""
    active = _active.get()
    if active is not None:
        tx = active.get(using)
        if tx is not None and tx.owner is asyncio.current_task():
            return tx
    if _shared:
        return _shared.get(using)
    return None


def current_transaction_of(database: AsyncDatabase) -> Transaction | None:
    """Like ``get_active_transaction`` for a database object (hot path of every call)."""
    active = _active.get()
    if active is not None:
        tx = active.get(database.name)
        if tx is not None and tx.database is database and tx.owner is asyncio.current_task():
            return tx
    if _shared:
        tx = _shared.get(database.name)
        if tx is not None and tx.database is database:
            return tx
    return None


async def share_transaction(database: AsyncDatabase) -> Transaction:
    """Begin a transaction on ``database`` that every task uses until
    ``end_shared_transaction``, whichever task began it.

    This is the explicit, test-scoped exception to task ownership (G4) that
    ``oxyde.testing`` builds its per-test rollback on: pytest-asyncio sets fixtures up,
    runs the test and tears fixtures down in different tasks, and the code under test
    starts tasks of its own. Statements from several tasks run one at a time on the
    pinned connection, each in a savepoint of its own (a failed statement leaves the
    transaction usable); ``atomic()`` blocks inside become savepoints. Application code
    has no use for it: a transaction shared by unrelated tasks interleaves their work.
    """
    if database.name in _shared:
        raise OxydeError(
            f"database {database.name!r} already has a shared transaction; "
            "end it before sharing another"
        )
    tx = await database._begin_transaction(isolation=None, read_only=False, deadline=None)
    tx._guard = asyncio.Lock()
    _shared[database.name] = tx
    return tx


def foreign_transaction_of(database: AsyncDatabase) -> Transaction | None:
    """The open transaction on ``database`` that the current task sees in its context
    but does not own: its parent's (a task inherits the ContextVar, not the ownership)."""
    active = _active.get()
    if active is None:
        return None
    tx = active.get(database.name)
    if (
        tx is None
        or tx.database is not database
        or tx.owner is asyncio.current_task()
        or tx.state not in (_OPEN, _ENDING)
    ):
        return None
    return tx


async def end_shared_transaction(tx: Transaction) -> None:
    """Roll back a transaction from ``share_transaction`` and stop sharing it."""
    if _shared.get(tx.database.name) is tx:
        del _shared[tx.database.name]
    try:
        if tx.state == _OPEN:
            tx.state = _ENDING
            if tx.connection.in_transaction:
                await shielded(tx.connection.rollback())
        elif tx._ending is not None:
            await shielded(tx._ending)
    finally:
        tx.state = _DONE
        tx._on_commit.clear()
        await shielded(tx.release())


def _seconds(timeout: float | int | timedelta | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        value = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        value = float(timeout)
    else:
        raise TypeError(f"atomic(timeout=...) takes seconds or a timedelta, got {timeout!r}")
    if not value > 0:
        raise ValueError(f"atomic(timeout=...) must be positive, got {timeout!r}")
    return value


class _OpenStream:
    __slots__ = ("closed", "closing")

    def __init__(self) -> None:
        self.closing = False
        self.closed = asyncio.Event()


class Transaction:
    """One open transaction: the connection it pinned and the state its blocks share.

    It is an ``Executor``: every call runs on the pinned connection, after checking
    that the transaction is still usable and within its deadline.
    """

    def __init__(
        self,
        database: AsyncDatabase,
        lease: AbstractAsyncContextManager[Connection],
        connection: Connection,
        *,
        deadline: float | None,
    ) -> None:
        self.database = database
        self.connection = connection
        self._lease: AbstractAsyncContextManager[Connection] | None = lease
        #: the task that opened it; only this task finds it through the ContextVar
        self.owner = asyncio.current_task()
        #: loop time after which operations raise ``TransactionTimeoutError``
        self.deadline = deadline
        #: open savepoints
        self.depth = 0
        self.state = _OPEN
        self.timed_out = False
        self.last_used = time.monotonic()
        self._busy = 0
        self._ending: asyncio.Task[None] | None = None
        #: streams open on the connection (see ``_settle_streams``)
        self._streams: set[_OpenStream] = set()
        #: on_commit callbacks, each with the savepoint depth it was registered at
        self._on_commit: list[tuple[int, Callable[[], Any]]] = []
        #: set while shared (``share_transaction``): statements outside atomic blocks
        #: then run in a savepoint of their own, one at a time
        self._guard: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"<Transaction on {self.database.name!r} {self.state} depth={self.depth}>"

    # -- checks ------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self.connection.dialect

    @property
    def capabilities(self) -> Capabilities:
        return self.connection.capabilities

    @property
    def in_transaction(self) -> bool:
        return True

    @property
    def is_open(self) -> bool:
        return self.state == _OPEN

    def past_deadline(self) -> bool:
        return self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline

    def _timeout_error(self) -> TransactionTimeoutError:
        self.timed_out = True
        return TransactionTimeoutError(
            f"transaction on database {self.database.name!r} ran past its timeout; "
            "it has been rolled back"
        )

    def check(self) -> None:
        """Raise if the transaction can no longer be used."""
        state = self.state
        if state != _OPEN:
            if state == _EXPIRED:
                raise TransactionTimeoutError(
                    f"transaction on database {self.database.name!r} was idle longer than "
                    "transaction_timeout and has been rolled back"
                )
            if state == _CLOSED:
                raise OperationalError(
                    f"database {self.database.name!r} was closed; its open transaction "
                    "has been rolled back"
                )
            raise OperationalError(
                f"the transaction on database {self.database.name!r} is already finished"
            )
        if self.past_deadline():
            raise self._timeout_error()

    async def _call(
        self,
        make: Callable[[], Awaitable[T]],
        what: str,
        sql: str,
        params: Sequence[Any] | None,
        *,
        settle: bool = True,
        plain: bool = False,
    ) -> T:
        """Run one operation on the pinned connection, within the deadline."""
        if self._guard is not None and not plain and self.depth == 0 and what in _GUARDED:
            return await self._guarded(make, what, sql, params)
        self.check()
        if settle and self._streams:
            await self._settle_streams()
        self._busy += 1
        try:
            aw = make()
            threshold = self.database.settings.slow_query_threshold
            if querylog.wanted(threshold):
                aw = querylog.timed(
                    self.database, what, sql, params, aw, threshold, in_transaction=True
                )
            if self.deadline is None:
                return await aw
            try:
                async with asyncio.timeout_at(self.deadline):
                    return await aw
            except TimeoutError as exc:
                if self.past_deadline() and not isinstance(exc, TransactionTimeoutError):
                    raise self._timeout_error() from None
                raise
        finally:
            self._busy -= 1
            self.last_used = time.monotonic()

    async def _guarded(
        self, make: Callable[[], Awaitable[T]], what: str, sql: str, params: Sequence[Any] | None
    ) -> T:
        """One statement of a shared transaction in a savepoint of its own, so that a
        failing one (a test expecting an IntegrityError) leaves the transaction usable
        on PostgreSQL too, where an error would otherwise abort all that follows."""
        guard = self._guard
        assert guard is not None
        conn = self.connection
        async with guard:
            await self._call(
                lambda: conn.savepoint(_GUARD), "savepoint", f"SAVEPOINT {_GUARD}", None, plain=True
            )
            try:
                result = await self._call(make, what, sql, params, plain=True)
            except BaseException:
                if self.state == _OPEN:
                    await shielded(Atomic._rollback_savepoint(conn, _GUARD))
                raise
            await self._call(
                lambda: conn.release_savepoint(_GUARD), "release", f"RELEASE {_GUARD}", None,
                plain=True,
            )  # fmt: skip
            return result

    # -- Executor ----------------------------------------------------------------

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        conn = self.connection
        return await self._call(lambda: conn.fetch(sql, params, write=write), "fetch", sql, params)

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        conn = self.connection
        return await self._call(
            lambda: conn.fetch_described(sql, params, write=write), "fetch", sql, params
        )

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        conn = self.connection
        return await self._call(lambda: conn.execute(sql, params), "execute", sql, params)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        conn = self.connection
        return await self._call(
            lambda: conn.execute_many(sql, params_seq), "execute_many", sql, None
        )

    def atomic_block(self) -> Atomic:
        """A savepoint block in this transaction (whichever task asks)."""
        return Atomic(_transaction=self)

    async def copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        schema: str | None = None,
        returning_pk: str | None = None,
    ) -> list[Any]:
        """``CopyExecutor.copy_insert`` on the pinned connection."""
        conn = self.connection
        if not can_copy(conn):
            raise OperationalError("this database's backend has no COPY")
        result: list[Any] = await self._call(
            lambda: conn.copy_insert(
                table, columns, rows, schema=schema, returning_pk=returning_pk
            ),
            "copy",
            f"COPY {table}",
            None,
        )
        return result

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        self.check()
        chunks = self.connection.stream(sql, params, chunk_size=chunk_size)
        state = _OpenStream()
        self._streams.add(state)
        try:
            while True:
                try:
                    chunk = await self._call(chunks.__anext__, "stream", sql, params, settle=False)
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            state.closing = True
            try:
                await shielded(chunks.aclose())
            finally:
                self._streams.discard(state)
                state.closed.set()

    async def _settle_streams(self) -> None:
        """Let a stream the caller has left finish closing before the next statement.

        ``break`` out of ``async for`` does not close the iterator: the event loop
        does, a moment later, when the generator is collected. Until then the stream
        still holds the connection (MySQL can run nothing else while an unbuffered
        result is open). So give that close a few loop turns to start, and wait for
        the ones that have started; a stream still being consumed is left alone.
        """
        for _ in range(3):
            if all(state.closing for state in self._streams):
                break
            await asyncio.sleep(0)
        for state in list(self._streams):
            if state.closing:
                await state.closed.wait()

    # -- on_commit ---------------------------------------------------------------

    def on_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` (sync, or async: awaited) after the outermost COMMIT."""
        if not callable(callback):
            raise TypeError(f"on_commit() takes a callable, got {callback!r}")
        self.check()
        self._on_commit.append((self.depth, callback))

    def _savepoint_ended(self, depth: int, *, rolled_back: bool) -> None:
        """A savepoint's callbacks go with it, or move to the block around it."""
        if rolled_back:
            self._on_commit = [(d, cb) for d, cb in self._on_commit if d < depth]
        else:
            self._on_commit = [(min(d, depth - 1), cb) for d, cb in self._on_commit]

    async def _run_on_commit(self) -> None:
        """Run the callbacks in order; every one runs, the first failure is raised."""
        callbacks, self._on_commit = self._on_commit, []
        failure: BaseException | None = None
        for _, callback in callbacks:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                _log.warning("an on_commit callback failed", exc_info=True)
                if failure is None:
                    failure = exc
        if failure is not None:
            raise failure

    # -- ending ------------------------------------------------------------------

    def end_abandoned(self, state: str) -> asyncio.Task[None]:
        """Roll back from outside the owner task (idle sweeper, database close)."""
        if self._ending is None:
            self.state = state
            self._ending = asyncio.get_running_loop().create_task(self._rollback_and_release())
        return self._ending

    async def _rollback_and_release(self) -> None:
        try:
            await self.connection.rollback()
        except Exception:
            _log.warning("rollback of an abandoned transaction on %r failed", self.database.name)
        finally:
            await self.release()

    async def release(self) -> None:
        """Give the connection back to the pool (once)."""
        lease, self._lease = self._lease, None
        self.database._forget_transaction(self)
        if lease is not None:
            await lease.__aexit__(None, None, None)


class Atomic:
    """What ``atomic()`` returns: an async context manager, and a decorator for async
    functions. Inside ``async with atomic() as tx``, ``tx`` is an ``Executor`` running
    on the transaction (``Model.objects.filter(...).all(client=tx)``)."""

    def __init__(
        self,
        using: str = "default",
        timeout: float | int | timedelta | None = None,
        *,
        isolation: str | None = None,
        read_only: bool = False,
        _database: AsyncDatabase | None = None,
        _transaction: Transaction | None = None,
    ) -> None:
        if not isinstance(using, str):
            raise TypeError(f"atomic(using=...) takes a database alias, got {using!r}")
        self.using = using
        self.timeout = _seconds(timeout)
        self.isolation = isolation
        self.read_only = read_only
        self._database = _database
        self._parent = _transaction
        self._tx: Transaction | None = None
        self._savepoint: str | None = None
        self._rollback = False
        self._token: Token[Mapping[str, Transaction] | None] | None = None
        self._outer_deadline: float | None = None
        self._entered = False
        #: the task was cancelled while its COMMIT ran (delivered once it is done)
        self._commit_cancelled = False

    # -- decorator -----------------------------------------------------------------

    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"atomic() decorates async functions; {fn!r} is not one")

        @functools.wraps(fn)
        async def run_atomically(*args: P.args, **kwargs: P.kwargs) -> R:
            async with self._fresh():
                return await fn(*args, **kwargs)

        return run_atomically

    def _fresh(self) -> Atomic:
        block = Atomic(
            self.using,
            self.timeout,
            isolation=self.isolation,
            read_only=self.read_only,
            _database=self._database,
            _transaction=self._parent,
        )
        return block

    # -- context manager -------------------------------------------------------------

    @property
    def transaction(self) -> Transaction:
        tx = self._tx
        if tx is None:
            raise OxydeError("this atomic block is not active (use it in 'async with')")
        return tx

    def set_rollback(self, rollback: bool = True) -> None:
        """Roll back this block when it exits, without raising."""
        self._rollback = rollback

    def on_commit(self, callback: Callable[[], Any]) -> None:
        """``on_commit`` for this block's transaction (see the module function)."""
        self.transaction.on_commit(callback)

    async def __aenter__(self) -> Self:
        if self._entered:
            raise OxydeError("an atomic block cannot be entered twice; call atomic() again")
        self._entered = True
        tx = self._parent
        if tx is None:
            database = self._database
            if database is None:
                from oxyde.db.registry import lookup

                database = lookup(self.using)
            tx = current_transaction_of(database)
            if tx is None:
                self._tx = await self._begin(database)
                return self
        await self._enter_savepoint(tx)
        return self

    async def _begin(self, database: AsyncDatabase) -> Transaction:
        deadline = None
        if self.timeout is not None:
            deadline = asyncio.get_running_loop().time() + self.timeout
        tx = await database._begin_transaction(
            isolation=self.isolation, read_only=self.read_only, deadline=deadline
        )
        active = _active.get()
        mapping = dict(active) if active else {}
        mapping[database.name] = tx
        self._token = _active.set(mapping)
        return tx

    async def _enter_savepoint(self, tx: Transaction) -> None:
        if self.isolation is not None or self.read_only:
            raise OxydeError(
                "isolation and read_only apply to the outermost atomic() block only; "
                "this block is nested in an open transaction"
            )
        name = f"sp_{tx.depth + 1}"
        # The depth changes only once the savepoint exists.
        conn = tx.connection
        await tx._call(lambda: conn.savepoint(name), "savepoint", f"SAVEPOINT {name}", None)
        tx.depth += 1
        self._tx = tx
        self._savepoint = name
        if self.timeout is not None:
            self._outer_deadline = tx.deadline
            mine = asyncio.get_running_loop().time() + self.timeout
            tx.deadline = mine if tx.deadline is None else min(tx.deadline, mine)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx = self._tx
        if tx is None:
            return
        if self._savepoint is None:
            try:
                await self._exit_outermost(tx, exc)
            finally:
                if self._commit_cancelled:
                    # Cancelled while committing: the block ended with the commit's real
                    # outcome (returned, or its error); the task gets the cancellation
                    # at its next await.
                    redeliver_cancellation()
        else:
            await self._exit_savepoint(tx, self._savepoint, exc)

    async def _exit_savepoint(self, tx: Transaction, name: str, exc: BaseException | None) -> None:
        try:
            if tx.state != _OPEN or not tx.connection.in_transaction:
                return  # the whole transaction is gone; the outermost block reports it
            timed_out = exc is None and tx.past_deadline()
            if exc is not None or self._rollback or timed_out:
                tx._savepoint_ended(tx.depth, rolled_back=True)
                await shielded(self._rollback_savepoint(tx.connection, name))
                if timed_out:
                    raise tx._timeout_error()
            else:
                conn = tx.connection
                await tx._call(
                    lambda: conn.release_savepoint(name), "release", f"RELEASE {name}", None
                )
                tx._savepoint_ended(tx.depth, rolled_back=False)
        finally:
            tx.depth -= 1
            if self.timeout is not None:
                tx.deadline = self._outer_deadline

    @staticmethod
    async def _rollback_savepoint(conn: Connection, name: str) -> None:
        if conn.in_transaction:
            await conn.rollback_to_savepoint(name)
            await conn.release_savepoint(name)

    async def _exit_outermost(self, tx: Transaction, exc: BaseException | None) -> None:
        failure: BaseException | None = None
        committed = False
        try:
            if tx.state == _OPEN:
                tx.state = _ENDING
                timed_out = tx.past_deadline()
                if exc is not None or self._rollback or timed_out:
                    try:
                        await shielded(tx.connection.rollback())
                    except Exception:
                        # The pool closes a connection still in a transaction; the
                        # block's own exception is the one worth reporting.
                        if exc is None:
                            raise
                        _log.warning("rollback on %r failed", tx.database.name, exc_info=True)
                    if exc is None and timed_out:
                        failure = tx._timeout_error()
                else:
                    # The commit point: from here the block reports what the server
                    # did, and a cancellation is delivered after (commit_point.py).
                    commit = asyncio.ensure_future(tx.connection.commit())
                    self._commit_cancelled = await past_commit_point(commit)
                    commit.result()
                    committed = True
                    routing = tx.database.routing
                    if routing is not None and not self.read_only:
                        routing.wrote()  # read-your-writes: this context reads the primary
            else:
                ending = tx._ending
                if ending is not None:
                    await shielded(ending)
                if exc is None:
                    try:
                        tx.check()
                    except BaseException as error:
                        failure = error
        finally:
            tx.state = _DONE
            try:
                await shielded(tx.release())
            except asyncio.CancelledError:
                if not committed:
                    raise
                # Past the commit point: the block still ends normally.
                self._commit_cancelled = True
            finally:
                self._reset_context(tx)
                if not committed:
                    tx._on_commit.clear()
        if failure is not None:
            raise failure
        if committed and tx._on_commit:
            # after the connection is back and the context reset: a callback's queries
            # run on their own, not in the finished transaction
            try:
                await tx._run_on_commit()
            except asyncio.CancelledError:
                # A callback was cancelled: the block committed all the same, and says
                # so; the cancellation reaches the task at its next await.
                self._commit_cancelled = True

    def _reset_context(self, tx: Transaction) -> None:
        token, self._token = self._token, None
        if token is None:
            return
        try:
            _active.reset(token)
        except ValueError:
            # Exited in another context than it was entered in: remove just our entry.
            active = _active.get()
            if active and active.get(tx.database.name) is tx:
                mapping = dict(active)
                del mapping[tx.database.name]
                _active.set(mapping or None)

    # -- Executor (delegates to the transaction) ----------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self.transaction.dialect

    @property
    def capabilities(self) -> Capabilities:
        return self.transaction.capabilities

    @property
    def in_transaction(self) -> bool:
        return True

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        return await self.transaction.fetch(sql, params, write=write)

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        return await self.transaction.fetch_described(sql, params, write=write)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        return await self.transaction.execute(sql, params)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        return await self.transaction.execute_many(sql, params_seq)

    def atomic_block(self) -> Atomic:
        return self.transaction.atomic_block()

    async def copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        schema: str | None = None,
        returning_pk: str | None = None,
    ) -> list[Any]:
        return await self.transaction.copy_insert(
            table, columns, rows, schema=schema, returning_pk=returning_pk
        )

    def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        return self.transaction.stream(sql, params, chunk_size=chunk_size)


_detached: set[asyncio.Task[Any]] = set()


def on_commit(callback: Callable[[], Any], using: str = "default") -> None:
    """Run ``callback`` once the current task's transaction on ``using`` commits.

    Inside ``atomic()``: after the outermost block commits (not at a savepoint), in
    registration order; a rollback discards it, and so does rolling back the savepoint
    it was registered in. A coroutine function (or any callable returning an
    awaitable) is awaited at the end of the ``async with`` block; every callback runs,
    and the first one that raises has its exception raised from there (the data is
    committed by then). Outside a transaction the callback runs now (an async one as
    a task of its own).
    """
    tx = get_active_transaction(using)
    if tx is not None:
        tx.on_commit(callback)
        return
    if not callable(callback):
        raise TypeError(f"on_commit() takes a callable, got {callback!r}")
    result = callback()
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _detached.add(task)
        task.add_done_callback(_detached_done)


def _detached_done(task: asyncio.Task[Any]) -> None:
    _detached.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log.warning("an on_commit callback failed", exc_info=task.exception())


@overload
def atomic(
    using: str = "default",
    timeout: float | int | timedelta | None = None,
    *,
    isolation: str | None = None,
    read_only: bool = False,
) -> Atomic: ...


@overload
def atomic(using: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...


def atomic(
    using: str | Callable[P, Awaitable[R]] = "default",
    timeout: float | int | timedelta | None = None,
    *,
    isolation: str | None = None,
    read_only: bool = False,
) -> Atomic | Callable[P, Coroutine[Any, Any, R]]:
    """A transaction block on database ``using``: ``async with atomic() as tx:`` or
    ``@atomic()`` (``@atomic`` works too).

    ``timeout`` (seconds or ``timedelta``) bounds the whole block. ``isolation``
    ("read committed", "repeatable read", "serializable"...) and ``read_only`` apply
    to the outermost block and are passed to the backend's ``begin``.
    """
    if callable(using):
        return Atomic()(using)
    return Atomic(using, timeout, isolation=isolation, read_only=read_only)
