"""Auto-batching: independent statements of many tasks share pipelined round trips.

A statement run on the database outside any transaction (``AsyncDatabase.fetch`` /
``execute`` with parameters) does not need a connection of its own; it needs its own
*result*. The batcher sends such statements over a *pipe*: a pooled connection in
libpq pipeline mode, each statement followed by its own Sync. The server runs them one
after the other, each alone in its implicit transaction exactly as in autocommit, and
an error aborts nothing but the statement that raised it. The results come back in
order on one socket, and a reader callback hands each task its rows or its error.

Which pipe a statement takes:

- the pipe opened in the current event-loop iteration, while it holds fewer than
  ``depth`` statements: tasks started together (``asyncio.gather``) share it, so ten
  lookups cost one round trip instead of ten, and one connection instead of ten;
- else a new pipe on a pooled connection, so statements issued at different moments
  still run in parallel on the server;
- when every pooled connection is already lent out, the least loaded pipe, behind the
  statements already in it, rather than waiting for a connection to come back.

A pipe stops taking statements at the end of the iteration that opened it. Once its
last result is in it stays with the batcher, idle, for the next statements (``LINGER``
seconds at most, so a busy application does not pay a pool round trip per statement);
it goes back to the pool at once when the pool has no connection left to lend, when an
acquirer needs one, or when it has been out of the pool for ``HOLD`` seconds (so the
pool's ``max_lifetime`` and ``max_idle`` still apply to it).

A task cancelled while it waits gives up its result only: the statement still runs and
the others in the pipe are untouched. When every statement still pending in a pipe has
been given up, the server is asked to cancel the one running, and the pipe takes no more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import ConnStatus, ExecStatus

from oxyde.backends.commit_point import finish_past_commit_point
from oxyde.backends.postgres.errors import map_error
from oxyde.backends.postgres.wire import Unconverted, Wire
from oxyde.exceptions import ConnectionLostError, OxydeError

__all__ = ["DEFAULT_DEPTH", "HOLD", "LINGER", "StatementBatcher"]

_log = logging.getLogger("oxyde.postgres")

#: statements one pipe takes from the tasks of one loop iteration before another opens
DEFAULT_DEPTH: Final = 32
#: how long a drained pipe stays with the batcher, idle, before going back to the pool
LINGER: Final = 0.2
#: a pipe out of the pool this long goes back when it next drains
HOLD: Final = 5.0
#: how long a pipe whose every statement was given up waits for the server to cancel
_CANCEL_WAIT: Final = 5.0

_PIPELINE_SYNC: Final = ExecStatus.PIPELINE_SYNC
_FATAL_ERROR: Final = ExecStatus.FATAL_ERROR
_PIPELINE_ABORTED: Final = ExecStatus.PIPELINE_ABORTED
_COPY_STATES: Final = frozenset({ExecStatus.COPY_IN, ExecStatus.COPY_OUT, ExecStatus.COPY_BOTH})
_CONNECTION_OK: Final = ConnStatus.OK

Acquire = Callable[[], Awaitable[AsyncConnection[Any]]]
Release = Callable[[AsyncConnection[Any], bool], Coroutine[Any, Any, None]]
WireOf = Callable[[AsyncConnection[Any]], Wire]


class _Entry:
    """One statement in a pipe, from its Sync group's first result to its Sync."""

    __slots__ = (
        "aborted",
        "error",
        "future",
        "mode",
        "name",
        "params",
        "preparing",
        "release",
        "result",
        "retried",
        "sql",
    )

    def __init__(
        self, future: asyncio.Future[Any], mode: int, sql: str, params: Sequence[Any]
    ) -> None:
        self.future = future
        self.mode = mode
        self.sql = sql
        self.params = params
        #: the prepared statement it ran as (None: unnamed)
        self.name: bytes | None = None
        #: the name whose PREPARE went with it (None: none did)
        self.preparing: bytes | None = None
        #: a command of its Sync group was skipped after an earlier one failed
        self.aborted = False
        self.result: Any = None
        self.error: Any = None
        self.retried = False
        #: set on the entry whose task hands the drained pipe back to the pool
        self.release = False


