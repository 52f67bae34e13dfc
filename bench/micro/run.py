"""Micro benchmarks of oxyde's hot paths, compiled against pure Python against Pydantic.

    .venv/bin/python bench/micro/run.py [--only PATTERN,...] [--quick] [--json PATH]
    .venv/bin/python bench/micro/run.py --callgrind rows.wide.100 [--impl c|python]
    .venv/bin/python bench/micro/run.py --list

Each implementation (``OXYDE_IMPL=c`` and ``OXYDE_IMPL=python``) is measured in its own
child process; Pydantic's ``model_validate`` runs once, in the first. Times are the best of
several samples (the least disturbed by other work on the machine), in nanoseconds per item
(per row for row loading, per statement for SQL).

``--callgrind NAME`` runs one case under ``valgrind --tool=callgrind`` twice, with N and 2N
calls, and reports the difference divided by N: the instructions one call costs, free of
start-up and of timing noise.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MICRO_DIR = Path(__file__).resolve().parent
REPO_DIR = MICRO_DIR.parent.parent


def _import_cases() -> Any:
    # The source tree first: the micro benchmarks measure this checkout.
    sys.path[0] = str(MICRO_DIR)
    sys.path.insert(1, str(REPO_DIR))
    import cases

    return cases


def _select(all_cases: list[Any], patterns: list[str] | None) -> list[Any]:
    if not patterns:
        return all_cases
    chosen = [c for c in all_cases if any(fnmatch.fnmatch(c.name, p) for p in patterns)]
    if not chosen:
        raise SystemExit(f"no case matches {', '.join(patterns)}; see --list")
    return chosen


def _time(fn: Any, sample_seconds: float, samples: int) -> tuple[float, int]:
    """Best seconds per call over ``samples`` samples, and the calls in one sample."""
    # Calibrate: grow the loop until one sample takes long enough to time reliably.
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= sample_seconds / 4 or loops >= 1 << 24:
            break
        loops *= 2 if elapsed == 0 else max(2, min(10, int(sample_seconds / 4 / elapsed) + 1))
    loops = max(1, int(loops * sample_seconds / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best, loops


# --------------------------------------------------------------------- child side


def child(args: argparse.Namespace) -> None:
    cases = _import_cases()
    from oxyde import _impl

    chosen = _select(cases.all_cases(), args.only)
    results = []
    for case in chosen:
        if case.variant != args.variant:
            continue
        try:
            fn = case.make()
        except Exception as exc:  # a feature this checkout does not have yet
            print(f"{case.name}: skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        seconds, loops = _time(fn, args.sample_seconds, args.samples)
        results.append(
            {
                "name": case.name,
                "group": case.group,
                "variant": _impl.impl if case.variant == "impl" else "pydantic",
                "items": case.items,
                "what": case.what,
                "ns_per_call": seconds * 1e9,
                "ns_per_item": seconds * 1e9 / case.items,
                "loops": loops,
            }
        )
    print(json.dumps({"impl": _impl.impl, "results": results}))


def callgrind_child(args: argparse.Namespace) -> None:
    cases = _import_cases()
    (case,) = [c for c in cases.all_cases() if c.name == args.callgrind]
    fn = case.make()
    fn()  # warm: first-call work (caches, imports) must not count
    for _ in range(args.calls):
        fn()


# -------------------------------------------------------------------- parent side


def _spawn(impl: str, extra: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OXYDE_IMPL"] = impl
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.stderr.strip():
        print(proc.stderr.strip()[-2000:], file=sys.stderr)
    if proc.returncode != 0:
        return {"impl": impl, "error": proc.stderr.strip()[-2000:], "results": []}
    answer: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return answer


def _fmt_ns(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def table(runs: list[dict[str, Any]]) -> str:
    by_name: dict[str, dict[str, float]] = {}
    what: dict[str, str] = {}
    order: list[str] = []
    for run in runs:
        for item in run["results"]:
            base = item["name"].removesuffix(".pydantic")
            if base not in by_name:
                by_name[base] = {}
                order.append(base)
            by_name[base][item["variant"]] = item["ns_per_item"]
            if item["variant"] != "pydantic":
                what[base] = item["what"]
    lines = [
        "| case | what | compiled ns/item | pure ns/item | pydantic ns/item "
        "| pure / compiled | pydantic / compiled |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        values = by_name[name]
        c, p, v = values.get("c"), values.get("python"), values.get("pydantic")
        lines.append(
            f"| {name} | {what.get(name, '')} | {_fmt_ns(c)} | {_fmt_ns(p)} | {_fmt_ns(v)} | "
            + (f"{p / c:.2f}x" if c and p else "-")
            + " | "
            + (f"{v / c:.2f}x" if c and v else "-")
            + " |"
        )
    return "\n".join(lines)


def run_callgrind(args: argparse.Namespace) -> int:
    cases = _import_cases()
    names = [c.name for c in cases.all_cases()]
    if args.callgrind not in names:
        raise SystemExit(f"unknown case {args.callgrind!r}; see --list")
    impls = ["c", "python"] if args.impl == "both" else [args.impl]
    print(f"callgrind: {args.callgrind}, {args.calls} and {2 * args.calls} calls", flush=True)
    rows = []
    for impl in impls:
        counts = []
        for calls in (args.calls, 2 * args.calls):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "callgrind.out"
                env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                env["OXYDE_IMPL"] = impl
                proc = subprocess.run(
                    [
                        "valgrind",
                        "--tool=callgrind",
                        f"--callgrind-out-file={out}",
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--callgrind-child",
                        "--callgrind",
                        args.callgrind,
                        "--calls",
                        str(calls),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                match = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
                if proc.returncode != 0 or match is None:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                counts.append(int(match.group(1)))
        per_call = (counts[1] - counts[0]) / args.calls
        rows.append((impl, per_call))
        print(f"  OXYDE_IMPL={impl}: {per_call:,.0f} instructions per call", flush=True)
    if len(rows) == 2 and rows[0][1] > 0:
        print(f"  pure / compiled: {rows[1][1] / rows[0][1]:.2f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", type=lambda s: s.split(","), help="case names or globs")
    parser.add_argument("--list", action="store_true", help="list the cases")
    parser.add_argument("--quick", action="store_true", help="short samples")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--callgrind", default=None, help="count instructions of one case")
    parser.add_argument("--impl", choices=("both", "c", "python"), default="both")
    parser.add_argument("--calls", type=int, default=200, help="calls per callgrind run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="impl", help=argparse.SUPPRESS)
    parser.add_argument("--sample-seconds", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.samples = args.samples or (3 if args.quick else 7)
    args.sample_seconds = args.sample_seconds or (0.02 if args.quick else 0.1)

    if args.callgrind_child:
        callgrind_child(args)
        return 0
    if args.child:
        child(args)
        return 0
    if args.list:
        for case in _import_cases().all_cases():
            print(f"{case.name:<28} {case.what}")
        return 0
    if args.callgrind:
        return run_callgrind(args)

    extra = ["--samples", str(args.samples), "--sample-seconds", str(args.sample_seconds)]
    if args.only:
        extra += ["--only", ",".join(args.only)]
    impls = ["c", "python"] if args.impl == "both" else [args.impl]
    runs = []
    # Pydantic's own numbers do not depend on the speedups: one more process, whichever
    # implementation loads.
    for impl, variant in [*((i, "impl") for i in impls), ("auto", "pydantic")]:
        run = _spawn(impl, [*extra, "--variant", variant])
        if "error" in run:
            print(f"OXYDE_IMPL={impl} failed:\n{run['error']}", file=sys.stderr)
        runs.append(run)
    text = table(runs)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")
    return 0 if all("error" not in r for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
