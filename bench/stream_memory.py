"""Peak memory growth of ``iterator()`` over a large result, per backend (target < 50 MB).

    .venv/bin/python bench/stream_memory.py [--rows 1000000] [--chunk-size 1000]
        [--backends sqlite,postgres,mysql] [--postgres-url URL] [--mysql-url URL]
        [--json PATH]

Each backend runs in a child process of its own, so one backend's peak does not hide
another's. The child fills a narrow table with ``--rows`` rows (the server copies a
1,000-row seed, so filling costs the client no memory), measures its resident set size,
streams every row as model instances with ``iterator(chunk_size=...)``, and reports the
growth: the highest RSS sampled while streaming minus the RSS before, and the growth of
the kernel's own peak (``ru_maxrss``). A result held in memory would grow by hundreds of
MB at a million rows; a stream stays near the size of one chunk.

URLs default to ``OXYDE_TEST_POSTGRES_URL`` / ``OXYDE_TEST_MYSQL_URL`` or the local
servers; SQLite uses a temporary file. The table ``bench_stream_row`` is dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 50.0
DEFAULT_URLS = {
    "postgres": os.environ.get(
        "OXYDE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("OXYDE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
MB = 1024 * 1024


def rss_bytes() -> int:
    """The process's resident set size now (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def measure(url: str, rows: int, chunk_size: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from oxyde import Field, Model, execute_raw
    from oxyde.db import AsyncDatabase, create_tables, drop_tables

    class BenchStreamRow(Model):
        id: int | None = Field(default=None, db_pk=True)
        n: int
        label: str = Field(default="", max_length=20)

        class Meta:
            is_table = True
            table_name = "bench_stream_row"

    database = AsyncDatabase(url, overwrite=True)
    await database.connect()
    try:
        await drop_tables(database, models=[BenchStreamRow])
        await create_tables(database, models=[BenchStreamRow])
        await BenchStreamRow.objects.bulk_create(
            [BenchStreamRow(n=i, label=f"row {i}") for i in range(1000)]
        )
        thousands = max(1, rows // 1000)
        if thousands > 1:
            await execute_raw(
                "INSERT INTO bench_stream_row (n, label) SELECT a.n * 1000 + b.n, b.label "
                "FROM bench_stream_row a CROSS JOIN bench_stream_row b "
                f"WHERE a.n BETWEEN 1 AND {thousands - 1}"
            )
        gc.collect()
        before = rss_bytes()
        peak_before = peak_rss_bytes()
        highest = before
        count = 0
        total = 0
        start = time.perf_counter()
        async for row in BenchStreamRow.objects.iterator(chunk_size=chunk_size):
            count += 1
            total += row.n
            if count % 10_000 == 0:
                highest = max(highest, rss_bytes())
        elapsed = time.perf_counter() - start
        highest = max(highest, rss_bytes())
        expected = thousands * 1000
        if count != expected or total != expected * (expected - 1) // 2:
            raise RuntimeError(f"streamed {count} rows (sum {total}), expected {expected}")
        return {
            "rows": count,
            "chunk_size": chunk_size,
            "seconds": round(elapsed, 3),
            "rows_per_second": round(count / elapsed),
            "rss_before_mb": round(before / MB, 1),
            "growth_mb": round((highest - before) / MB, 1),
            "peak_rss_growth_mb": round(
                max(0, peak_rss_bytes() - max(before, peak_before)) / MB, 1
            ),
        }
    finally:
        if database.connected:
            await drop_tables(database, models=[BenchStreamRow])
        await database.disconnect()


def run_child(backend: str, url: str, rows: int, chunk_size: int) -> dict[str, Any]:
    """One backend in a fresh process; its JSON result on the last line of stdout."""
    cmd = [
        sys.executable, __file__, "--child", backend, "--url", url,
        "--rows", str(rows), "--chunk-size", str(chunk_size),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgres,mysql")
    parser.add_argument("--postgres-url", default=DEFAULT_URLS["postgres"])
    parser.add_argument("--mysql-url", default=DEFAULT_URLS["mysql"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(asyncio.run(measure(args.url, args.rows, args.chunk_size))))
        return 0

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {
            "sqlite": f"sqlite:///{tmp}/stream.db",
            "postgres": args.postgres_url,
            "mysql": args.mysql_url,
        }
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend not in urls:
                parser.error(f"unknown backend {backend!r}")
            results[backend] = run_child(backend, urls[backend], args.rows, args.chunk_size)

    over = False
    print(f"iterator() over {args.rows:,} rows, chunk_size={args.chunk_size} "
          f"(target: growth < {TARGET_MB:g} MB)")  # fmt: skip
    print(f"{'backend':<10} {'rows/s':>10} {'RSS before':>11} {'growth':>8} {'peak growth':>12}")
    for backend, r in results.items():
        if "error" in r:
            print(f"{backend:<10} error: {r['error']}")
            over = True
            continue
        worst = max(r["growth_mb"], r["peak_rss_growth_mb"])
        verdict = "ok" if worst < TARGET_MB else "OVER TARGET"
        over = over or worst >= TARGET_MB
        print(
            f"{backend:<10} {r['rows_per_second']:>10,} {r['rss_before_mb']:>8.1f} MB "
            f"{r['growth_mb']:>5.1f} MB {r['peak_rss_growth_mb']:>9.1f} MB  {verdict}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
