"""A stateful property test per backend: one small pool driven through random sequences of
statements, transactions (commit, raise, nested savepoints), abandoned iterators, bulk
writes with and without duplicates, cancellations at random points, sessions killed by
the server, raw SQL and row locks. After every step the database must hold exactly what
the model says, every connection must be back in the pool, idle, and no session may be
left "idle in transaction" on the server.

CI runs a small derandomised budget. ``make soak`` runs it long:
``OXYDE_SOAK_EXAMPLES`` (examples per backend) and ``OXYDE_SOAK_STEPS`` (steps per
example); it prints what it did (transitions per second, kills, cancellations).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oxyde import AsyncDatabase, Field, Model, PoolSettings, atomic, execute_raw
from oxyde.db import create_tables, drop_tables
from oxyde.db.registry import unregister_connection
from oxyde.exceptions import IntegrityError, OperationalError
from tests.conftest import backend_url

pytestmark = [pytest.mark.timeout(900)]

SOAK_EXAMPLES = int(os.environ.get("OXYDE_SOAK_EXAMPLES", "0") or 0)
SOAK_STEPS = int(os.environ.get("OXYDE_SOAK_STEPS", "60") or 60)
#: connections in the pool under test
POOL = 2
#: how long the pool may take to get every connection back after a step
SETTLE = 10.0


class Boom(Exception):
    pass


class SmItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    code: int = Field(db_unique=True)
    n: int = 0

    class Meta:
        is_table = True
        table_name = "sm_item"


class Server:
    """The server seen from outside the pool: its sessions, their state, kills."""

    def __init__(self, backend: str, url: str, app: str, db: AsyncDatabase) -> None:
        self.backend = backend
        self.app = app
        self.db = db
        self.conn: Any = None
        if backend == "postgres":
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)
        elif backend == "mysql":
            import MySQLdb

            from oxyde.backends.url import parse_url

            parsed = parse_url(url)
            given = {
                "user": parsed.username,
                "password": parsed.password,
                "port": parsed.port,
                "database": parsed.database,
            }
            params: dict[str, Any] = {"host": parsed.host or "localhost", "autocommit": True}
            params.update((key, value) for key, value in given.items() if value)
            self.conn = MySQLdb.connect(**params)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.backend == "postgres":
            return list(self.conn.execute(sql, params).fetchall())
        cur = self.conn.cursor()
        cur.execute(sql, params)
        rows = list(cur.fetchall())
        cur.close()
        return rows

    def _mysql_threads(self) -> list[int]:
        backend: Any = self.db.backend
        return [conn.thread_id for conn in list(backend._idle)]

    def idle_in_transaction(self) -> int:
        if self.backend == "postgres":
            rows = self._rows(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND state LIKE 'idle in transaction%%'",
                (self.app,),
            )
            return int(rows[0][0])
        if self.backend == "mysql":
            threads = self._mysql_threads()
            if not threads:
                return 0
            marks = ", ".join(["%s"] * len(threads))
            rows = self._rows(
                "SELECT count(*) FROM information_schema.INNODB_TRX "
                f"WHERE trx_mysql_thread_id IN ({marks})",
                tuple(threads),
            )
            return int(rows[0][0])
        return 0

    def kill_sessions(self) -> int:
        """End the pool's sessions from the server side; how many."""
        if self.backend == "postgres":
            rows = self._rows(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (self.app,),
            )
            return int(rows[0][0])
        killed = 0
        for thread in self._mysql_threads():
            with contextlib.suppress(Exception):
                self._rows(f"KILL {int(thread)}")
                killed += 1
        return killed


class Tally:
    """What a run did, for the soak report."""

    def __init__(self) -> None:
        self.steps = 0
        self.examples = 0
        self.cancels = 0
        self.cancelled_after_commit = 0
        self.kills = 0
        self.kill_failures = 0
        self.rules: collections.Counter[str] = collections.Counter()
        self.started = time.monotonic()

    def report(self, backend: str) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"{backend}: {self.examples} examples, {self.steps} steps in {elapsed:.1f} s "
            f"({self.steps / elapsed if elapsed else 0:.1f} transitions/s); "
            f"{self.cancels} cancellations ({self.cancelled_after_commit} after their "
            f"commit), {self.kills} sessions killed ({self.kill_failures} operations "
            f"failed by a kill); rows lost: 0; rules run: {dict(self.rules)}"
        )


