"""Guard the speed: oxyde's ratios to the raw drivers against the recorded ones.

    .venv/bin/python bench/regress.py                 # quick run, compare with bench/baseline.json
    .venv/bin/python bench/regress.py --from-results docs/benchmarks/results.json
    .venv/bin/python bench/regress.py --record [--from-results PATH ...]   # write the baseline
    .venv/bin/python bench/regress.py --record --runs 3   # three quick runs, their medians

Several runs (``--runs``, or several ``--from-results`` files) count as one: each test's
ratio is the median of its ratios in the runs that finished it. A baseline recorded from
one quick run carries that run's luck into every later comparison; the median of three
keeps one disturbed round from setting a bar the next run cannot reach.

Times depend on the machine and on what else runs on it; the ratio of oxyde to the raw driver
measured in the same run, interleaved round by round, moves far less. So the baseline keeps
ratios (oxyde-c ops/s divided by the raw driver's: apsw, psycopg, mysqlclient), and a test
fails the check when its ratio falls more than ``--tolerance`` (25% by default) below the
recorded one. A database whose server did not answer, or a test missing on either side, is
listed and not counted as a drop. Exit status: 0 no drop, 1 a drop, 2 bad input.

One quick round per test still catches a disturbed moment now and then (another process,
the table a test writes to growing). So a ratio under its floor is measured again before it
counts: the flagged tests alone, in ``--confirm`` focused quick runs (or read from
``--confirm-from`` files), and the drop stands only when no re-run reaches the floor either.
A real slowdown shows in every run; a moment's disturbance does not come back on cue.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
BASELINE = BENCH_DIR / "baseline.json"

#: The contender whose ratios are guarded, and what it is divided by on each database.
OURS = "oxyde-c"
RAW = {"sqlite": "apsw", "postgres": "psycopg", "mysql": "mysqlclient"}


@dataclass(frozen=True)
class Row:
    db: str
    test: str
    baseline: float | None
    now: float | None
    floor: float | None
    #: the best ratio of the focused re-runs, when ``now`` was under the floor
    recheck: float | None = None

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.now is None:
            return None
        return self.now / self.baseline - 1.0

    @property
    def status(self) -> str:
        if self.now is None:
            return "missing now"
        if self.baseline is None:
            return "new"
        assert self.floor is not None
        if self.now >= self.floor:
            return "ok"
        if self.recheck is not None and self.recheck >= self.floor:
            return "ok on recheck"
        return "DROP"

    @property
    def under_floor(self) -> bool:
        return self.floor is not None and self.now is not None and self.now < self.floor


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare oxyde/raw-driver ratios with the recorded baseline.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--baseline", type=Path, default=BASELINE, help="default bench/baseline.json"
    )
    parser.add_argument(
        "--from-results",
        type=Path,
        nargs="+",
        default=None,
        metavar="RESULTS_JSON",
        help="read results.json files of bench/run.py instead of running the quick suite",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="quick runs to take the median of (default 1)"
    )
    parser.add_argument("--record", action="store_true", help="write the ratios as the baseline")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.25,
        help="a ratio this fraction below the baseline's is a drop (default 0.25)",
    )
    parser.add_argument(
        "--db", default="sqlite,postgres,mysql", help="databases of the quick run (default: all)"
    )
    parser.add_argument(
        "--run-args", default="", help="more arguments for bench/run.py, e.g. '--rounds 5'"
    )
    parser.add_argument(
        "--confirm",
        type=int,
        default=1,
        help="focused quick runs of the tests under their floor before a drop counts "
        "(default 1; 0 counts the first run alone)",
    )
    parser.add_argument(
        "--confirm-from",
        type=Path,
        nargs="+",
        default=None,
        metavar="RESULTS_JSON",
        help="read the re-runs from results.json files instead of running them",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    if args.confirm < 0:
        parser.error(f"--confirm must be 0 or more, got {args.confirm}")
    if not 0.0 < args.tolerance < 1.0:
        parser.error(f"--tolerance must be between 0 and 1 (exclusive), got {args.tolerance}")
    unknown = [d for d in args.db.split(",") if d and d not in RAW]
    if unknown:
        parser.error(f"--db: unknown database(s) {', '.join(unknown)}; use {','.join(RAW)}")
    return args


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{db: {test: oxyde-c / raw}}`` for every test both finished in ``results``."""
    out: dict[str, dict[str, float]] = {}
    for db, run in results.get("databases", {}).items():
        raw = RAW.get(db)
        per_test: dict[str, float] = {}
        for test, cells in run.get("results", {}).items():
            ours, theirs = cells.get(OURS, {}), cells.get(raw, {})
            if ours.get("status") != "ok" or theirs.get("status") != "ok":
                continue
            top, bottom = ours.get("median_ops_per_sec"), theirs.get("median_ops_per_sec")
            if top and bottom:
                per_test[test] = top / bottom
        if per_test:
            out[db] = per_test
    return out


def combined_ratios(
    runs: list[dict[str, Any]], pick: Callable[[list[float]], float]
) -> dict[str, dict[str, float]]:
    """``ratios`` of several runs: per database and test, ``pick`` of the ratios of the
    runs that finished the test."""
    seen: dict[str, dict[str, list[float]]] = {}
    for results in runs:
        for db, per_test in ratios(results).items():
            for test, value in per_test.items():
                seen.setdefault(db, {}).setdefault(test, []).append(value)
    return {
        db: {test: pick(values) for test, values in per_test.items()}
        for db, per_test in seen.items()
    }


