"""Benchmarks of oxyde against its peers, side by side, in one command.

    .venv/bin/python bench/run.py [--db sqlite,postgres,mysql] [--contenders a,b]
                                  [--tests x,y | --group crud,queries] [--quick]
                                  [--rounds N] [--seconds S] [--out DIR] [--no-publish]

Every contender runs in its own process (and, except oxyde itself, its own virtualenv under
``bench/.work/venvs``, built on demand from ``bench/contenders/<name>/requirements.txt``).
Results go to ``bench/results/<timestamp>/`` (``results.json``, ``results.md``, one PNG per
database) and, unless ``--no-publish``, the markdown and charts are copied to
``docs/benchmarks/``. Micro benchmarks of the hot paths live in ``bench/micro/run.py``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[0] = str(BENCH_DIR)

from harness import charts, report  # noqa: E402
from harness.contenders import BY_NAME, select  # noqa: E402
from harness.rounds import DatabaseRun, Settings, run_database  # noqa: E402
from worker import spec  # noqa: E402
from worker.suite import Budget  # noqa: E402

REPO_DIR = BENCH_DIR.parent
DOCS_DIR = REPO_DIR / "docs" / "benchmarks"


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmarks of oxyde against its peers, side by side.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="contenders: "
        + ", ".join(f"{c.name} ({'/'.join(c.dbs)})" for c in BY_NAME.values())
        + "\ntests: "
        + ", ".join(spec.TESTS)
        + f" (the {', '.join(sorted(spec.OPT_IN_GROUPS))} group only when named)",
    )
    parser.add_argument(
        "--db", type=_csv, default=list(spec.DATABASES), help="sqlite,postgres,mysql (default: all)"
    )
    parser.add_argument("--contenders", type=_csv, default=None, help="comma-separated names")
    parser.add_argument("--tests", type=_csv, default=None, help="comma-separated test names")
    parser.add_argument(
        "--group", type=_csv, default=None, help=f"test groups: {', '.join(spec.GROUPS)}"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 short rounds; oxyde, the public Oxyde and the raw drivers unless --contenders",
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5, quick 3)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="timed seconds per measurement (default 0.5, quick 0.1)",
    )
    parser.add_argument("--min-iters", type=int, default=None, help="operations per measurement")
    parser.add_argument("--pool-size", type=int, default=10, help="connections per pool")
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=0.0,
        metavar="MS",
        help="run an event-loop heartbeat every MS milliseconds beside each timed loop and "
        "report its worst lag (off by default: it costs the loop a little)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=BENCH_DIR / ".work",
        help="virtualenvs, SQLite files and logs (default bench/.work)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="an administrative connection; contenders get databases <db>_bench_<name>",
    )
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        help="an administrative connection; contenders get databases <db>_bench_<name>",
    )
    parser.add_argument(
        "--no-publish", action="store_true", help="do not copy the results to docs/benchmarks"
    )
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    return parser.parse_args(argv)


def _tests(args: argparse.Namespace) -> list[str]:
    if args.tests:
        unknown = [t for t in args.tests if t not in spec.TESTS]
        if unknown:
            raise SystemExit(f"unknown test(s) {', '.join(unknown)}; see --help")
        return [t for t in spec.TESTS if t in args.tests]
    if args.group:
        unknown = [g for g in args.group if g not in spec.GROUPS]
        if unknown:
            raise SystemExit(f"unknown group(s) {', '.join(unknown)}; see --help")
        return [t for g in spec.GROUPS if g in args.group for t in spec.GROUPS[g]]
    return list(spec.DEFAULT_TESTS)


def settings_from(args: argparse.Namespace) -> Settings:
    unknown = [d for d in args.db if d not in spec.DATABASES]
    if unknown:
        raise SystemExit(f"unknown database(s) {', '.join(unknown)}; use sqlite,postgres,mysql")
    if args.quick:
        budget = Budget(
            seconds=0.1, min_iters=2, max_iters=100_000, warmup_seconds=0.03, warmup_iters=1
        )
        rounds = 3
    else:
        budget = Budget(
            seconds=0.5, min_iters=3, max_iters=1_000_000, warmup_seconds=0.1, warmup_iters=1
        )
        rounds = 5
    if args.seconds is not None:
        budget = Budget(
            seconds=args.seconds,
            min_iters=budget.min_iters,
            max_iters=budget.max_iters,
            warmup_seconds=min(budget.warmup_seconds, args.seconds / 3),
            warmup_iters=budget.warmup_iters,
        )
    if args.min_iters is not None:
        budget = Budget(
            seconds=budget.seconds,
            min_iters=args.min_iters,
            max_iters=budget.max_iters,
            warmup_seconds=budget.warmup_seconds,
            warmup_iters=budget.warmup_iters,
        )
    return Settings(
        dbs=[d for d in spec.DATABASES if d in args.db],
        contenders=select(args.contenders, args.quick),
        tests=_tests(args),
        rounds=args.rounds or rounds,
        budget=budget,
        pool_size=args.pool_size,
        scratch=args.scratch.resolve(),
        postgres_url=args.postgres_url,
        mysql_url=args.mysql_url,
        heartbeat=max(0.0, args.heartbeat) / 1000.0,
    )


def publish(out_dir: Path, chart_files: list[str]) -> None:
    """Copy the latest markdown and charts to docs/benchmarks/ (stale charts removed)."""
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    for old in DOCS_DIR.glob("*.png"):
        if old.name not in chart_files:
            old.unlink()
    shutil.copy2(out_dir / "results.md", DOCS_DIR / "results.md")
    shutil.copy2(out_dir / "results.json", DOCS_DIR / "results.json")
    for name in chart_files:
        shutil.copy2(out_dir / name, DOCS_DIR / name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out_dir = (args.out or BENCH_DIR / "results" / stamp).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    settings.scratch.mkdir(parents=True, exist_ok=True)
    command = "bench/run.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    meta = {
        "timestamp": stamp,
        "command": command.strip(),
        "revision": report.git_revision(REPO_DIR),
    }
    print(
        f"databases: {', '.join(settings.dbs)}; contenders: "
        f"{', '.join(c.name for c in settings.contenders)}; {len(settings.tests)} tests x "
        f"{settings.rounds} rounds; output {out_dir}",
        flush=True,
    )
    started = time.monotonic()
    log_path = out_dir / "workers.log"
    with log_path.open("w") as log:
        runs: list[DatabaseRun] = [run_database(kind, settings, log) for kind in settings.dbs]

    chart_files: dict[str, str] = {}
    if not args.no_charts:
        if charts.available():
            for run in runs:
                name = f"{run.kind}.png"
                if charts.draw(run, settings.tests, out_dir / name):
                    chart_files[run.kind] = name
        else:
            print("matplotlib is not installed: no charts (pip install matplotlib)", flush=True)
    payload = report.to_json(runs, settings, meta)
    text = report.markdown(runs, settings, meta, chart_files)
    report.write(out_dir, payload, text)
    if not args.no_publish:
        publish(out_dir, list(chart_files.values()))
    print(f"\n{text}", flush=True)
    print(
        f"done in {time.monotonic() - started:.0f} s: {out_dir / 'results.md'}"
        + ("" if args.no_publish else f" (copied to {DOCS_DIR.relative_to(REPO_DIR)})"),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
