"""SQL logging: each statement with its time on ``oxyde.sql`` (DEBUG), slow ones on
``oxyde.sql.slow`` (WARNING).

Nothing is timed or formatted unless one of the two is wanted: ``wanted()`` is one
cached level check plus an attribute test, and callers take the untimed path otherwise.
Parameters are not logged (they may hold secrets); their count is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

__all__ = ["slow_logger", "sql_logger", "timed", "wanted"]

T = TypeVar("T")

sql_logger = logging.getLogger("oxyde.sql")
slow_logger = logging.getLogger("oxyde.sql.slow")


def wanted(slow_threshold: float | None) -> bool:
    return slow_threshold is not None or sql_logger.isEnabledFor(logging.DEBUG)


async def timed(
    alias: str,
    what: str,
    sql: str,
    params: Sequence[Any] | None,
    aw: Awaitable[T],
    slow_threshold: float | None,
) -> T:
    """Await ``aw`` (one statement) and log it with its elapsed time."""
    start = time.perf_counter()
    failed = True
    try:
        result = await aw
        failed = False
        return result
    finally:
        elapsed = time.perf_counter() - start
        nparams = len(params) if params is not None else 0
        outcome = " (failed)" if failed else ""
        if sql_logger.isEnabledFor(logging.DEBUG):
            sql_logger.debug(
                "[%s] %s %.3f ms%s: %s [%d params]",
                alias,
                what,
                elapsed * 1000,
                outcome,
                sql,
                nparams,
            )
        if slow_threshold is not None and elapsed >= slow_threshold:
            slow_logger.warning(
                "[%s] slow %s took %.3f ms (threshold %.3f ms)%s: %s",
                alias,
                what,
                elapsed * 1000,
                slow_threshold * 1000,
                outcome,
                sql,
            )