def median_ratios(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per database and test, the median ratio (the mean of the middle two for an even
    count): what a baseline records and what a check compares."""
    return combined_ratios(runs, statistics.median)


def recheck(rows: list[Row], reruns: list[dict[str, Any]]) -> list[Row]:
    """``rows`` with each one under its floor given its best ratio in ``reruns``, if any."""
    best = combined_ratios(reruns, max)
    return [
        replace(r, recheck=best.get(r.db, {}).get(r.test)) if r.under_floor else r for r in rows
    ]


def quick_run(dbs: str, extra: str) -> dict[str, Any]:
    """Run bench/run.py --quick for oxyde-c and the raw drivers; return its results.json."""
    contenders = ",".join([OURS, *RAW.values()])
    with tempfile.TemporaryDirectory(prefix="oxyde-regress-") as tmp:
        command = [
            sys.executable,
            str(BENCH_DIR / "run.py"),
            "--quick",
            "--db",
            dbs,
            "--contenders",
            contenders,
            "--no-publish",
            "--no-charts",
            "--out",
            tmp,
            *extra.split(),
        ]
        print("+ " + " ".join(command[1:]), flush=True)
        subprocess.run(command, check=True, cwd=REPO_DIR)
        loaded: dict[str, Any] = json.loads((Path(tmp) / "results.json").read_text())
        return loaded


def load_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{what} {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{what} {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"{what} {path}: expected a JSON object")
    return data


def compare(
    baseline: dict[str, dict[str, float]], now: dict[str, dict[str, float]], tolerance: float
) -> list[Row]:
    rows = []
    for db in RAW:
        before, after = baseline.get(db, {}), now.get(db, {})
        for test in [*before, *(t for t in after if t not in before)]:
            recorded = before.get(test)
            floor = None if recorded is None else recorded * (1.0 - tolerance)
            rows.append(Row(db, test, recorded, after.get(test), floor))
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    lines = [
        f"oxyde-c / raw driver ({', '.join(f'{db}: {raw}' for db, raw in RAW.items())})",
        "",
        "| db | test | baseline | now | change | floor | recheck | status |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    lines.extend(
        f"| {row.db} | {row.test} | {_fmt(row.baseline, '.2f')} | {_fmt(row.now, '.2f')} | "
        f"{_fmt(row.change, '+.0%')} | {_fmt(row.floor, '.2f')} | "
        f"{_fmt(row.recheck, '.2f')} | {row.status} |"
        for row in rows
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_results is not None:
        runs = [load_json(path, "results file") for path in args.from_results]
    else:
        runs = [quick_run(args.db, args.run_args) for _ in range(args.runs)]
    now = median_ratios(runs)
    if not now:
        print("no test finished for both oxyde-c and a raw driver: nothing to compare")
        return 2
    metas = [results.get("meta", {}) for results in runs]
    meta = metas[0]

    if args.record:
        payload = {
            "about": "oxyde-c ops/s divided by the raw driver's, per database and test; "
            "bench/regress.py compares new runs with these",
            "raw_reference": RAW,
            "recorded_from": {k: meta.get(k) for k in ("timestamp", "command", "revision")},
            "runs": len(runs),
            "ratios": now,
        }
        args.baseline.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        count = sum(len(v) for v in now.values())
        print(
            f"recorded {count} ratios (median of {len(runs)} run(s)) from revision "
            f"{meta.get('revision')} in {args.baseline}"
        )
        return 0

    recorded = load_json(args.baseline, "baseline")
    baseline = recorded.get("ratios")
    if not isinstance(baseline, dict):
        print(f"baseline {args.baseline} has no 'ratios' object", file=sys.stderr)
        return 2
    rows = compare(baseline, now, args.tolerance)
    flagged = [r for r in rows if r.under_floor]
    if flagged:
        reruns: list[dict[str, Any]] = []
        if args.confirm_from is not None:
            reruns = [load_json(path, "re-run results file") for path in args.confirm_from]
        elif args.from_results is None and args.confirm:
            dbs = ",".join(sorted({r.db for r in flagged}))
            tests = ",".join(sorted({r.test for r in flagged}))
            print(f"re-measuring {len(flagged)} ratio(s) under their floor: {tests} on {dbs}")
            reruns = [
                quick_run(dbs, f"{args.run_args} --tests {tests}") for _ in range(args.confirm)
            ]
        rows = recheck(rows, reruns)
    print(table(rows))
    drops = [r for r in rows if r.status == "DROP"]
    missing = [r for r in rows if r.status == "missing now"]
    origin = recorded.get("recorded_from", {})
    print(
        f"\nbaseline: revision {origin.get('revision')} ({origin.get('command')}); "
        f"now: revision {meta.get('revision')} ({meta.get('command')}); "
        f"tolerance {args.tolerance:.0%}"
    )
    if missing:
        print(f"{len(missing)} baseline test(s) did not finish now (server down or skipped)")
    if drops:
        names = ", ".join(f"{r.db}/{r.test}" for r in drops)
        print(f"FAILED: {len(drops)} ratio(s) dropped more than {args.tolerance:.0%}: {names}")
        return 1
    print(f"ok: no ratio dropped more than {args.tolerance:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
