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
from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import ExecStatus, PipelineStatus, TransactionStatus

from oxyde.backends.postgres.errors import map_error
from oxyde.backends.postgres.wire import Wire
from oxyde.exceptions import OxydeError

__all__ = ["run_statement"]

_log = logging.getLogger("oxyde.postgres")

#: how long a cancelled statement may take to stop before its connection is closed
_CANCEL_WAIT: Final = 5.0

_PIPELINE_SYNC: Final = ExecStatus.PIPELINE_SYNC
_FATAL_ERROR: Final = ExecStatus.FATAL_ERROR
_PIPELINE_ABORTED: Final = ExecStatus.PIPELINE_ABORTED
_COPY_STATES: Final = frozenset({ExecStatus.COPY_IN, ExecStatus.COPY_OUT, ExecStatus.COPY_BOTH})
_IDLE: Final = TransactionStatus.IDLE
_PIPELINE_OFF: Final = PipelineStatus.OFF


async def run_statement(
    raw: AsyncConnection[Any], wire: Wire, sql: str, params: Sequence[Any], mode: int
) -> Any:
    """Run ``sql`` with ``params`` on ``raw`` (held, and its lock taken, by the caller):
    rows, a row count or (names, rows) by ``mode`` (``wire.ROWS``, ``COUNT``,
    ``DESCRIBED``). Errors are oxyde's, with psycopg's as their cause."""
    pgconn = raw.pgconn
    loop = asyncio.get_running_loop()
    try:
        pgconn.enter_pipeline_mode()
    except psycopg.Error as exc:
        raise _mapped(exc) from exc
    try:
        fresh = False
        while True:
            name = wire.send(sql, params, fresh)
            try:
                error, result = await _exchange(raw, loop)
            except psycopg.Error as exc:
                raise _mapped(exc) from exc
            if error is None:
                return wire.outcome(result, mode)
            failure = wire.error(error)
            # Outside a transaction block the failed statement was all there was, so a
            # statement whose prepared form was gone may simply run again.
            if (
                fresh
                or pgconn.transaction_status != _IDLE
                or not wire.forget(name, failure.sqlstate)
            ):
                raise failure
            fresh = True
    finally:
        _leave_pipeline(pgconn)


async def _exchange(raw: AsyncConnection[Any], loop: asyncio.AbstractEventLoop) -> tuple[Any, Any]:
    """Send what is queued and read up to the Sync: (first error or None, last result)."""
    pgconn = raw.pgconn
    fd = pgconn.socket
    while pgconn.flush():
        await _ready(loop, fd, write=True)
    error: Any = None
    result: Any = None
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
                    return error, result
                if status == _FATAL_ERROR:
                    if error is None:
                        error = res
                elif status in _COPY_STATES:
                    raise psycopg.NotSupportedError("COPY cannot run as a single statement")
                elif status != _PIPELINE_ABORTED:
                    result = res
    except asyncio.CancelledError:
        await _interrupt(raw, loop)
        raise


async def _interrupt(raw: AsyncConnection[Any], loop: asyncio.AbstractEventLoop) -> None:
    """The waiting task was cancelled: stop the statement and read its outcome away,
    or close the connection."""
    pgconn = raw.pgconn
    try:
        async with asyncio.timeout(_CANCEL_WAIT):
            await raw.cancel_safe(timeout=_CANCEL_WAIT)
            fd = pgconn.socket
            while True:
                pgconn.consume_input()
                empty = 0
                while not pgconn.is_busy() and empty < 2:
                    res = pgconn.get_result()
                    if res is None:
                        empty += 1
                    elif res.status == _PIPELINE_SYNC:
                        return
                    else:
                        empty = 0
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
