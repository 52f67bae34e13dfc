"""``map_slices``: large results are loaded in slices with other tasks let in between,
and give exactly what one call would."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest

from oxyde import _slicing as slices


def double(rows: list[Any]) -> list[Any]:
    return [r * 2 for r in rows]


class Turns:
    """How many turns another task got on the loop."""

    count = 0


@contextlib.asynccontextmanager
async def other_task() -> AsyncIterator[Turns]:
    """Another task on the loop for the block's length, counting the turns it gets from
    the block's first await on."""
    turns = Turns()

    async def spin() -> None:
        while True:
            turns.count += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(spin())
    await asyncio.sleep(0)
    turns.count = 0
    try:
        yield turns
    finally:
        task.cancel()


async def test_a_small_result_is_one_call_without_an_await() -> None:
    calls: list[int] = []

    def load(rows: list[Any]) -> list[Any]:
        calls.append(len(rows))
        return double(rows)

    rows = list(range(slices.FIRST_SLICE))
    assert await slices.map_slices(load, rows) == double(rows)
    assert calls == [slices.FIRST_SLICE]


async def test_a_large_result_lets_other_tasks_run_and_keeps_its_order() -> None:
    def slow(rows: list[Any]) -> list[Any]:
        time.sleep(len(rows) * 2e-6)  # about 2 ms per 1,000 rows, like loading models
        return double(rows)

    rows = list(range(30_000))
    async with other_task() as turns:
        assert await slices.map_slices(slow, rows) == double(rows)
    assert turns.count >= 5


async def test_slices_follow_the_time_each_one_took() -> None:
    sizes: list[int] = []

    def load(rows: list[Any]) -> list[Any]:
        sizes.append(len(rows))
        time.sleep(len(rows) * 1e-5)  # 10 us a row: slices shrink toward ~200 rows
        return rows

    rows = list(range(5_000))
    assert await slices.map_slices(load, rows) == rows
    assert sizes[0] == slices.FIRST_SLICE
    assert max(sizes[1:]) < slices.FIRST_SLICE // 2
    assert min(sizes) >= slices.MIN_SLICE or sizes[-1] < slices.MIN_SLICE


async def test_an_error_in_a_slice_propagates() -> None:
    def load(rows: list[Any]) -> list[Any]:
        if rows[-1] >= 5_000:
            raise ValueError("bad row")
        return rows

    with pytest.raises(ValueError, match="bad row"):
        await slices.map_slices(load, list(range(10_000)))


async def test_the_collector_is_off_while_slices_run_and_comes_back() -> None:

    seen: list[bool] = []

    def load(rows: list[Any]) -> list[Any]:
        seen.append(gc.isenabled())
        if rows[-1] == 9_999:
            raise ValueError("bad row")
        return rows

    assert gc.isenabled()
    with pytest.raises(ValueError, match="bad row"):
        await slices.map_slices(load, list(range(10_000)))
    assert gc.isenabled()
    assert len(seen) > 1 and not any(seen)

    # two runs at once: off until the last one ends (the longer one has slices left
    # after the shorter one is done)
    def record(rows: list[Any]) -> list[Any]:
        seen.append(gc.isenabled())
        return rows

    seen.clear()
    short, long = list(range(3_000)), list(range(20_000))
    assert await asyncio.gather(
        slices.map_slices(record, short), slices.map_slices(record, long)
    ) == [short, long]
    assert len(seen) > 4 and not any(seen)
    assert gc.isenabled()


async def test_a_collector_the_application_turned_off_stays_off() -> None:

    gc.disable()
    try:
        assert await slices.map_slices(double, list(range(5_000))) == double(range(5_000))
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("n", [slices.FIRST_SLICE, 1_003, 70_000])
async def test_msgpack_in_slices_is_the_bytes_of_one_pack(n: int) -> None:
    from oxyde import _impl, _protocol
    from oxyde.queries.query import _packed_in_slices

    rows = [(i, f"r{i}") for i in range(n)]
    convs = (None, None)

    def pack(part: list[Any]) -> bytes:
        # what all(mode="msgpack") packs a slice with (queries.query._shaper)
        return _protocol.pack_rows(_impl.rowload.load_dicts(("id", "name"), convs, part))

    assert await _packed_in_slices(pack, rows) == pack(rows)


class Node:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def test_overlapping_runs_still_collect_garbage_past_the_pause_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sliced runs that overlap keep the collector off; a cycle another task drops meanwhile
    # must still be collected once the pause has lasted PAUSE_LIMIT, not only when the
    # last run ends.
    monkeypatch.setattr(slices, "PAUSE_LIMIT", 0.0)
    garbage = Node()
    dropped = weakref.ref(garbage)
    del garbage
    assert dropped() is not None  # a cycle: still there until a collection
    alive_at_the_end: list[bool] = []

    def step(start: int, stop: int) -> None:
        if stop == total:
            alive_at_the_end.append(dropped() is not None)

    total = slices.FIRST_SLICE * 5
    await slices.run_slices(total, step)
    assert alive_at_the_end == [False]
    assert gc.isenabled()


async def test_each_timed_yields_once_a_slice_of_time_has_passed_and_keeps_order() -> None:
    done: list[int] = []

    def slow(item: int) -> None:
        # items of very different cost: only the clock can say when to let others in
        time.sleep(slices.SLICE_SECONDS if item % 2 else 0)
        done.append(item)

    async with other_task() as turns:
        await slices.each_timed(list(range(20)), slow)
    assert done == list(range(20))
    # every slow item fills a slice on its own
    assert turns.count >= 10
    assert gc.isenabled()


async def test_each_timed_of_quick_items_never_yields() -> None:
    done: list[int] = []
    async with other_task() as turns:
        await slices.each_timed(list(range(100)), done.append)
    assert done == list(range(100)) and turns.count == 0
