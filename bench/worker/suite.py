"""The contract a contender implements, and the timed loop that runs one test on it.

Standard library only (it runs inside every contender's own virtualenv).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from worker import spec


class NotSupported(Exception):
    """Raised by a contender for a test it cannot express; reported as n/a, never a failure."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a contender's database is: one server database (or SQLite file) per contender."""

    kind: str  # "sqlite" | "postgres" | "mysql"
    url: str  # oxyde-style URL: sqlite:////abs/path, postgresql://..., mysql://...
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    database: str = ""  # server database name, or the SQLite file path
    pool_size: int = 10


class Suite:
    """One contender: its connection set-up and one method per test of the standard set.

    Methods are ``async def`` for async libraries; a purely synchronous contender (raw apsw)
    may define plain methods, which the loop then calls without an event-loop hop.
    A method a contender leaves out, or that raises :class:`NotSupported`, is reported n/a.
    """

    #: Libraries whose versions the report prints, by distribution name.
    packages: tuple[str, ...] = ()

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    async def setup(self, target: Target) -> None:
        raise NotImplementedError

    async def teardown(self) -> None:
        return None

    def versions(self) -> dict[str, str]:
        from importlib import metadata

        found: dict[str, str] = {}
        for name in self.packages:
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = "?"
        return found

    # The tests. Each returns what the library returns, so the loop can sanity-check it.
    # insert_single() -> id; insert_bulk(n); select_pk(pk) -> one user;
    # select_filter() / filter_*() / order_limit() / join_*() / *prefetch*() -> a list;
    # update_single(pk); update_bulk(); delete_single(pk); aggregate_count() -> int;
    # aggregate_mixed() -> (count, avg, max) in any shape; concurrent(pks) -> list of users.

    #: Every contender defines it (sync or async); the default ``concurrent`` gathers it.
    select_pk: Callable[[int], Any]

    async def concurrent(self, pks: list[int]) -> list[Any]:
        return list(await asyncio.gather(*(self.select_pk(pk) for pk in pks)))


# --------------------------------------------------------------------------------------
# Expected answers on the seeded data, to catch a contender that measures the wrong thing.


@dataclass(frozen=True, slots=True)
class Expected:
    adults: int
    active_adults: int

    @classmethod
    def from_dataset(cls) -> Expected:
        users = spec.dataset().users
        adults = sum(1 for u in users if u.age >= 18)
        active = sum(1 for u in users if u.age >= 18 and u.is_active)
        return cls(adults=adults, active_adults=active)

    def rows(self, test: str) -> int | None:
        """How many items the test's result holds on untouched seeded data (None: unchecked)."""
        per_test = {
            "select_filter": self.adults,
            "filter_simple": 1,
            # No seeded name starts with "A": the OR branch adds nothing.
            "filter_complex": self.active_adults,
            "filter_in": spec.FILTER_IN_SIZE,
            "order_limit": 10,
            "join_simple": spec.USERS * spec.POSTS_PER_USER,
            "join_filter": self.adults * spec.POSTS_PER_USER,
            "prefetch_related": spec.USERS,
            "nested_prefetch": spec.USERS,
            "large_all_100k": spec.LARGE_ROWS,
            "large_values_100k": spec.LARGE_ROWS,
            "large_join_20k": spec.LARGE_JOIN_ROWS,
            "large_prefetch_100k": spec.USERS,
        }
        if test in spec.CONCURRENCY:
            return spec.CONCURRENCY[test]
        return per_test.get(test)


def check_result(test: str, result: Any, expected: Expected) -> None:
    """Raise ``AssertionError`` when a read test's answer is not the seeded data's answer."""
    want = expected.rows(test)
    if want is not None:
        got = len(result)
        if got != want:
            raise AssertionError(f"{test}: got {got} rows, expected {want}")
        if test in spec.CONCURRENCY and any(item is None for item in result):
            raise AssertionError(f"{test}: a lookup found no row")
    elif test == "aggregate_count" and int(result) != spec.USERS:
        raise AssertionError(f"aggregate_count: got {result!r}, expected {spec.USERS}")
    elif test == "select_pk" and result is None:
        raise AssertionError("select_pk: no row")


# --------------------------------------------------------------------------------------
# The timed loop.


@dataclass(frozen=True, slots=True)
class Budget:
    """How long one measurement runs: at least ``min_iters`` operations, then until
    ``seconds`` have passed, never more than ``max_iters``; warm-up likewise, untimed."""

    seconds: float
    min_iters: int
    max_iters: int
    warmup_seconds: float
    warmup_iters: int


