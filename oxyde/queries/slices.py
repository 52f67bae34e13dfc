"""Large results become objects a slice at a time, with the event loop let in between.

Loading is Python work on the loop: 20,000 joined rows took over 100 ms in one piece, a
stall every other task of the process (a health check, a websocket) would feel. Slices
are sized from the previous one's time to take about ``SLICE_SECONDS``; a result that
fits in one slice is loaded exactly as before, with no extra await.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Final

#: the longest one slice should hold the loop (seconds)
SLICE_SECONDS: Final = 0.002
#: rows of the first slice, and the bounds of later ones
FIRST_SLICE: Final = 1_000
MIN_SLICE: Final = 100
MAX_SLICE: Final = 20_000


async def load_in_slices(load: Callable[[list[Any]], list[Any]], rows: list[Any]) -> list[Any]:
    """``load(rows)``, in slices of rows between which other tasks run.

    ``load`` must turn each row into one item independently of the others (the result is
    the concatenation of its results on consecutive slices).
    """
    if len(rows) <= FIRST_SLICE:
        return load(rows)
    out: list[Any] = []
    size = FIRST_SLICE
    start = 0
    while start < len(rows):
        began = time.perf_counter()
        part = load(rows[start : start + size])
        out.extend(part)
        start += size
        if start < len(rows):
            elapsed = time.perf_counter() - began
            if elapsed > 0:
                size = int(size * SLICE_SECONDS / elapsed)
            size = max(MIN_SLICE, min(MAX_SLICE, size))
            await asyncio.sleep(0)
    return out
