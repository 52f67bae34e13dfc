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
import sys
import tempfile
import time
from typing import Any

from narrow_table import MB, add_backend_options, narrow_table, run_per_backend

TARGET_MB = 50.0


def rss_bytes() -> int:
    """The process's resident set size now (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def measure(url: str, rows: int, chunk_size: int) -> dict[str, Any]:
    async with narrow_table(url, rows, "bench_stream_row") as (model, _, expected):
        gc.collect()
        before = rss_bytes()
        peak_before = peak_rss_bytes()
        highest = before
        count = 0
        total = 0
        start = time.perf_counter()
        async for row in model.objects.iterator(chunk_size=chunk_size):
            count += 1
            total += row.n
            if count % 10_000 == 0:
                highest = max(highest, rss_bytes())
        elapsed = time.perf_counter() - start
        highest = max(highest, rss_bytes())
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    add_backend_options(parser)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(asyncio.run(measure(args.url, args.rows, args.chunk_size))))
        return 0

    child_args = ["--rows", str(args.rows), "--chunk-size", str(args.chunk_size)]
    with tempfile.TemporaryDirectory() as tmp:
        results = run_per_backend(__file__, args, tmp, child_args)

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
