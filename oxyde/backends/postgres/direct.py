"""One statement on a connection the caller holds (a transaction's, a lease's), through libpq.

The same statement path as the batched one (``wire.py``: pipeline mode, one Sync, the
prepared-statement cache), for one statement at a time: the caller holds the connection
and psycopg's connection lock, so nothing else runs on it meanwhile. Pipeline mode is
left before returning, whatever happens, so psycopg's own calls (``BEGIN``, ``COMMIT``,
COPY, cursors) find the connection as they expect it.

A task cancelled while the server runs its statement asks the server to cancel it and
reads the outcome away before letting the cancellation through, so the connection comes
back usable (inside a transaction, the transaction is then aborted, as after any error);
a connection that cannot be brought back is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import ExecStatus, PipelineStatus, TransactionStatus

from oxyde.backends.commit_point import finish_past_commit_point, redeliver_cancellation
from oxyde.backends.postgres.errors import map_error
from oxyde.backends.postgres.wire import Wire
from oxyde.exceptions import OxydeError

__all__ = ["run_many", "run_statement"]

_log = logging.getLogger("oxyde.postgres")

#: how long a cancelled statement may take to stop before its connection is closed
_CANCEL_WAIT: Final = 5.0

#: parameter sets of ``run_many`` sent before their results are read: a cancelled task
#: then only waits for the slice in flight
_MANY_SLICE: Final = 1000

_PIPELINE_SYNC: Final = ExecStatus.PIPELINE_SYNC
_FATAL_ERROR: Final = ExecStatus.FATAL_ERROR
_PIPELINE_ABORTED: Final = ExecStatus.PIPELINE_ABORTED
_COPY_STATES: Final = frozenset({ExecStatus.COPY_IN, ExecStatus.COPY_OUT, ExecStatus.COPY_BOTH})
_IDLE: Final = TransactionStatus.IDLE
_PIPELINE_OFF: Final = PipelineStatus.OFF


async def run_statement(
    raw: AsyncConnection[Any],
    wire: Wire,
    sql: str,
    params: Sequence[Any],
    mode: int,
    write: bool = False,
) -> Any:
    """Run ``sql`` with ``params`` on ``raw`` (held, and its lock taken, by the caller):
    rows, a row count or (names, rows) by ``mode`` (``wire.ROWS``, ``COUNT``,
    ``DESCRIBED``). Errors are oxyde's, with psycopg's as their cause. ``write``: the
    statement changes data; outside a transaction it has committed once its result is
    in, so a large result's conversion is past the commit point (``commit_point``)."""
    pgconn = raw.pgconn
    loop = asyncio.get_running_loop()
    try:
        pgconn.enter_pipeline_mode()
    except psycopg.Error as exc:
        raise _mapped(exc) from exc
    large: Any = None
    try:
        fresh = False
        while large is None:
            name = wire.send(sql, params, fresh)
            preparing = wire.preparing
            try:
                error, result, aborted = await _exchange(raw, loop)
            except BaseException as exc:
                # Interrupted: whether the PREPARE got through is unknown.
                if preparing is not None:
                    wire.unprepare(preparing)
                if isinstance(exc, psycopg.Error):
                    raise _mapped(exc) from exc
                raise
            if preparing is not None and aborted:
                # A command before the statement failed (its PREPARE or the DEALLOCATE
                # making room): the name was never made.
                wire.unprepare(preparing)
            if error is None:
                if not wire.sliced(result, mode):
                    return wire.outcome(result, mode)
                # converted below, out of pipeline mode: the exchange is over
                large = result
                continue
            failure = wire.error(error)
            # Stale names are dropped in a transaction too; only outside one was the
            # failed statement all there was, so that it may simply run again.
            stale = wire.forget(name, failure.sqlstate)
            if fresh or not stale or pgconn.transaction_status != _IDLE:
                raise failure
            fresh = True
    finally:
        _leave_pipeline(pgconn)
    converting = wire.outcome_in_slices(large, mode)
    if write and pgconn.transaction_status == _IDLE:
        return await finish_past_commit_point(converting)
    return await converting


