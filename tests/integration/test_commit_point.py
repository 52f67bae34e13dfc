"""The commit point, the same on every backend: a task cancelled once its COMMIT is sent
gets the commit's real outcome first (the block returns, its data is there), and the
cancellation at its next await."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from oxyde import Field, Model, _slicing, atomic, events
from oxyde.db import on_commit


class CpItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    n: int = 0

    class Meta:
        is_table = True
        table_name = "cp_item"


@pytest.fixture
async def items(database: Any, model_tables: Any) -> Any:
    await model_tables(CpItem)
    return database


def _slow_commits(monkeypatch: pytest.MonkeyPatch, database: Any, started: asyncio.Event) -> None:
    """Make each COMMIT of this backend's connections take a moment after it is sent
    (the real COMMIT still runs), and say when one starts."""
    conn_type = type(database.backend).__module__.rsplit(".", 1)[0] + ".connection"
    import importlib

    module = importlib.import_module(conn_type)
    cls = next(
        obj
        for name, obj in vars(module).items()
        if isinstance(obj, type) and name.endswith("Connection") and hasattr(obj, "commit")
    )
    original = cls.commit

    async def commit(self: Any) -> None:
        started.set()
        await original(self)
        await asyncio.sleep(0.05)

    monkeypatch.setattr(cls, "commit", commit)


@pytest.mark.parametrize("where", ["at_commit", "after_commit"])
async def test_cancel_during_commit_reports_the_commit(
    items: Any, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    started = asyncio.Event()
    _slow_commits(monkeypatch, items, started)
    seen: list[str] = []

    async def work() -> None:
        async with atomic():
            await CpItem.objects.create(n=1)
            on_commit(lambda: seen.append("on_commit"))
        seen.append("after block")  # runs: the block ended normally
        await asyncio.sleep(10)  # the cancellation arrives here
        seen.append("not reached")

    task = asyncio.ensure_future(work())
    await started.wait()
    if where == "after_commit":
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["on_commit", "after block"]
    assert await CpItem.objects.count() == 1


async def test_cancel_under_timeout_stays_a_timeout(
    items: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncio.timeout still recognises its own cancellation once it is delivered late.
    started = asyncio.Event()
    _slow_commits(monkeypatch, items, started)
    done: list[bool] = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.02):
            async with atomic():
                await CpItem.objects.create(n=2)
                await asyncio.sleep(0.03)
            done.append(True)
            await asyncio.sleep(10)
    # The timeout fired inside the block: rolled back, nothing committed.
    assert done == []
    assert await CpItem.objects.count() == 0
    started.clear()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            async with atomic():
                await CpItem.objects.create(n=3)
                # Let the deadline fall while the (slow) COMMIT is in progress.
                await asyncio.sleep(max(0.0, 0.2 - 0.03))
            done.append(True)
            await asyncio.sleep(10)
    count = await CpItem.objects.count()
    # Either the deadline fell before the commit (nothing written, block never ended)
    # or during it (written, and the block said so): never one without the other.
    assert count == len(done)


async def test_cancelled_bulk_create_is_all_or_nothing_and_truthful(items: Any) -> None:
    # Cancel a large bulk_create at many points: either it raised CancelledError and
    # wrote nothing, or it returned (or was cancelled after its COMMIT) with all rows.
    total = 0
    for delay in (0, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032):
        returned: list[bool] = []

        async def work() -> None:
            await CpItem.objects.bulk_create([CpItem(n=7) for _ in range(1500)])
            returned.append(True)  # noqa: B023

        task = asyncio.ensure_future(work())
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        count = await CpItem.objects.count()
        assert count - total in (0, 1500)
        if returned:
            assert count - total == 1500
        total = count


async def test_cancelled_bulk_update_reports_its_commit(items: Any) -> None:
    # bulk_update outside a transaction runs in one of its own: cancelled at many
    # points, it wrote all or nothing, and it wrote exactly when it returned.
    rows = await CpItem.objects.bulk_create([CpItem(n=0) for _ in range(3000)])
    for round_, delay in enumerate((0, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064), 1):
        for row in rows:
            row.n = round_
        returned: list[bool] = []

        async def work() -> None:
            await CpItem.objects.bulk_update(rows, ["n"])
            returned.append(True)  # noqa: B023

        task = asyncio.ensure_future(work())
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        updated = await CpItem.objects.filter(n=round_).count()
        assert updated in (0, len(rows))
        assert (updated == len(rows)) == bool(returned), (delay, updated, returned)
        if not updated:
            await CpItem.objects.bulk_update(rows, ["n"])


UPDATED = 5_000


@pytest.fixture
def cancel_after_first_slice(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[list[asyncio.Future[Any]], list[int]]]:
    """Once an UPDATE has been sent, cancel the task put in ``target`` right after the
    first slice of the first sliced conversion that follows (the backend's rows, or the
    models built from them): the cancellation arrives at that slice's yield. ``fired``
    gets the size of the run it cancelled in."""
    target: list[asyncio.Future[Any]] = []
    fired: list[int] = []
    armed: list[bool] = []
    original = _slicing.run_slices

    async def run_slices(n: int, step: Any) -> None:
        if not armed or fired or not _slicing.large(n):
            return await original(n, step)

        def first(start: int, stop: int) -> None:
            step(start, stop)
            if not fired:
                fired.append(n)
                target[0].cancel()

        return await original(n, first)

    def arm(event: Any) -> None:
        if event.sql.startswith("UPDATE"):
            armed.append(True)

    monkeypatch.setattr(_slicing, "run_slices", run_slices)
    hook = events.add_query_hook(before=arm)
    yield target, fired
    hook.remove()


@pytest.fixture
async def many_items(items: Any) -> Any:
    await CpItem.objects.bulk_create([CpItem(n=0) for _ in range(UPDATED)])
    return items


async def test_update_returning_cancelled_while_its_rows_load_reports_the_update(
    many_items: Any, cancel_after_first_slice: Any
) -> None:
    # Outside a transaction the UPDATE has committed when its rows arrive: a cancellation
    # while they are turned into models must not report "not done". The call returns
    # every row, and the task gets the cancellation at its next await.
    target, fired = cancel_after_first_slice
    seen: list[Any] = []

    async def work() -> None:
        updated = await CpItem.objects.filter(n=0).update(n=1, returning=True)
        seen.append(sorted({item.n for item in updated}))
        seen.append(len(updated))
        await asyncio.sleep(10)  # the cancellation arrives here
        seen.append("not reached")

    task = asyncio.ensure_future(work())
    target.append(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fired == [UPDATED]
    assert seen == [[1], UPDATED]
    assert await CpItem.objects.filter(n=1).count() == UPDATED


async def test_update_returning_cancelled_in_a_transaction_rolls_back(
    many_items: Any, cancel_after_first_slice: Any
) -> None:
    # Inside atomic() nothing is committed yet: the cancellation is raised at once, the
    # block rolls back, and the caller's CancelledError is the truth.
    target, fired = cancel_after_first_slice
    seen: list[Any] = []

    async def work() -> None:
        async with atomic():
            updated = await CpItem.objects.filter(n=0).update(n=1, returning=True)
            seen.append(len(updated))
        seen.append("not reached")

    task = asyncio.ensure_future(work())
    target.append(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fired == [UPDATED]
    assert seen == []
    assert await CpItem.objects.filter(n=1).count() == 0
