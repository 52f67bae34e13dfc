"""Read-heavy concurrent load, primary only against primary + replica, side by side.

    .venv/bin/python bench/replicas.py [--url postgresql://postgres@127.0.0.1:5432/test]
                                       [--tasks 100] [--ops 20000] [--rounds 5] [--pair]

100 tasks share ``--ops`` operations: 90% point reads (``get(id=...)``), 10% writes
(``update`` of one row). Each configuration runs once per round, interleaved, and the
median of the rounds is reported with the spread:

- ``primary only``: no replicas; the routing costs one attribute check per query;
- ``router, no replica``: a router that always answers ``None``, on the same single
  pool: every query takes the routing path (executor, decision, router call) and still
  runs on the primary, so the difference to ``primary only`` is the routing code;
- ``replica = same server``: the primary's URL given again as a replica (its own pool
  of the same size): reads go through replica selection to the same server.

``--pair`` also starts a PostgreSQL streaming pair (``tests/integration/replication.py``,
needs the server binaries) and compares primary only with primary + its real replica;
on one machine both servers share the CPUs, so this shows the mechanics, not a win.
Read-your-writes is off in every configuration (``read_your_writes=None``), so reads keep
going to the replica after a task's writes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oxyde import AsyncDatabase, Field, Model, PoolSettings
from oxyde.db.registry import register_connection, unregister_connection
from oxyde.db.schema import create_tables, drop_tables

ROWS = 1000
#: the repository, for --pair's tests/integration/replication.py
ROOT = Path(__file__).resolve().parents[1]


class RbRow(Model):
    id: int | None = Field(default=None, db_pk=True)
    k: int = 0
    v: str = Field(default="", max_length=50)

    class Meta:
        is_table = True
        table_name = "rb_row"


async def load(database: AsyncDatabase, tasks: int, ops: int, seed: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) for ``ops`` operations spread over
    ``tasks`` concurrent tasks."""
    register_connection(database, overwrite=True)
    per_task = ops // tasks
    using = database.name

    async def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        for i in range(per_task):
            key = rng.randrange(1, ROWS + 1)
            if rng.random() < 0.1:
                await RbRow.objects.filter(id=key).update(k=i, using=using)
            else:
                await RbRow.objects.get(id=key, using=using)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(tasks)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    unregister_connection(database.name)
    return elapsed, cpu


def never(model: Any, operation: str, hints: Any) -> None:
    return None


async def compare(
    configs: dict[str, Callable[[], AsyncDatabase]], tasks: int, ops: int, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    databases = {name: make() for name, make in configs.items()}
    for database in databases.values():
        await database.connect()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in databases}
    try:
        for database in databases.values():  # warm-up: pools filled, statements known
            await load(database, tasks, ops // 4, seed=0)
        for r in range(rounds):
            order = list(databases.items())
            if r % 2:
                order.reverse()  # neither runs always first
            for name, database in order:
                times[name].append(await load(database, tasks, ops, seed=r + 1))
    finally:
        for database in databases.values():
            await database.disconnect()
    return times


def report(title: str, times: dict[str, list[tuple[float, float]]], ops: int, base: str) -> None:
    """Wall time (throughput, what the server and the machine's load decide as well) and
    the client process's CPU time per operation (where routing costs show, and much less
    disturbed by other processes on the machine)."""
    print(f"\n{title}")
    base_wall = statistics.median(w for w, _ in times[base])
    base_cpu = statistics.median(c for _, c in times[base])
    for name, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        cpus = sorted(c / ops * 1e6 for _, c in values)
        print(
            f"  {name:<22} {ops / wall:7.0f} ops/s (time {(wall / base_wall - 1) * 100:+5.1f}%)"
            f"   client CPU {cpu / ops * 1e6:6.1f} us/op ({(cpu / base_cpu - 1) * 100:+5.1f}%,"
            f" rounds {cpus[0]:.1f}-{cpus[-1]:.1f})"
        )


async def prepare(url: str) -> None:
    setup = AsyncDatabase(url, name="rb_setup", auto_register=False)
    async with setup:
        await drop_tables(setup, models=[RbRow])
        await create_tables(setup, models=[RbRow])
        values = ", ".join(f"({i}, {i}, 'v{i}')" for i in range(1, ROWS + 1))
        await setup.execute(f"INSERT INTO rb_row (id, k, v) VALUES {values}", ())


async def main(args: argparse.Namespace) -> None:
    settings = PoolSettings(max_connections=args.pool, acquire_timeout=60)
    url = args.url
    await prepare(url)

    def single() -> AsyncDatabase:
        return AsyncDatabase(url, name="primary_only", settings=settings, auto_register=False)

    def routed() -> AsyncDatabase:
        return AsyncDatabase(
            url, name="router", settings=settings, router=never, read_your_writes=None,
            auto_register=False,
        )  # fmt: skip

    def same_server() -> AsyncDatabase:
        return AsyncDatabase(
            url, name="same_server", settings=settings, replicas=[url], read_your_writes=None,
            auto_register=False,
        )  # fmt: skip

    print(
        f"{args.tasks} tasks, {args.ops} operations per run (90% get, 10% update), "
        f"pool of {args.pool} per server, {args.rounds} rounds, interleaved"
    )
    times = await compare(
        {
            "primary only": single,
            "router, no replica": routed,
            "replica = same server": same_server,
        },
        args.tasks,
        args.ops,
        args.rounds,
    )
    report(f"one server ({url.split('@')[-1]})", times, args.ops, "primary only")

    if args.pair:
        sys.path.insert(0, str(ROOT))
        from tests.integration.replication import postgres_pair

        with postgres_pair() as pair:
            primary = pair.primary_url
            await prepare(primary)
            await asyncio.sleep(1)  # the replica replays the table

            def pair_primary() -> AsyncDatabase:
                return AsyncDatabase(
                    primary, name="pair_primary", settings=settings, auto_register=False
                )

            def pair_replica() -> AsyncDatabase:
                return AsyncDatabase(
                    primary, name="pair_replica", settings=settings,
                    replicas=[pair.replica_url], read_your_writes=None, auto_register=False,
                )  # fmt: skip

            times = await compare(
                {"primary only": pair_primary, "primary + 1 replica": pair_replica},
                args.tasks,
                args.ops,
                args.rounds,
            )
            report("PostgreSQL streaming pair", times, args.ops, "primary only")

    cleanup = AsyncDatabase(url, name="rb_cleanup", auto_register=False)
    async with cleanup:
        await drop_tables(cleanup, models=[RbRow])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--pair", action="store_true")
    asyncio.run(main(parser.parse_args()))
