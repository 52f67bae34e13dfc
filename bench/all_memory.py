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
what they cost, and the report shows that too (``instances``: what the result keeps).
Only Python allocations are traced: a driver's own C buffers (libpq's result) are not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5
DEFAULT_URLS = {
    "postgres": os.environ.get(
        "OXYDE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("OXYDE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
MB = 1024 * 1024


async def measure(url: str, rows: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from oxyde import Field, Model, execute_raw
    from oxyde.db import AsyncDatabase, create_tables, drop_tables

    class BenchMemRow(Model):
        id: int | None = Field(default=None, db_pk=True)
        n: int
        label: str = Field(default="", max_length=20)

        class Meta:
            is_table = True
            table_name = "bench_mem_row"

    database = AsyncDatabase(url, overwrite=True)
    await database.connect()
    try:
        await drop_tables(database, models=[BenchMemRow])
        await create_tables(database, models=[BenchMemRow])
        await BenchMemRow.objects.bulk_create(
            [BenchMemRow(n=i, label=f"row {i}") for i in range(1000)]
        )
        thousands = max(1, rows // 1000)
        if thousands > 1:
            await execute_raw(
                "INSERT INTO bench_mem_row (n, label) SELECT a.n * 1000 + b.n, b.label "
                "FROM bench_mem_row a CROSS JOIN bench_mem_row b "
                f"WHERE a.n BETWEEN 1 AND {thousands - 1}"
            )
        expected = thousands * 1000
        # warm both paths (statement caches, row plans) before measuring
        await BenchMemRow.objects.limit(10).all()
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
        gc.collect()

        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        instances = await BenchMemRow.objects.all()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if len(instances) != expected:
            raise RuntimeError(f"loaded {len(instances)} rows, expected {expected}")
        return {
            "rows": expected,
            "tuples_mb": round(held_tuples / MB, 2),
            "all_peak_mb": round((peak - base) / MB, 2),
            "instances_mb": round((current - base) / MB, 2),
            "ratio": round((peak - base) / held_tuples, 2),
            "bytes_per_row": {
                "tuples": round(held_tuples / expected),
                "all_peak": round((peak - base) / expected),
                "instances": round((current - base) / expected),
            },
        }
    finally:
        if database.connected:
            await drop_tables(database, models=[BenchMemRow])
        await database.disconnect()


def run_child(backend: str, url: str, rows: int) -> dict[str, Any]:
    """One backend in a fresh process; its JSON result on the last line of stdout."""
    cmd = [sys.executable, __file__, "--child", backend, "--url", url, "--rows", str(rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres,mysql")
    parser.add_argument("--postgres-url", default=DEFAULT_URLS["postgres"])
    parser.add_argument("--mysql-url", default=DEFAULT_URLS["mysql"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(asyncio.run(measure(args.url, args.rows))))
        return 0

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {
            "sqlite": f"sqlite:///{tmp}/mem.db",
            "postgres": args.postgres_url,
            "mysql": args.mysql_url,
        }
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend not in urls:
                parser.error(f"unknown backend {backend!r}")
            results[backend] = run_child(backend, urls[backend], args.rows)

    print(f"all() over {args.rows:,} narrow rows, peak traced memory (target: <= {TARGET}x tuples)")
    print(f"{'backend':<10} {'tuples':>9} {'all() peak':>11} {'result':>9} {'ratio':>6}  B/row")
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
            f"{r['instances_mb']:>6.1f} MB {r['ratio']:>5.2f}x  "
            f"{per['tuples']}/{per['all_peak']}/{per['instances']}  {verdict}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