async def run_many(
    raw: AsyncConnection[Any],
    wire: Wire,
    sql: str,
    params_seq: Sequence[Sequence[Any]],
    own_transaction: bool,
) -> int:
    """Run ``sql`` once per parameter set on ``raw`` (held, and its lock taken, by the
    caller), each in its own Sync group, with the connection's prepared statements; the
    summed row count. With ``own_transaction`` the sets run between a BEGIN and a COMMIT
    of their own, all or nothing; else in the caller's transaction, which an error leaves
    aborted. The first error is raised.

    Commit point: once the COMMIT is sent, a cancellation no longer decides the outcome.
    The server is asked to stop; if the COMMIT still went through, the count is returned
    and the cancellation delivered at the task's next await (``commit_point``)."""
    pgconn = raw.pgconn
    loop = asyncio.get_running_loop()
    try:
        pgconn.enter_pipeline_mode()
    except psycopg.Error as exc:
        raise _mapped(exc) from exc
    groups = _Groups(raw, loop)
    try:
        if own_transaction:
            groups.command(b"BEGIN")
        total = len(params_seq)
        for start in range(0, total, _MANY_SLICE):
            for params in params_seq[start : start + _MANY_SLICE]:
                wire.send(sql, params)
                if wire.preparing is not None:
                    groups.preparing.append(wire.preparing)
                groups.pending += 1
            last = start + _MANY_SLICE >= total
            if last and own_transaction:
                groups.command(b"COMMIT")
            try:
                await groups.read()
            except asyncio.CancelledError:
                if groups.committed:
                    redeliver_cancellation()
                    return groups.count
                raise
            if groups.error is not None:
                break
        if groups.preparing and groups.error is not None:
            # Which PREPARE of the failed run got through is not known: start over.
            for name in groups.preparing:
                wire.unprepare(name)
        if groups.error is not None:
            if own_transaction and not groups.commit_sent:
                groups.command(b"ROLLBACK")
                await groups.read()
            failure = wire.error(groups.error)
            wire.forget(None, failure.sqlstate)
            raise failure
        return groups.count
    except psycopg.Error as exc:
        raise _mapped(exc) from exc
    finally:
        _leave_pipeline(pgconn)


