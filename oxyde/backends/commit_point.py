"""The commit-point rule: a cancellation that arrives once COMMIT is sent waits for its outcome.

Once a COMMIT (or the end of a COPY that commits) has gone to the server, cancelling the
task cannot undo it: the server may already have made the data durable. Raising
``CancelledError`` there would tell the caller "not done" about data that is committed.
So the operation finishes and reports what really happened (returns, or raises the
commit's own error), and the cancellation is delivered after: at the task's next await.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["finish_past_commit_point", "past_commit_point", "redeliver_cancellation"]

T = TypeVar("T")


async def past_commit_point(task: asyncio.Future[T]) -> bool:
    """Wait for a COMMIT's outcome whatever happens to the caller; whether the caller
    was cancelled meanwhile (then ``redeliver_cancellation`` once the outcome is
    reported). The caller reads the outcome from ``task``."""
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    return cancelled


def redeliver_cancellation() -> None:
    """Re-arm a cancellation the current task caught while its commit finished.

    The task's cancel count is left as it was (one ``uncancel`` for the ``cancel``), so
    ``asyncio.timeout`` and task groups still recognise their own cancellation.
    """
    task = asyncio.current_task()
    if task is None:
        return
    task.uncancel()
    task.cancel()


async def finish_past_commit_point(work: Coroutine[Any, Any, T]) -> T:
    """``await work`` for work that comes after a commit point (converting the rows a
    committed statement returned, a slice at a time): it runs to its end whatever
    happens to the caller, which gets its result, and a cancellation that arrived
    meanwhile (or was already pending) at its next await."""
    task = asyncio.ensure_future(work)
    cancelled = await past_commit_point(task)
    try:
        return task.result()
    finally:
        if cancelled:
            redeliver_cancellation()