@dataclass(frozen=True, slots=True)
class Measurement:
    ops: int
    seconds: float
    #: Worst event-loop lag seen by the heartbeat during the timed loop (None: no heartbeat).
    max_lag: float | None = None
    #: The longest CPU time the loop's thread spent between two beats, less the garbage
    #: collector's (None: no heartbeat); see :class:`Heartbeat`.
    max_cpu_hold: float | None = None

    @property
    def ops_per_sec(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


_email_counter = itertools.count()


def _operation(
    suite: Suite, test: str
) -> tuple[Callable[..., Any], Iterator[tuple[Any, ...]], int]:
    """The bound method to call, its argument stream, and a cap on calls (mutations)."""
    unlimited = 10**9

    def no_args() -> Iterator[tuple[Any, ...]]:
        return itertools.repeat(())

    def pk_args(salt: int) -> Iterator[tuple[Any, ...]]:
        return ((pk,) for pk in spec.cycle_user_ids(salt))

    def method(name: str) -> Callable[..., Any]:
        found = getattr(suite, name, None)
        if found is None:
            raise NotSupported(f"{type(suite).__name__} has no {name}()")
        return found  # type: ignore[no-any-return]

    if test == "insert_bulk_100":
        return method("insert_bulk"), itertools.repeat((100,)), unlimited
    if test in ("select_pk", "update_single"):
        return method(test), pk_args(1 if test == "select_pk" else 2), unlimited
    if test == "delete_single":
        ids = spec.shuffled_user_ids(3)
        return method(test), ((pk,) for pk in ids), spec.MAX_DELETES
    if test == "filter_in":
        ids = sorted(spec.shuffled_user_ids(4)[: spec.FILTER_IN_SIZE])
        return method(test), itertools.repeat((ids,)), unlimited
    if test in spec.CONCURRENCY:
        n = spec.CONCURRENCY[test]
        rng = random.Random(spec.ARGS_SEED + n)

        def batches() -> Iterator[tuple[Any, ...]]:
            while True:
                yield ([rng.randint(1, spec.USERS) for _ in range(n)],)

        return method("concurrent"), batches(), unlimited
    if test in spec.TESTS:
        return method(test), no_args(), unlimited
    raise ValueError(f"unknown test {test!r}")


async def _call(fn: Callable[..., Any], is_async: bool, args: tuple[Any, ...]) -> Any:
    if is_async:
        return await fn(*args)
    return fn(*args)


class Heartbeat:
    """A task that wakes every ``interval`` seconds and records how late it woke.

    Its worst lateness is how long the event loop was unable to run anything else: the
    figure that says whether a library keeps the loop responsive under load.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.max_lag = 0.0
        #: the longest CPU time the loop's thread spent between two beats, less the
        #: collector's within it: what the code on the loop held it for, told apart from
        #: the OS running other processes (on a busy machine a lag can be mostly that) and
        #: from CPython's full collections, which grow with the heap, and from the timed
        #: loop freeing the result it was handed (see :meth:`freed`)
        self.max_cpu_hold = 0.0
        self._due = time.perf_counter() + interval
        self._cpu_at = time.thread_time()
        self._gc_at = 0.0
        self._task: asyncio.Task[None] | None = None
        #: CPU seconds spent in the garbage collector so far, and in freeing results
        self._gc_time = 0.0
        self._gc_started = 0.0

    def freed(self, seconds: float) -> None:
        """The timed loop spent ``seconds`` of the loop's thread freeing the result of the
        call it just made: the caller's work, not the contender's (a 100,000-model
        result takes 15-20 ms to free, a prefetched one more), and the same for every
        library; like a full collection it is kept out of ``max_cpu_hold``."""
        self._gc_time += seconds

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self._gc_time += time.thread_time() - self._gc_started

    def _late(self) -> None:
        self.max_lag = max(self.max_lag, time.perf_counter() - self._due)
        hold = time.thread_time() - self._cpu_at - (self._gc_time - self._gc_at)
        self.max_cpu_hold = max(self.max_cpu_hold, hold)

    async def _beat(self) -> None:
        clock = time.perf_counter
        cpu = time.thread_time
        while True:
            self._due = clock() + self.interval
            self._cpu_at = cpu()
            self._gc_at = self._gc_time
            await asyncio.sleep(self.interval)
            self._late()

    async def __aenter__(self) -> Heartbeat:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)  # let it take its first timestamp
        return self

    async def __aexit__(self, *exc: object) -> None:
        task = self._task
        if task is None:
            return
        # A loop blocked until now has not let the beat wake: its pending lateness counts.
        self._late()
        gc.callbacks.remove(self._on_gc)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def measure(
    suite: Suite, test: str, budget: Budget, expected: Expected, heartbeat: float = 0.0
) -> Measurement:
    """Check one answer, warm up, then time the test; ``NotSupported`` propagates.

    With ``heartbeat`` > 0 a :class:`Heartbeat` with that interval runs beside the timed
    loop and the worst lag it saw is returned too.
    """
    fn, args, cap = _operation(suite, test)
    is_async = inspect.iscoroutinefunction(fn)
    max_iters = min(budget.max_iters, cap)
    spent = 0

    # The first call doubles as the correctness check (read tests only: a write's answer
    # says nothing, and the data it reads is the freshly restored seed).
    first = await _call(fn, is_async, next(args))
    spent += 1
    if test not in spec.MUTATING:
        check_result(test, first, expected)
    del first

    start = time.perf_counter()
    while spent < max_iters // 2 and (
        spent < budget.warmup_iters or time.perf_counter() - start < budget.warmup_seconds
    ):
        await _call(fn, is_async, next(args))
        spent += 1

    # Equal footing: no garbage left from set-up or warm-up to be collected on our clock.
    gc.collect()
    limit = max(1, max_iters - spent)
    settle = test in spec.LARGE
    if settle:
        await asyncio.sleep(0)
    if heartbeat <= 0:
        return Measurement(*await _timed(fn, is_async, args, limit, budget, settle))
    async with Heartbeat(heartbeat) as beat:
        if is_async:
            ops, elapsed = await _timed_async(fn, args, limit, budget, settle, beat.freed)
        else:
            ops, elapsed = _timed_sync(fn, args, limit, budget)
    return Measurement(ops, elapsed, beat.max_lag, beat.max_cpu_hold)


async def _timed(
    fn: Callable[..., Any],
    is_async: bool,
    args: Iterator[tuple[Any, ...]],
    limit: int,
    budget: Budget,
    settle: bool = False,
) -> tuple[int, float]:
    if is_async:
        return await _timed_async(fn, args, limit, budget, settle)
    return _timed_sync(fn, args, limit, budget)


async def _timed_async(
    fn: Callable[..., Any],
    args: Iterator[tuple[Any, ...]],
    limit: int,
    budget: Budget,
    settle: bool = False,
    freed: Callable[[float], None] | None = None,
) -> tuple[int, float]:
    """``settle``: give the loop one turn after each operation. The callback that woke
    the task last (a future's wakeup) stays referenced by the loop until its next turn,
    and with it whatever that future carried: for a contender whose driver hands over
    a large result through a future, the previous result would otherwise be freed only
    once the next operation's first reply arrives, that free hidden in the wait for the
    server and its memory reused without new page faults, an edge no user's program
    with other tasks has. One turn per large-result operation costs nothing measurable."""
    ops = 0
    clock = time.perf_counter
    start = clock()
    if freed is not None:
        cpu = time.thread_time
        while True:
            result = await fn(*next(args))
            began = cpu()
            del result
            freed(cpu() - began)
            if settle:
                await asyncio.sleep(0)
            ops += 1
            elapsed = clock() - start
            if ops >= limit or (ops >= budget.min_iters and elapsed >= budget.seconds):
                return ops, elapsed
    while True:
        await fn(*next(args))
        if settle:
            await asyncio.sleep(0)
        ops += 1
        elapsed = clock() - start
        if ops >= limit or (ops >= budget.min_iters and elapsed >= budget.seconds):
            return ops, elapsed


def _timed_sync(
    fn: Callable[..., Any], args: Iterator[tuple[Any, ...]], limit: int, budget: Budget
) -> tuple[int, float]:
    # A synchronous contender is called straight, with no coroutine around each call.
    ops = 0
    clock = time.perf_counter
    start = clock()
    while True:
        fn(*next(args))
        ops += 1
        elapsed = clock() - start
        if ops >= limit or (ops >= budget.min_iters and elapsed >= budget.seconds):
            return ops, elapsed


def unique_email() -> str:
    """A fresh address for insert tests (unique within one process's lifetime)."""
    return f"bench{next(_email_counter)}@example.com"
