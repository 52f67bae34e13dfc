"""The event loop keeps running while a large result loads, on every backend.

A heartbeat task counts its turns. Once the database has answered (the query hook's
``after`` fires), turning 50,000 rows into models, tuples, dicts, msgpack or grouped
prefetch lists is work on the loop's thread; done in one piece, the heartbeat would not
get a single turn until it is over. Counted turns, not wall-clock time: the bound on the
longest pause is checked only under the ``timing`` marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgpack
import pytest

from oxyde import Field, Model, _slicing, events

N = 50_000
GROUPS = 500

#: turns the heartbeat must get after the rows are in: the slices can grow to
#: ``MAX_SLICE`` rows on a fast machine, so at least this many yields happen in between
MIN_TURNS = (N - _slicing.FIRST_SLICE) // _slicing.MAX_SLICE


class LwGroup(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=20)
    items: list[LwItem] = Field(default_factory=list, db_reverse_fk="group")

    class Meta:
        is_table = True
        table_name = "lw_group"


class LwItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    value: int
    label: str = Field(max_length=20)
    group: LwGroup | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "lw_item"


LwGroup.model_rebuild()


class Heartbeat:
    """Counts its turns on the loop, and the longest time between two of them."""

    def __init__(self) -> None:
        self.turns = 0
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        clock = time.perf_counter
        last = clock()
        while True:
            await asyncio.sleep(0)
            now = clock()
            self.longest = max(self.longest, now - last)
            last = now
            self.turns += 1

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


async def turns_after_last_statement(load: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """``await load()``, and the heartbeat's turns between the end of its last statement
    and its return: the time spent turning rows into the result."""
    beat = Heartbeat()
    marks: list[int] = []
    hook = events.add_query_hook(after=lambda event: marks.append(beat.turns))
    try:
        async with beat:
            result = await load()
            done = beat.turns
    finally:
        hook.remove()
    assert marks, "the load ran no statement"
    return result, done - marks[-1]


async def runnable_turns(task: asyncio.Task[Any]) -> int:
    """The heartbeat's turns, until ``task`` is done, during which ``task`` itself was
    ready to go on rather than waiting (for the database, for a thread): the turns it gave
    away in the middle of its own CPU work. Turns while it waits for I/O do not count, so
    no query hook is needed to tell the two apart."""
    turns = 0
    while not task.done():
        await asyncio.sleep(0)
        # a task that yielded with sleep(0) waits on no future (CPython's Task)
        if not task.done() and task._fut_waiter is None:  # type: ignore[attr-defined]
            turns += 1
    return turns


@pytest.fixture
async def seeded(model_tables: Any) -> AsyncIterator[None]:
    await model_tables(LwGroup, LwItem)
    await LwGroup.objects.bulk_create([LwGroup(id=g + 1, name=f"g{g}") for g in range(GROUPS)])
    await LwItem.objects.bulk_create(
        [LwItem(id=i + 1, value=i, label=f"item {i}", group_id=i % GROUPS + 1) for i in range(N)]
    )
    yield


async def test_models_values_and_msgpack_load_in_slices(seeded: None) -> None:
    items, turns = await turns_after_last_statement(lambda: LwItem.objects.order_by("id").all())
    assert [(i.id, i.value, i.label) for i in items] == [(k + 1, k, f"item {k}") for k in range(N)]
    assert turns >= MIN_TURNS

    query = LwItem.objects.order_by("id")
    tuples, turns = await turns_after_last_statement(
        lambda: query.values_list("id", "value", "label").all()
    )
    assert tuples == [(k + 1, k, f"item {k}") for k in range(N)]
    assert turns >= MIN_TURNS

    flat, turns = await turns_after_last_statement(
        lambda: query.values_list("value", flat=True).all()
    )
    assert flat == list(range(N))
    assert turns >= MIN_TURNS

    dicts, turns = await turns_after_last_statement(lambda: query.values("id", "label").all())
    assert dicts[0] == {"id": 1, "label": "item 0"} and len(dicts) == N
    assert turns >= MIN_TURNS

    packed, turns = await turns_after_last_statement(
        lambda: query.values("id", "value").all(mode="msgpack")
    )
    assert msgpack.unpackb(packed) == [{"id": k + 1, "value": k} for k in range(N)]
    assert turns >= MIN_TURNS


async def test_a_join_and_a_prefetch_load_in_slices(seeded: None) -> None:
    joined, turns = await turns_after_last_statement(
        lambda: LwItem.objects.join("group").order_by("id").all()
    )
    assert len(joined) == N
    assert all(item.group is not None and item.group.id == item.group_id for item in joined)
    assert turns >= MIN_TURNS

    groups, turns = await turns_after_last_statement(
        lambda: LwGroup.objects.prefetch("items").order_by("id").all()
    )
    assert len(groups) == GROUPS
    assert [i.id for i in groups[3].items] == list(range(4, N + 1, GROUPS))
    assert sum(len(g.items) for g in groups) == N
    assert turns >= MIN_TURNS

    # and from the other side: each of the 50,000 items gets its group
    items, turns = await turns_after_last_statement(
        lambda: LwItem.objects.prefetch("group").order_by("id").all()
    )
    assert all(item.group is not None and item.group.id == item.group_id for item in items)
    assert turns >= MIN_TURNS


async def test_inside_a_transaction_and_as_raw_sql(seeded: None, database: Any) -> None:
    from oxyde import atomic, execute_raw

    # on the transaction's connection: with a bound value and without one (PostgreSQL
    # sends them different ways)
    expected = [(k + 1, f"item {k}") for k in range(N)]
    async with atomic(using=database.name):
        for query in (LwItem.objects, LwItem.objects.filter(value__gte=0)):
            items, turns = await turns_after_last_statement(
                lambda q=query: q.order_by("id").values_list("id", "label").all()
            )
            assert items == expected
            assert turns >= MIN_TURNS

    rows, turns = await turns_after_last_statement(
        lambda: execute_raw("SELECT id, value FROM lw_item ORDER BY id")
    )
    assert rows == [{"id": k + 1, "value": k} for k in range(N)]
    assert turns >= MIN_TURNS


async def test_update_returning_builds_its_rows_in_slices(seeded: None) -> None:
    updated, turns = await turns_after_last_statement(
        lambda: LwItem.objects.filter(value__gte=0).update(label="changed", returning=True)
    )
    assert sorted((i.id, i.value, i.label) for i in updated) == [
        (k + 1, k, "changed") for k in range(N)
    ]
    assert turns >= MIN_TURNS


async def test_iterator_with_chunks_larger_than_a_slice(seeded: None) -> None:
    # one chunk holding the whole result, and chunks of a few slices each
    for chunk_size in (N + 1, 2 * _slicing.FIRST_SLICE + 1):
        query = LwItem.objects.order_by("id")
        seen = [(i.id, i.value) async for i in query.iterator(chunk_size=chunk_size)]
        assert seen == [(k + 1, k) for k in range(N)]


async def test_postgres_streams_a_huge_chunk_in_slices(backend_name: str, database: Any) -> None:
    """A chunk of 50,000 rows from a server-side cursor: its conversion lets others run."""
    if backend_name != "postgres":
        pytest.skip("PostgreSQL's server-side cursor")

    async def first_chunk() -> list[Any]:
        chunks = database.stream(
            "SELECT g, 'row ' || g FROM generate_series(1, $1::int) g", [N], chunk_size=N
        )
        async with contextlib.aclosing(chunks):
            return list(await anext(chunks))

    task = asyncio.create_task(first_chunk())
    turns = await runnable_turns(task)
    assert task.result() == [(k, f"row {k}") for k in range(1, N + 1)]
    assert turns >= MIN_TURNS


@pytest.mark.timing
async def test_no_pause_over_10_ms_while_a_large_result_loads(seeded: None) -> None:
    # The collector's full passes visit every live object, pytest's own included: the
    # heap from before the load is kept out of them, so what is timed is the loading.
    gc.collect()
    gc.freeze()
    try:
        for load in (
            lambda: LwItem.objects.all(),
            lambda: LwItem.objects.values_list("id", "value", "label").all(),
            lambda: LwItem.objects.join("group").all(),
            lambda: LwGroup.objects.prefetch("items").all(),
        ):
            async with Heartbeat() as beat:
                await load()
            assert beat.longest <= 0.010
    finally:
        gc.unfreeze()


async def test_postgres_converts_a_large_result_in_slices(
    backend_name: str, database_url: str
) -> None:
    """The conversion alone, on a result already received: no I/O to yield on."""
    if backend_name != "postgres":
        pytest.skip("PostgreSQL's row conversion")
    import psycopg

    from oxyde.backends.postgres.wire import rows_in_slices

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT g, 'row ' || g, g * 0.5 FROM generate_series(1, %s) g", (N,)
        )
        result = cur.pgresult
        async with Heartbeat() as beat:
            rows = await rows_in_slices(conn, result)
        assert rows == await cur.fetchall()
        assert beat.turns >= MIN_TURNS
