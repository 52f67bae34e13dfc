"""One benchmark test of oxyde in a loop, in this process: the thing to point a profiler at.

    .venv/bin/python bench/profile_loop.py select_pk --seconds 20 [--db sqlite|postgres|mysql]
    py-spy record --native -o select_pk.svg -- .venv/bin/python bench/profile_loop.py select_pk

It seeds a scratch database exactly as ``bench/run.py`` does, connects oxyde (whichever
implementation ``OXYDE_IMPL`` selects) and repeats the test's operation until the time is
up, then prints the rate. No child processes, so the profiler sees every frame.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[0] = str(BENCH_DIR)
sys.path.insert(1, str(BENCH_DIR.parent))

from harness import databases  # noqa: E402
from worker import spec  # noqa: E402
from worker.main import _load_suite_class  # noqa: E402
from worker.suite import Budget, Expected, measure  # noqa: E402


async def _run(test: str, kind: str, seconds: float, args: argparse.Namespace) -> None:
    server = databases.server(
        kind, scratch=args.scratch, postgres_url=args.postgres_url, mysql_url=args.mysql_url
    )
    name = "profile"
    server.create(name, large=test in spec.LARGE)
    options = {"unsliced": True} if args.unsliced else {}
    suite = _load_suite_class(BENCH_DIR / "contenders" / "oxyde" / "impl.py")(options)
    await suite.setup(server.target(name, args.pool_size))
    try:
        if args.ops:
            # a fixed count, for instruction counts (callgrind): N and 2N operations, the
            # difference divided by N is one operation, free of set-up
            budget = Budget(
                seconds=0.0,
                min_iters=args.ops,
                max_iters=args.ops + 2,
                warmup_seconds=0.0,
                warmup_iters=2,
            )
        else:
            budget = Budget(
                seconds=seconds,
                min_iters=1,
                max_iters=10**9,
                warmup_seconds=min(1.0, seconds / 10),
                warmup_iters=1,
            )
        result = await measure(suite, test, budget, Expected.from_dataset())
    finally:
        await suite.teardown()
    import oxyde

    print(
        f"{test} on {kind} (OXYDE_IMPL -> {getattr(oxyde, '__impl__', '?')}): "
        f"{result.ops_per_sec:,.1f} ops/s over {result.ops} operations",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("test", choices=spec.TESTS)
    parser.add_argument("--db", default="sqlite", choices=tuple(spec.DATABASES))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--ops", type=int, default=0, help="run exactly this many timed operations instead"
    )
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument(
        "--unsliced",
        action="store_true",
        help="convert and load large results in one piece, as the oxyde-unsliced contender",
    )
    parser.add_argument("--scratch", type=Path, default=BENCH_DIR / ".work" / "profile")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306/test")
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(_run(args.test, args.db, args.seconds, args))
    print(f"({time.monotonic() - started:.1f} s in all)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
