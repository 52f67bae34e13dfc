"""Per-row work on the event loop's thread, done a slice at a time with other tasks let in.

Turning a result into Python objects is CPU work on the loop: psycopg's conversion of a
PostgreSQL result, building models, dicts or tuples, grouping prefetched rows. Done in
one piece, 100,000 rows hold the loop for 100 ms and more, a stall every other task of
the process (a health check, a websocket, the other requests) would feel. Here a long
run of such work is cut into slices sized from the previous slice's time to take about
``SLICE_SECONDS``, with one ``asyncio.sleep(0)`` after each slice.

Work on at most ``FIRST_SLICE`` items is done in one call with no await and no clock
read: small results pay nothing.

While sliced work runs, CPython's collector is off, as it is while one unsliced call
builds many rows (``rowplan.load_models``): nothing made for the result can be garbage
yet. With young collections between the slices the result would be moved, a slice at a
time, into the oldest generation, and that growth sets off a full collection, over the
whole heap with the new result in it, after nearly every large load: one per 100,000
models, a quarter of the time such a load takes on a small heap. Off, the result stays
young, the same as when loaded in one piece, and one young collection runs after the
load (other tasks' garbage made meanwhile included).

The collector stays off while any sliced run is in progress, and runs overlap: a busy
process loading large results back to back from several tasks could go without a
collection for as long as that lasts, and its cyclic garbage would pile up. So the pause
is bounded: once the collector has been off for ``PAUSE_LIMIT`` seconds, the next slice
boundary runs a collection of the young generations (every tenth time, a full one, the
ratio CPython's own thresholds keep) and the bound starts again.

The benchmark sets ``FIRST_SLICE`` past any result size to measure what slicing costs;
nothing else changes these at run time.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any, Final

#: the longest one slice should hold the loop (seconds)
SLICE_SECONDS: Final = 0.002
#: items done in one go without yielding: a smaller result, or the first slice of a
#: larger one
FIRST_SLICE = 1_000
#: bounds of the later slices
MIN_SLICE: Final = 100
MAX_SLICE: Final = 20_000
#: the longest the collector stays off across overlapping sliced runs (seconds)
PAUSE_LIMIT = 1.0
#: forced collections between two full ones
FULL_EVERY: Final = 10

__all__ = [
    "FIRST_SLICE",
    "MAX_SLICE",
    "MIN_SLICE",
    "SLICE_SECONDS",
    "each_timed",
    "map_slices",
    "run_slices",
]


#: sliced runs in progress, and whether the first of them turned the collector off (it
#: stays as it was when the application had turned it off itself)
_running = 0
_paused = False
#: when the collector was turned off, or last run while off (perf_counter seconds)
_paused_since = 0.0
#: collections run while off, for the cadence of full ones
_forced = 0


def _pause_collections() -> None:
    global _running, _paused, _paused_since
    if _running == 0:
        _paused = gc.isenabled()
        if _paused:
            gc.disable()
            _paused_since = time.perf_counter()
    _running += 1


def _collect_if_overdue(now: float) -> None:
    """Run a collection if the collector has been off for ``PAUSE_LIMIT`` (see the
    module's docstring)."""
    global _paused_since, _forced
    if not _paused or now - _paused_since < PAUSE_LIMIT:
        return
    _forced += 1
    gc.collect(2 if _forced % FULL_EVERY == 0 else 1)
    _paused_since = time.perf_counter()


def _resume_collections() -> None:
    global _running
    _running -= 1
    if _running == 0 and _paused:
        gc.enable()


def large(n: int) -> bool:
    """Whether work on ``n`` items is done in slices (more than one)."""
    return n > FIRST_SLICE


async def run_slices(n: int, step: Callable[[int, int], Any]) -> None:
    """``step(start, stop)`` over consecutive ranges covering ``0..n``, in order, with the
    loop let in after each of them (never when ``n`` fits in one slice)."""
    size = FIRST_SLICE
    if n <= size:
        if n:
            step(0, n)
        return
    clock = time.perf_counter
    start = 0
    _pause_collections()
    try:
        while start < n:
            began = clock()
            stop = min(n, start + size)
            step(start, stop)
            start = stop
            ended = clock()
            elapsed = ended - began
            _collect_if_overdue(ended)
            # at most twice the last size: one slice that ran quickly by chance (a
            # preempted clock, a cache-warm run) must not make the next one huge
            grown = int(size * SLICE_SECONDS / elapsed) if elapsed > 0 else 2 * size
            size = max(MIN_SLICE, min(MAX_SLICE, 2 * size, grown))
            # after the last slice too: what the caller does next with the result
            # (group it, convert it further, hand it on) starts a turn of its own
            # rather than lengthen the last slice's
            await asyncio.sleep(0)
    finally:
        _resume_collections()


async def each_timed(items: list[Any], fn: Callable[[Any], Any]) -> None:
    """``fn(item)`` for each of ``items``, in order, with the loop let in whenever
    ``SLICE_SECONDS`` have passed since it last was: for items of unequal cost (lists of
    very different lengths to sort, say), whose count says nothing of the time they take,
    so that ``run_slices``' sizing does not apply. A clock read per item."""
    clock = time.perf_counter
    began = clock()
    paused = False
    try:
        for item in items:
            fn(item)
            now = clock()
            if now - began >= SLICE_SECONDS:
                if not paused:
                    _pause_collections()
                    paused = True
                _collect_if_overdue(now)
                await asyncio.sleep(0)
                began = clock()
    finally:
        if paused:
            _resume_collections()


async def map_slices(
    fn: Callable[[list[Any]], list[Any]], items: list[Any], *, consume: bool = False
) -> list[Any]:
    """``fn(items)`` computed on consecutive slices of ``items`` and concatenated, with
    the loop let in between. ``fn`` must map each item to one result independently of
    the others. ``consume``: ``items`` is the caller's to give up, and each slice's
    entries are set to None once done, so that what only they held (the driver's row
    tuples) is freed a slice at a time rather than all at once afterwards."""
    if len(items) <= FIRST_SLICE:
        return fn(items)
    out: list[Any] = []
    extend = out.extend

    def step(start: int, stop: int) -> None:
        extend(fn(items[start:stop]))
        if consume:
            items[start:stop] = _nones(stop - start)

    await run_slices(len(items), step)
    return out


def _nones(n: int) -> list[None]:
    return [None] * n