class PoolMachine(RuleBasedStateMachine):
    backend: ClassVar[str] = "sqlite"
    url: ClassVar[str] = ""
    tally: ClassVar[Tally]
    table_ready: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.app = f"oxyde-sm-{uuid.uuid4().hex[:8]}"
        #: code -> n: what the table must hold
        self.model: dict[int, int] = {}
        self.next_code = 1
        #: operations a kill may still fail (one per connection it ended)
        self.kill_budget = 0
        #: (rule, its arguments) of the steps so far, for failure messages
        self.history: list[tuple[str, dict[str, Any]]] = []
        self.db = AsyncDatabase(
            self.url,
            name="default",
            settings=PoolSettings(
                max_connections=POOL, acquire_timeout=10, pg_application_name=self.app
            ),
            overwrite=True,
        )
        self.run(self.db.connect())
        if not type(self).table_ready:
            self.run(drop_tables(self.db, models=[SmItem]))
            self.run(create_tables(self.db, models=[SmItem]))
            type(self).table_ready = True
        else:
            self.run(execute_raw("DELETE FROM sm_item"))
        self.server = Server(self.backend, self.url, self.app, self.db)
        self.tally.examples += 1

    def teardown(self) -> None:
        try:
            self.run(self.db.disconnect())
        finally:
            self.server.close()
            with contextlib.suppress(KeyError):
                unregister_connection("default")
            self.loop.close()

    # -- helpers ---------------------------------------------------------------------

    def run(self, aw: Awaitable[Any]) -> Any:
        async def main() -> Any:
            return await aw

        return self.loop.run_until_complete(main())

    def fresh(self, count: int) -> list[int]:
        codes = list(range(self.next_code, self.next_code + count))
        self.next_code += count
        return codes

    def stored(self, codes: list[int]) -> dict[int, int]:
        async def read() -> dict[int, int]:
            rows = await SmItem.objects.filter(code__in=codes).values_list("code", "n").all()
            return {int(code): int(n) for code, n in rows}

        return dict(self.retrying(read))

    def retrying(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``work``; a connection a kill ended may fail it (once per connection)."""
        while True:
            try:
                return self.run(work())
            except OperationalError:
                if self.kill_budget <= 0:
                    raise
                self.kill_budget -= 1
                self.tally.kill_failures += 1

    def write(
        self,
        work: Callable[[], Awaitable[Any]],
        adds: dict[int, int],
        expect: type[BaseException] | None = None,
    ) -> None:
        """Run a write of ``adds`` (code -> n, inserted or updated) that is all or
        nothing; with ``expect``, it must fail with that and change nothing."""
        self.tally.steps += 1
        frame = sys._getframe(1)
        self.tally.rules[frame.f_code.co_name] += 1
        self.history.append((frame.f_code.co_name, dict(frame.f_locals)))
        try:
            self.run(work())
        except OperationalError:
            if self.kill_budget <= 0:
                raise
            # Failed by a killed session: it happened entirely or not at all.
            self.kill_budget -= 1
            self.tally.kill_failures += 1
            self.resolve(adds)
            return
        except BaseException as exc:
            if expect is None or not isinstance(exc, expect):
                raise
            return
        assert expect is None, f"expected {expect.__name__}"
        self.model.update(adds)

    def resolve(self, adds: dict[int, int]) -> None:
        """An outcome not known to the caller: the database says; all or nothing."""
        now = self.stored(list(adds))
        done = all(now.get(code) == n for code, n in adds.items())
        untouched = all(now.get(code) == self.model.get(code) for code in adds)
        assert done or untouched, f"half-written: wanted {adds}, found {now}"
        if done:
            self.model.update(adds)

    # -- rules -----------------------------------------------------------------------

    @rule(dup=st.booleans())
    def create(self, dup: bool) -> None:
        if dup and self.model:
            code = min(self.model)
            self.write(lambda: SmItem.objects.create(code=code), {}, IntegrityError)
            return
        (code,) = self.fresh(1)
        self.write(lambda: SmItem.objects.create(code=code, n=0), {code: 0})

    @rule(n=st.integers(0, 1000))
    def update(self, n: int) -> None:
        if not self.model:
            return
        code = max(self.model)
        self.write(lambda: SmItem.objects.filter(code=code).update(n=n), {code: n})

    @rule(count=st.integers(1, 3), fail=st.booleans())
    def transaction(self, count: int, fail: bool) -> None:
        codes = self.fresh(count)

        async def work() -> None:
            async with atomic():
                for code in codes:
                    await SmItem.objects.create(code=code, n=1)
                if fail:
                    raise Boom

        self.write(work, {} if fail else dict.fromkeys(codes, 1), Boom if fail else None)

    @rule(inner_fails=st.booleans(), outer_fails=st.booleans(), depth=st.integers(1, 3))
    def savepoints(self, inner_fails: bool, outer_fails: bool, depth: int) -> None:
        outer, *inner = self.fresh(1 + depth)

        async def nest(level: int) -> None:
            async with atomic():
                await SmItem.objects.create(code=inner[level], n=2)
                if level + 1 < len(inner):
                    await nest(level + 1)
                elif inner_fails:
                    raise Boom

        async def work() -> None:
            async with atomic():
                await SmItem.objects.create(code=outer, n=2)
                with contextlib.suppress(Boom):
                    await nest(0)
                if outer_fails:
                    raise Boom

        adds = {} if outer_fails else {outer: 2}
        if not outer_fails and not inner_fails:
            adds.update(dict.fromkeys(inner, 2))
        self.write(work, adds, Boom if outer_fails else None)

    @rule(take=st.integers(0, 3), inside=st.booleans())
    def iterator_break(self, take: int, inside: bool) -> None:
        async def scan() -> None:
            seen = 0
            async for _ in SmItem.objects.order_by("code").iterator(chunk_size=2):
                seen += 1
                if seen > take:
                    break

        async def work() -> None:
            if inside:
                async with atomic():
                    await scan()
                    await SmItem.objects.count()
            else:
                await scan()

        self.write(work, {})

    @rule(
        size=st.sampled_from([1, 3, 12, 40]),
        batch=st.sampled_from([None, 5]),
        dup=st.booleans(),
        inside=st.booleans(),
    )
    def bulk(self, size: int, batch: int | None, dup: bool, inside: bool) -> None:
        codes = self.fresh(size)
        dup = dup and (size > 1 or bool(self.model))
        if dup:
            codes[-1] = codes[0] if size > 1 else min(self.model)

        async def work() -> None:
            items = [SmItem(code=code, n=3) for code in codes]
            if inside:
                async with atomic():
                    before = await SmItem.objects.count()
                    with contextlib.suppress(IntegrityError):
                        await SmItem.objects.bulk_create(items, batch_size=batch)
                    # The savepoint kept the transaction usable either way.
                    await SmItem.objects.count()
                    if dup:
                        assert await SmItem.objects.count() == before
            else:
                await SmItem.objects.bulk_create(items, batch_size=batch)

        if dup:
            self.write(work, {}, None if inside else IntegrityError)
        else:
            self.write(work, dict.fromkeys(codes, 3))

    @rule(
        kind=st.sampled_from(["create", "transaction", "bulk"]),
        ticks=st.integers(0, 12),
        delay=st.sampled_from([0.0, 0.0005, 0.002, 0.005]),
    )
    def cancel(self, kind: str, ticks: int, delay: float) -> None:
        codes = self.fresh({"create": 1, "transaction": 3, "bulk": 30}[kind])
        returned: list[bool] = []

        async def op() -> None:
            if kind == "create":
                await SmItem.objects.create(code=codes[0], n=4)
            elif kind == "bulk":
                await SmItem.objects.bulk_create([SmItem(code=c, n=4) for c in codes])
            else:
                async with atomic():
                    for code in codes:
                        await SmItem.objects.create(code=code, n=4)
            returned.append(True)

        async def work() -> bool:
            task = asyncio.ensure_future(op())
            for _ in range(ticks):
                await asyncio.sleep(0)
            if delay:
                await asyncio.sleep(delay)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return False
            return True

        self.tally.steps += 1
        self.tally.cancels += 1
        self.tally.rules["cancel"] += 1
        self.history.append(("cancel", {"kind": kind, "ticks": ticks, "delay": delay}))
        try:
            finished = self.run(work())
        except OperationalError:
            if self.kill_budget <= 0:
                raise
            self.kill_budget -= 1
            self.tally.kill_failures += 1
            finished = False
        adds = dict.fromkeys(codes, 4)
        # A statement of its own (no transaction) given up by its task may still be
        # running: its outcome is final once every connection is back.
        self.settle()
        done = self.stored(codes)
        written = all(done.get(code) == 4 for code in codes)
        assert written or not done, f"half-written: {done}"
        if finished:
            assert written, "returned normally, yet nothing was written"
        if returned and not finished:
            self.tally.cancelled_after_commit += 1
        if kind == "transaction":
            # The commit point: committed data means the block ended normally.
            assert written == bool(returned), (written, returned)
        if written:
            self.model.update(adds)

    @precondition(lambda self: self.backend != "sqlite")
    @rule()
    def kill(self) -> None:
        self.settle()
        killed = self.server.kill_sessions()
        self.tally.kills += killed
        self.tally.steps += 1
        self.tally.rules["kill"] += 1
        # Each ended connection may fail one operation before the pool replaces it.
        self.kill_budget += killed + POOL

    @rule(n=st.integers(0, 50))
    def raw(self, n: int) -> None:
        mark = {"postgres": "$1", "mysql": "%s", "sqlite": "?"}[self.backend]

        async def count() -> Any:
            return await execute_raw("SELECT count(*) AS c FROM sm_item")

        rows = self.retrying(count)
        assert int(rows[0]["c"]) == len(self.model)
        if self.model:
            code = min(self.model)
            self.write(
                lambda: execute_raw(f"UPDATE sm_item SET n = {mark} WHERE code = {code}", [n]),
                {code: n},
            )

    @rule(n=st.integers(0, 50))
    def select_for_update(self, n: int) -> None:
        if not self.model:
            return
        code = max(self.model)

        async def work() -> None:
            async with atomic():
                rows = await SmItem.objects.filter(code=code).select_for_update().all()
                assert [row.code for row in rows] == [code]
                await SmItem.objects.filter(code=code).update(n=rows[0].n + n)

        self.write(work, {code: self.model[code] + n})

    # -- what must always hold -------------------------------------------------------

    def settle(self) -> dict[str, int]:
        async def wait() -> dict[str, int]:
            deadline = time.monotonic() + SETTLE
            while True:
                stats = self.db.stats()
                if self.backend == "postgres":
                    idle = stats["pool_available"] == stats["pool_size"]
                    waiting = stats.get("requests_waiting", 0)
                else:
                    idle = stats["in_use"] == 0
                    waiting = stats["waiting"]
                if idle and not waiting:
                    return stats
                if time.monotonic() > deadline:
                    raise AssertionError(f"connections did not come back: {stats}")
                await asyncio.sleep(0.01)

        return dict(self.run(wait()))

    @invariant()
    def pool_is_idle_and_rows_match(self) -> None:
        stats = self.settle()
        size = stats.get("pool_size", stats.get("size", 0))
        assert size <= POOL + 1, stats
        assert self.server.idle_in_transaction() == 0

        async def table() -> dict[int, int]:
            rows = await SmItem.objects.values_list("code", "n").all()
            return {int(code): int(n) for code, n in rows}

        found = self.retrying(table)
        if found != self.model:
            extra = {c: n for c, n in found.items() if self.model.get(c) != n}
            missing = {c: n for c, n in self.model.items() if found.get(c) != n}
            raise AssertionError(
                f"table differs from the model: unexpected {extra}, missing {missing}; "
                f"steps: {self.history[-5:]}"
            )


def machine_settings() -> settings:
    if SOAK_EXAMPLES:
        return settings(
            max_examples=SOAK_EXAMPLES,
            stateful_step_count=SOAK_STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    return settings(
        max_examples=30,
        stateful_step_count=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture
def machine_url(backend_name: str, tmp_path: Any) -> Iterator[str]:
    from tests.conftest import _unreachable, backend_unavailable

    if backend_name in _unreachable:
        backend_unavailable(backend_name, _unreachable[backend_name])
    url = backend_url(backend_name, tmp_path)
    probe = asyncio.new_event_loop()
    try:
        db = AsyncDatabase(url, name="sm-probe", overwrite=True)
        try:
            probe.run_until_complete(db.connect())
        except (OperationalError, ImportError) as exc:
            backend_unavailable(backend_name, exc)
        probe.run_until_complete(db.disconnect())
    finally:
        probe.close()
        with contextlib.suppress(KeyError):
            unregister_connection("sm-probe")
    yield url


def test_pool_state_machine(backend_name: str, machine_url: str) -> None:
    machine = type(
        f"PoolMachine_{backend_name}",
        (PoolMachine,),
        {"backend": backend_name, "url": machine_url, "tally": Tally(), "table_ready": False},
    )
    try:
        machine.TestCase.settings = machine_settings()
        from hypothesis.stateful import run_state_machine_as_test

        run_state_machine_as_test(machine, settings=machine_settings())
    finally:
        print("\n" + machine.tally.report(backend_name))
        loop = asyncio.new_event_loop()
        try:
            db = AsyncDatabase(machine_url, name="sm-cleanup", overwrite=True)
            loop.run_until_complete(db.connect())
            loop.run_until_complete(drop_tables(db, models=[SmItem]))
            loop.run_until_complete(db.disconnect())
        finally:
            loop.close()
            with contextlib.suppress(KeyError):
                unregister_connection("sm-cleanup")
