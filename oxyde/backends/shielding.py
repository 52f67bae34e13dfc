"""Clean-up that a cancellation must not cut short: rollback, returning a connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["shielded"]

T = TypeVar("T")


async def shielded(aw: Awaitable[T]) -> T:
    """Await ``aw`` to its end even if the caller is cancelled meanwhile; the
    cancellation is re-raised afterwards. A clean-up cut short would leave a connection
    mid-transaction or out of its pool."""
    task = asyncio.ensure_future(aw)
    interrupted = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # Unless the task itself was cancelled, this is our caller's cancellation.
            interrupted = interrupted or not task.cancelled()
    if interrupted:
        if not task.cancelled():
            task.exception()  # mark it retrieved; the cancellation wins
        raise asyncio.CancelledError
    return task.result()
