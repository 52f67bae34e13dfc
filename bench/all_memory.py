"""Peak Python memory of ``all()`` over a large narrow result, against the driver's tuples.

    .venv/bin/python bench/all_memory.py [--rows 100000] [--backends sqlite,postgres,mysql]
        [--postgres-url URL] [--mysql-url URL] [--json PATH]

Each backend runs in a child process of its own. The child fills a narrow table (id, an
int, a short label) with ``--rows`` rows, then, under ``tracemalloc``, measures

- ``tuples``: what the same rows take as the list of tuples the driver returns (the
  memory held after the backend's ``fetch()`` of the same SELECT), and
- ``all() peak``: the highest traced memory while ``Model.objects.all()`` runs (the
  driver's rows and the instances built from them, side by side at some point),

and reports their ratio. The target is 1.5; ``all()`` holding the instances alone costs
what they cost, and the report shows that too (``instances``: what the result keeps), with
``floor``: the least an eager loader could hold, from this interpreter's sizes of one
instance and its ``__dict__`` (a Pydantic instance per row built whole cannot go below
it). The compiled loader defers building each ``__dict__`` to the instance's first use and
keeps the row meanwhile, which is how it comes in under that floor.
Only Python allocations are traced: a driver's own C buffers (libpq's result) are not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import tracemalloc
from typing import Any

from narrow_table import MB, add_backend_options, narrow_table, run_per_backend

TARGET = 1.5


async def measure(url: str, rows: int) -> dict[str, Any]:
    async with narrow_table(url, rows, "bench_mem_row") as (model, database, expected):
        # warm both paths (statement caches, row plans) before measuring
        await model.objects.limit(10).all()
        sql = "SELECT id, n, label FROM bench_mem_row"
        await database.fetch(sql + " LIMIT 10", [])

        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tuples = await database.fetch(sql, [])
        held_tuples = tracemalloc.get_traced_memory()[0] - base
        if len(tuples) != expected:
            raise RuntimeError(f"fetched {len(tuples)} rows, expected {expected}")
        del tuples
        # A result that arrived through a future stays referenced by the event loop's handle
        # that woke this task until the task suspends again: one more statement lets it go,
        # so what all() would free of it does not count in all()'s favour.
        await database.fetch(sql + " LIMIT 1", [])
        gc.collect()

        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        instances = await model.objects.all()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if len(instances) != expected:
            raise RuntimeError(f"loaded {len(instances)} rows, expected {expected}")
        floor = eager_floor(instances, held_tuples / expected)
        return {
            "rows": expected,
            "tuples_mb": round(held_tuples / MB, 2),
            "all_peak_mb": round((peak - base) / MB, 2),
            "instances_mb": round((current - base) / MB, 2),
            "ratio": round((peak - base) / held_tuples, 2),
            "eager_floor": round(floor, 2),
            "bytes_per_row": {
                "tuples": round(held_tuples / expected),
                "all_peak": round((peak - base) / expected),
                "instances": round((current - base) / expected),
            },
        }


def eager_floor(instances: list[Any], tuple_row: float) -> float:
    """The least any eager loader can hold, as a ratio to the tuples: per row, the
    instance object, its ``__dict__`` and its slot in the result list, plus the values,
    which the instance takes over from the row (what a row costs beyond its tuple and
    list slot). All sizes are read from this interpreter, not assumed."""
    sample = instances[len(instances) // 2]
    row_container = sys.getsizeof(tuple(sample.__dict__.values())) + 8
    values = tuple_row - row_container
    instance = sys.getsizeof(sample) + sys.getsizeof(sample.__dict__) + 8
    return (instance + values) / tuple_row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    add_backend_options(parser)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(asyncio.run(measure(args.url, args.rows))))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        results = run_per_backend(__file__, args, tmp, ["--rows", str(args.rows)])

    print(f"all() over {args.rows:,} narrow rows, peak traced memory (target: <= {TARGET}x tuples)")
    print(
        f"{'backend':<10} {'tuples':>9} {'all() peak':>11} {'result':>9} {'ratio':>6} "
        f"{'floor':>6}  B/row"
    )
    over = False
    for backend, r in results.items():
        if "error" in r:
            print(f"{backend:<10} error: {r['error']}")
            over = True
            continue
        per = r["bytes_per_row"]
        verdict = "ok" if r["ratio"] <= TARGET else "OVER TARGET"
        over = over or r["ratio"] > TARGET
        print(
            f"{backend:<10} {r['tuples_mb']:>6.1f} MB {r['all_peak_mb']:>8.1f} MB "
            f"{r['instances_mb']:>6.1f} MB {r['ratio']:>5.2f}x {r['eager_floor']:>5.2f}x  "
            f"{per['tuples']}/{per['all_peak']}/{per['instances']}  {verdict}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