class _Groups:
    """The Sync groups of ``run_many`` in flight, and what their results said."""

    __slots__ = (
        "commit_sent",
        "committed",
        "count",
        "error",
        "loop",
        "pending",
        "preparing",
        "raw",
    )

    def __init__(self, raw: AsyncConnection[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.raw = raw
        self.loop = loop
        #: Sync groups sent whose results are not all read
        self.pending = 0
        self.count = 0
        self.error: Any = None
        self.preparing: list[bytes] = []
        self.commit_sent = False
        #: the COMMIT was answered COMMIT (not ROLLBACK, not an error)
        self.committed = False

    def command(self, sql: bytes) -> None:
        pgconn = self.raw.pgconn
        pgconn.send_query_params(sql, None)
        pgconn.pipeline_sync()
        self.pending += 1
        if sql == b"COMMIT":
            self.commit_sent = True

    async def read(self) -> None:
        """Flush and read every pending group; cancelled: stop the server, read the rest
        away (or close the connection), then raise."""
        try:
            await self._read()
        except asyncio.CancelledError:
            await _interrupt(self.raw, self.loop, self._drain)
            raise

    async def _read(self) -> None:
        pgconn = self.raw.pgconn
        fd = pgconn.socket
        while pgconn.flush():
            await _ready(self.loop, fd, write=True)
        while self.pending:
            await _ready(self.loop, fd, write=False)
            self._drain()

    def _drain(self) -> bool:
        """Take every result that has arrived; whether every group is read."""
        pgconn = self.raw.pgconn
        pgconn.consume_input()
        empty = 0
        while self.pending and not pgconn.is_busy():
            res = pgconn.get_result()
            if res is None:
                empty += 1
                if empty > 1:
                    break
                continue
            empty = 0
            status = res.status
            if status == _PIPELINE_SYNC:
                self.pending -= 1
            elif status == _FATAL_ERROR:
                if self.error is None:
                    self.error = res
            elif status in _COPY_STATES:
                raise psycopg.NotSupportedError("COPY cannot run in a batch of statements")
            elif status != _PIPELINE_ABORTED:
                if res.command_status == b"COMMIT":
                    self.committed = self.error is None
                else:
                    self.count += res.command_tuples or 0
        return not self.pending


async def _exchange(
    raw: AsyncConnection[Any], loop: asyncio.AbstractEventLoop
) -> tuple[Any, Any, bool]:
    """Send what is queued and read up to the Sync: (first error or None, last result,
    whether a command of the group was skipped after an earlier one failed)."""
    pgconn = raw.pgconn
    fd = pgconn.socket
    while pgconn.flush():
        await _ready(loop, fd, write=True)
    error: Any = None
    result: Any = None
    aborted = False
    try:
        while True:
            await _ready(loop, fd, write=False)
            pgconn.consume_input()
            empty = 0
            while not pgconn.is_busy():
                res = pgconn.get_result()
                if res is None:
                    # One None ends a statement's results; two in a row: the rest has
                    # not arrived yet.
                    empty += 1
                    if empty > 1:
                        break
                    continue
                empty = 0
                status = res.status
                if status == _PIPELINE_SYNC:
                    return error, result, aborted
                if status == _FATAL_ERROR:
                    if error is None:
                        error = res
                elif status == _PIPELINE_ABORTED:
                    aborted = True
                elif status in _COPY_STATES:
                    raise psycopg.NotSupportedError("COPY cannot run as a single statement")
                else:
                    result = res
    except asyncio.CancelledError:
        await _interrupt(raw, loop, lambda: _drain_one(pgconn))
        raise


def _drain_one(pgconn: Any) -> bool:
    """Read away what has arrived of one Sync group; whether its Sync came."""
    pgconn.consume_input()
    empty = 0
    while not pgconn.is_busy() and empty < 2:
        res = pgconn.get_result()
        if res is None:
            empty += 1
        elif res.status == _PIPELINE_SYNC:
            return True
        else:
            empty = 0
    return False


async def _interrupt(
    raw: AsyncConnection[Any], loop: asyncio.AbstractEventLoop, drain: Callable[[], bool]
) -> None:
    """The waiting task was cancelled: stop the statement and read its outcome away
    (``drain`` until it says all is read), or close the connection."""
    pgconn = raw.pgconn
    try:
        async with asyncio.timeout(_CANCEL_WAIT):
            await raw.cancel_safe(timeout=_CANCEL_WAIT)
            fd = pgconn.socket
            while pgconn.flush():
                await _ready(loop, fd, write=True)
            while not drain():
                await _ready(loop, fd, write=False)
    except BaseException as exc:
        # Interrupted again, timed out or failed: the protocol state is unknown.
        _log.info("closing a PostgreSQL connection after a failed cancel: %r", exc)
        pgconn.finish()
        if not isinstance(exc, Exception):
            raise


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    future: asyncio.Future[None] = loop.create_future()
    if write:
        loop.add_writer(fd, _wake, future)
    else:
        loop.add_reader(fd, _wake, future)
    try:
        await future
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _leave_pipeline(pgconn: Any) -> None:
    if pgconn.pipeline_status == _PIPELINE_OFF:
        return
    try:
        pgconn.exit_pipeline_mode()
    except psycopg.Error:
        # Results still pending (an interrupted exchange): never hand the connection
        # back half in pipeline mode.
        pgconn.finish()


def _mapped(exc: psycopg.Error) -> OxydeError:
    error = map_error(exc)
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error
