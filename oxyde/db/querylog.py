"""Watching statements: SQL logging on ``oxyde.sql`` (DEBUG) and ``oxyde.sql.slow``
(WARNING), query hooks (``oxyde.events``) and OpenTelemetry spans (``oxyde.otel``).

Nothing is timed, built or formatted unless someone watches: callers test
``wanted(threshold)`` (the ``watching`` flag, set while a hook or the tracer is
installed, then the slow-query threshold, then one cached logger level check) and take
the plain path otherwise. Log records carry their data as attributes (``extra=``):
``sql``, ``params`` (a count: values may be secrets and are never logged), ``duration``
(seconds), ``alias``, ``operation``, ``rows`` and ``failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from oxyde.db.database import AsyncDatabase

__all__ = ["QueryEvent", "slow_logger", "sql_logger", "timed", "wanted"]

T = TypeVar("T")

sql_logger = logging.getLogger("oxyde.sql")
slow_logger = logging.getLogger("oxyde.sql.slow")
_debug_enabled = sql_logger.isEnabledFor

#: True while query hooks or a tracer are installed
watching = False
#: (before, after) pairs of the installed hooks, in registration order
hooks: tuple[tuple[Callable[[QueryEvent], Any] | None, Callable[[QueryEvent], Any] | None], ...]
hooks = ()
#: ``start(event)`` -> ``finish(event)``, the OpenTelemetry bridge when installed
tracer: Callable[[QueryEvent], Callable[[QueryEvent], None]] | None = None

_log = logging.getLogger("oxyde.events")


def refresh() -> None:
    """Recompute ``watching`` after hooks or the tracer changed."""
    global watching
    watching = bool(hooks) or tracer is not None


def wanted(slow_threshold: float | None) -> bool:
    return watching or slow_threshold is not None or _debug_enabled(logging.DEBUG)


class QueryEvent:
    """One statement, as hooks see it before and after it runs.

    ``alias`` (the database name), ``backend`` ("postgres", "mysql", "sqlite"),
    ``operation`` ("fetch", "execute", "execute_many", "copy", "stream", "savepoint",
    "release"), ``sql``, ``params`` (the bound values; do not log them blindly),
    ``in_transaction``, ``started`` (``time.perf_counter()``); after it ran also
    ``duration`` (seconds), ``rows`` (rows returned, or affected by a write; None when
    unknown) and ``error`` (the exception, or None).
    """

    __slots__ = (
        "alias",
        "backend",
        "database",
        "duration",
        "error",
        "in_transaction",
        "operation",
        "params",
        "rows",
        "sql",
        "started",
    )

    def __init__(
        self,
        database: AsyncDatabase,
        operation: str,
        sql: str,
        params: Sequence[Any] | None,
        in_transaction: bool,
        alias: str | None = None,
    ) -> None:
        self.database = database
        self.alias: str = database.name if alias is None else alias
        self.backend: str = database.backend_name
        self.operation = operation
        self.sql = sql
        self.params = params
        self.in_transaction = in_transaction
        self.started = time.perf_counter()
        self.duration: float | None = None
        self.rows: int | None = None
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<QueryEvent {self.alias!r} {self.operation} {self.sql[:60]!r}>"


def _rows(result: Any) -> int | None:
    if isinstance(result, list):
        return len(result)
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return len(result[1])  # fetch_described: (names, rows)
    return None


def _call_hooks(index: int, event: QueryEvent) -> None:
    for pair in hooks:
        hook = pair[index]
        if hook is None:
            continue
        try:
            hook(event)
        except Exception:
            # a broken listener must not break the application's queries
            _log.warning("query hook %r failed", hook, exc_info=True)


async def timed(
    database: AsyncDatabase,
    what: str,
    sql: str,
    params: Sequence[Any] | None,
    aw: Awaitable[T],
    slow_threshold: float | None,
    *,
    in_transaction: bool = False,
    alias: str | None = None,
) -> T:
    """Await ``aw`` (one statement) on ``database`` (``alias`` names a replica of it):
    hooks before and after it, a span around it, and its log records with the elapsed
    time."""
    event = QueryEvent(database, what, sql, params, in_transaction, alias)
    if hooks:
        _call_hooks(0, event)
    finish = tracer(event) if tracer is not None else None
    try:
        result = await aw
    except BaseException as exc:
        event.error = exc
        raise
    else:
        event.rows = _rows(result)
        return result
    finally:
        event.duration = elapsed = time.perf_counter() - event.started
        if finish is not None:
            finish(event)
        if hooks:
            _call_hooks(1, event)
        failed = event.error is not None
        if _debug_enabled(logging.DEBUG) or (
            slow_threshold is not None and elapsed >= slow_threshold
        ):
            _log_records(event, elapsed, failed, slow_threshold)


def _log_records(
    event: QueryEvent, elapsed: float, failed: bool, slow_threshold: float | None
) -> None:
    params = event.params
    nparams = len(params) if params is not None else 0
    extra = {
        "sql": event.sql,
        "params": nparams,
        "duration": elapsed,
        "alias": event.alias,
        "operation": event.operation,
        "rows": event.rows,
        "failed": failed,
    }
    outcome = " (failed)" if failed else ""
    if sql_logger.isEnabledFor(logging.DEBUG):
        sql_logger.debug(
            "[%s] %s %.3f ms%s: %s [%d params]",
            event.alias,
            event.operation,
            elapsed * 1000,
            outcome,
            event.sql,
            nparams,
            extra=extra,
        )
    if slow_threshold is not None and elapsed >= slow_threshold:
        slow_logger.warning(
            "[%s] slow %s took %.3f ms (threshold %.3f ms)%s: %s",
            event.alias,
            event.operation,
            elapsed * 1000,
            slow_threshold * 1000,
            outcome,
            event.sql,
            extra={**extra, "threshold": slow_threshold},
        )