class _Pipe:
    """A pooled connection in pipeline mode, shared by the statements of many tasks."""

    __slots__ = (
        "_reading",
        "_writing",
        "batcher",
        "broken",
        "cancelling",
        "fd",
        "idle_since",
        "inflight",
        "joinable",
        "loop",
        "pgconn",
        "raw",
        "released",
        "sealed",
        "taken_at",
        "wire",
    )

    def __init__(
        self,
        raw: AsyncConnection[Any],
        wire: Wire,
        loop: asyncio.AbstractEventLoop,
        batcher: StatementBatcher,
    ) -> None:
        self.raw = raw
        self.wire = wire
        self.pgconn = raw.pgconn
        self.fd = self.pgconn.socket
        self.loop = loop
        self.batcher = batcher
        self.inflight: deque[_Entry] = deque()
        #: no longer takes statements from tasks of the iteration that opened it
        self.sealed = False
        #: takes statements at all (not broken, cancelling or released)
        self.joinable = True
        self.broken = False
        self.cancelling = False
        self.released = False
        #: when it went idle with the batcher (None: in use)
        self.idle_since: float | None = None
        self.taken_at = loop.time()
        self._reading = False
        self._writing = False
        self.pgconn.enter_pipeline_mode()
        # Registered for the pipe's whole life, idle spells included: an idle pipe the
        # server closes is noticed at once.
        self._reading = True
        loop.add_reader(self.fd, self._on_readable)

    # -- sending ---------------------------------------------------------------------

    def submit(self, entry: _Entry) -> None:
        """Queue and flush one statement; binding errors raise with nothing sent."""
        try:
            entry.name = self.wire.send(entry.sql, entry.params, entry.retried)
            entry.preparing = self.wire.preparing
        except psycopg.Error as exc:
            # libpq refused to queue: the connection itself is in trouble.
            error = _connection_error(exc)
            self._break(exc)
            raise error from exc
        self.inflight.append(entry)
        self._flush()

    def _flush(self) -> None:
        try:
            pending = self.pgconn.flush()
        except psycopg.Error as exc:
            self._break(exc)
            return
        if pending and not self._writing:
            # The socket buffer is full: finish when it drains.
            self._writing = True
            self.loop.add_writer(self.fd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            pending = self.pgconn.flush()
        except psycopg.Error as exc:
            self._break(exc)
            return
        if not pending and self._writing:
            self._writing = False
            self.loop.remove_writer(self.fd)

    # -- receiving -------------------------------------------------------------------

    def _on_readable(self) -> None:
        pgconn = self.pgconn
        inflight = self.inflight
        # The last entry whose task this callback woke: it hands a drained pipe back.
        woken: _Entry | None = None
        try:
            pgconn.consume_input()
            _consume_notifies(pgconn)
            empty = 0
            while not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:
                    # One None ends each statement's results; two in a row: nothing
                    # more has arrived yet.
                    empty += 1
                    if empty > 1:
                        break
                    continue
                empty = 0
                if not inflight:
                    raise psycopg.InternalError("a result arrived for no statement")
                entry = inflight[0]
                status = result.status
                if status == _PIPELINE_SYNC:
                    inflight.popleft()
                    if self._complete(entry):
                        woken = entry
                    if self.broken:
                        return  # a retry could not be sent: _break has failed the rest
                elif status == _FATAL_ERROR:
                    if entry.error is None:
                        entry.error = result
                elif status == _PIPELINE_ABORTED:
                    # Follows the error of the same group, already kept.
                    entry.aborted = True
                elif status in _COPY_STATES:
                    raise psycopg.NotSupportedError("COPY cannot run as a batched statement")
                else:
                    # PREPARE or DEALLOCATE come first, the statement's own result last.
                    entry.result = result
        except psycopg.Error as exc:
            self._break(exc)
            return
        if not inflight and self.idle_since is None and (self.sealed or not self.joinable):
            self.batcher._pipe_drained(self, woken)

    def _complete(self, entry: _Entry) -> bool:
        """Deliver one statement's outcome; whether its task was woken by it."""
        future = entry.future
        wire = self.wire
        if entry.preparing is not None and entry.aborted:
            # Its PREPARE (or the DEALLOCATE before it) failed: the name was never made.
            wire.unprepare(entry.preparing)
        if entry.error is not None and future.done():
            # Given up by its task, yet what it says about the session still counts.
            wire.forget(entry.name, wire.error(entry.error).sqlstate)
        if future.done():
            # Given up by its task: nobody wants the outcome.
            return False
        if entry.error is not None:
            error = self.wire.error(entry.error)
            # A pipe runs no transaction block (no statement sent here can open one),
            # so a statement whose prepared form was gone never ran and nothing else
            # was aborted with it: it may simply run again.
            if not entry.retried and self.wire.forget(entry.name, error.sqlstate):
                entry.retried = True
                entry.error = entry.result = None
                entry.aborted = False
                try:
                    self.submit(entry)
                except OxydeError as exc:
                    future.set_exception(exc)
                    return True
                return False
            future.set_exception(error)
            return True
        try:
            if wire.sliced(entry.result, entry.mode):
                value: Any = Unconverted(entry.result, entry.mode)
            else:
                value = wire.outcome(entry.result, entry.mode)
        except OxydeError as exc:
            future.set_exception(exc)
            return True
        entry.result = None
        future.set_result(value)
        return True

    # -- failure, cancellation, return -----------------------------------------------

    def _break(self, exc: psycopg.Error) -> None:
        """The connection failed: every pending statement fails with it."""
        if self.broken:
            return
        _log.info("a batched PostgreSQL connection failed: %s", exc)
        self.broken = True
        self.joinable = False
        self._stop_io()
        error = _connection_error(exc)
        woken: _Entry | None = None
        inflight, self.inflight = self.inflight, deque()
        for entry in inflight:
            if not entry.future.done():
                entry.future.set_exception(error)
                woken = entry
        self.batcher._pipe_drained(self, woken)

    def _stop_io(self) -> None:
        if self._reading:
            self._reading = False
            with contextlib.suppress(OSError, ValueError):
                self.loop.remove_reader(self.fd)
        if self._writing:
            self._writing = False
            with contextlib.suppress(OSError, ValueError):
                self.loop.remove_writer(self.fd)

    def abandoned(self) -> bool:
        """Whether every statement still pending has been given up by its task."""
        return all(entry.future.done() for entry in self.inflight)

    async def cancel(self) -> None:
        """Ask the server to stop the running statement (every pending one is given
        up), then wait for the pipe to drain; a pipe that does not is closed."""
        loop = self.loop
        deadline = loop.time() + _CANCEL_WAIT
        try:
            # A cancel request stops the statement running when it arrives; the ones
            # queued behind it then start, so ask again until the pipe is empty.
            while self.inflight and not self.broken:
                pending = len(self.inflight)
                await self.raw.cancel_safe(timeout=_CANCEL_WAIT)
                step = loop.time() + 0.05
                while len(self.inflight) == pending and not self.broken:
                    now = loop.time()
                    if now > deadline:
                        raise TimeoutError("the server did not cancel the statements")
                    if now > step:
                        break  # it arrived between two statements: ask again
                    await asyncio.sleep(0.002)
        except (psycopg.Error, OSError, TimeoutError, asyncio.CancelledError) as exc:
            _log.info("closing a batched connection after a failed cancel: %r", exc)
            self.close()
            if isinstance(exc, asyncio.CancelledError):
                raise

    def close(self) -> None:
        """Close the connection now (the pool replaces it)."""
        self._stop_io()
        self.broken = True
        self.joinable = False
        inflight, self.inflight = self.inflight, deque()
        error = ConnectionLostError("the batched connection was closed", code="08000")
        for entry in inflight:
            if not entry.future.done():
                entry.future.set_exception(error)
        self.pgconn.finish()

    def detach(self) -> bool:
        """Leave pipeline mode before the connection goes back; False if it cannot
        (the connection is then closed, and the pool replaces it)."""
        self._stop_io()
        pgconn = self.pgconn
        if not self.broken and pgconn.status == _CONNECTION_OK:
            try:
                pgconn.exit_pipeline_mode()
                return True
            except psycopg.Error:
                pass
        # Never lent out again half in pipeline mode: a broken pipe's connection is
        # closed whatever state libpq thinks it is in.
        pgconn.finish()
        return False


class StatementBatcher:
    """Runs independent statements over shared pipelined connections (module doc).

    ``acquire``/``release`` lend and take back a pooled connection (``release``'s
    flag: the connection failed), ``wire_of`` gives a connection's ``Wire``, and
    ``exhausted`` says whether every pooled connection is lent out.
    """

    def __init__(
        self,
        acquire: Acquire,
        release: Release,
        wire_of: WireOf,
        exhausted: Callable[[], bool],
        pool_open: Callable[[], bool],
        *,
        depth: int = DEFAULT_DEPTH,
    ) -> None:
        self._acquire = acquire
        self._release = release
        self._wire_of = wire_of
        self._exhausted = exhausted
        self._pool_open = pool_open
        self._depth = depth
        #: the pipe of the current loop iteration, if one is open
        self._open: _Pipe | None = None
        #: pipes not yet handed back (joined when no connection is left in the pool)
        self._pipes: set[_Pipe] = set()
        #: drained pipes kept for the next statements, most recent last
        self._idle: list[_Pipe] = []
        self._reaper: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pipes(self) -> int:
        """Connections currently held as pipes, idle ones included."""
        return len(self._pipes)

    @property
    def idle(self) -> int:
        """Pipes waiting, idle, for the next statements."""
        return len(self._idle)

    async def run(self, sql: str, params: Sequence[Any], mode: int, write: bool = False) -> Any:
        """``sql`` with ``params`` on a pipe: rows, a row count or (names, rows), by
        ``mode`` (``wire.ROWS``, ``wire.COUNT``, ``wire.DESCRIBED``). ``write``: the
        statement changes data, committed (alone in its implicit transaction) once its
        result is in, so a large result's conversion is past the commit point."""
        pipe = self._open
        if pipe is None or not pipe.joinable or len(pipe.inflight) >= self._depth:
            pipe = self._take_idle() if self._idle else None
            if pipe is None and self._pipes and self._exhausted():
                pipe = self._least_loaded()
            if pipe is None:
                pipe = await self._new_pipe()
        entry = _Entry(pipe.loop.create_future(), mode, sql, params)
        pipe.submit(entry)
        try:
            value = await entry.future
        except asyncio.CancelledError:
            if not entry.release and pipe.joinable and pipe.inflight and pipe.abandoned():
                # Nobody waits for anything this pipe still runs: stop the server.
                pipe.joinable = False
                pipe.cancelling = True
                self._spawn(self._cancel(pipe))
            raise
        finally:
            if entry.release:
                await self._give_back(pipe)
        if type(value) is Unconverted:
            # Converted here, in this task, a slice at a time (the pipe may be serving
            # other statements or be back in the pool by now).
            converting = pipe.wire.outcome_in_slices(value.result, value.mode)
            if write:
                return await finish_past_commit_point(converting)
            return await converting
        return value

    async def _new_pipe(self) -> _Pipe:
        raw = await self._acquire()
        try:
            loop = asyncio.get_running_loop()
            pipe = _Pipe(raw, self._wire_of(raw), loop, self)
        except BaseException:
            await self._release(raw, True)
            raise
        self._pipes.add(pipe)
        self._open = pipe
        loop.call_soon(self._seal, pipe)
        return pipe

    def _least_loaded(self) -> _Pipe | None:
        best: _Pipe | None = None
        for pipe in self._pipes:
            if pipe.joinable and (best is None or len(pipe.inflight) < len(best.inflight)):
                best = pipe
        return best

    def _go_idle(self, pipe: _Pipe) -> None:
        now = pipe.loop.time()
        pipe.idle_since = now
        pipe.sealed = True
        self._idle.append(pipe)
        if self._reaper is None:
            self._reaper = pipe.loop.call_at(now + LINGER, self._reap)

    def _take_idle(self) -> _Pipe | None:
        """The most recently idle pipe, back in use for this iteration."""
        idle = self._idle
        while idle:
            pipe = idle.pop()
            pipe.idle_since = None
            if pipe.broken or pipe.released:
                continue
            pipe.sealed = False
            self._open = pipe
            pipe.loop.call_soon(self._seal, pipe)
            return pipe
        return None

    def _reap(self) -> None:
        """Give idle pipes that lingered ``LINGER`` seconds back to the pool."""
        self._reaper = None
        idle = self._idle
        if not idle:
            return
        loop = idle[0].loop
        now = loop.time()
        expired = [pipe for pipe in idle if now - (pipe.idle_since or now) >= LINGER]
        if expired:
            self._idle = [pipe for pipe in idle if pipe not in expired]
            for pipe in expired:
                pipe.idle_since = None
                pipe.released = True
                self._pipes.discard(pipe)
            self._spawn(self._give_back_all(expired))
        if self._idle:
            oldest = min(pipe.idle_since or now for pipe in self._idle)
            self._reaper = loop.call_at(oldest + LINGER, self._reap)

    def reclaim(self) -> AsyncConnection[Any] | None:
        """An idle pipe's connection, out of pipeline mode, for an acquirer that found
        the pool empty (it stays counted as lent); None when no pipe is idle."""
        while self._idle:
            pipe = self._idle.pop()
            pipe.idle_since = None
            pipe.released = True
            self._pipes.discard(pipe)
            if pipe.detach():
                return pipe.raw
            self._spawn(self._release(pipe.raw, True))
        return None

    async def _give_back_all(self, pipes: list[_Pipe]) -> None:
        for pipe in pipes:
            await self._give_back(pipe)

    def _seal(self, pipe: _Pipe) -> None:
        pipe.sealed = True
        if self._open is pipe:
            self._open = None
        if not pipe.inflight:
            # Nothing was sent on it (binding failed) or everything is already back.
            self._pipe_drained(pipe, None)

    def _pipe_drained(self, pipe: _Pipe, woken: _Entry | None) -> None:
        """A pipe has nothing pending and takes no more statements from its iteration:
        idle with the batcher, or back to the pool, by the task ``woken`` by its last
        result when there is one (no extra task on the common path), else by a task
        of its own."""
        if pipe.released or pipe.cancelling:
            return
        if pipe.idle_since is not None:
            # Idle already: only a failure (the server closed it) brings it here.
            self._idle.remove(pipe)
            pipe.idle_since = None
        elif (
            not pipe.broken
            and not self._exhausted()
            and pipe.loop.time() - pipe.taken_at < HOLD
            and self._pool_open()
        ):
            self._go_idle(pipe)
            return
        pipe.released = True
        pipe.joinable = False
        self._pipes.discard(pipe)
        if self._open is pipe:
            self._open = None
        if woken is not None:
            woken.release = True
        else:
            self._spawn(self._give_back(pipe))

    async def _give_back(self, pipe: _Pipe) -> None:
        ok = pipe.detach()
        await self._release(pipe.raw, not ok)

    async def _cancel(self, pipe: _Pipe) -> None:
        try:
            await pipe.cancel()
        finally:
            pipe.cancelling = False
            if not pipe.released:
                pipe.released = True
                self._pipes.discard(pipe)
                if self._open is pipe:
                    self._open = None
                await self._give_back(pipe)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Give idle pipes back and wait for background work (cancels, returns)."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        for pipe in idle:
            pipe.idle_since = None
            pipe.released = True
            self._pipes.discard(pipe)
            await self._give_back(pipe)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _consume_notifies(pgconn: Any) -> None:
    while notify := pgconn.notifies():
        handler = pgconn.notify_handler
        if handler is not None:
            handler(notify)


def _connection_error(exc: psycopg.Error) -> OxydeError:
    error = map_error(exc)
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error
