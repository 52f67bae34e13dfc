"""What a run leaves behind: ``results.json`` (every round) and ``results.md`` (medians,
ratio columns and geometric means, one table per database)."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from worker import spec

from harness.contenders import BEFORE, OURS, PUBLIC, RAW_REFERENCE
from harness.rounds import DatabaseRun, Settings


def geomean(values: Iterable[float]) -> float | None:
    """Geometric mean of the positive values (``None`` when there are none)."""
    logs = [math.log(v) for v in values if v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def git_revision(repo: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# ----------------------------------------------------------------------------- JSON


def to_json(runs: list[DatabaseRun], settings: Settings, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": {
            **meta,
            "machine": machine(),
            "rounds": settings.rounds,
            "budget": {
                "seconds": settings.budget.seconds,
                "min_iters": settings.budget.min_iters,
                "max_iters": settings.budget.max_iters,
                "warmup_seconds": settings.budget.warmup_seconds,
                "warmup_iters": settings.budget.warmup_iters,
            },
            "pool_size": settings.pool_size,
            "heartbeat_seconds": settings.heartbeat,
            "data": {
                "users": spec.USERS,
                "posts_per_user": spec.POSTS_PER_USER,
                "tags": spec.TAGS,
                "tagged_posts": spec.TAGGED_POSTS,
            },
            "tests": settings.tests,
            "metric": "median over rounds of (operations / seconds) in one timed loop",
        },
        "databases": {
            run.kind: {
                "contenders": run.contenders,
                "info": run.info,
                "seconds": round(run.seconds, 1),
                "results": {
                    test: {name: cell.as_json() for name, cell in cells.items()}
                    for test, cells in run.cells.items()
                },
                "summary": summary(run, settings.tests),
            }
            for run in runs
        },
    }


def summary(run: DatabaseRun, tests: list[str]) -> dict[str, Any]:
    """Geometric means per contender and of the two ratio columns."""
    medians = {
        name: [m for t in tests if (m := _median(run, t, name)) is not None]
        for name in run.contenders
    }
    raw = RAW_REFERENCE.get(run.kind)
    vs_public = _ratios(run, tests, OURS, PUBLIC)
    vs_raw = _ratios(run, tests, OURS, raw)
    before_vs_raw = _ratios(run, tests, BEFORE, raw)
    return {
        "geomean_ops_per_sec": {name: geomean(values) for name, values in medians.items()},
        "tests_per_contender": {name: len(values) for name, values in medians.items()},
        "geomean_ratio_vs_public": geomean(vs_public),
        "ratio_vs_public_tests": len(vs_public),
        "geomean_ratio_vs_raw": geomean(vs_raw),
        "ratio_vs_raw_tests": len(vs_raw),
        "geomean_before_vs_raw": geomean(before_vs_raw),
        "raw_reference": raw,
    }


def _median(run: DatabaseRun, test: str, name: str) -> float | None:
    cell = run.cells.get(test, {}).get(name)
    return cell.median if cell is not None else None


def _ratios(run: DatabaseRun, tests: list[str], top: str, bottom: str | None) -> list[float]:
    """Per-test ratios ``top / bottom`` over the tests where both have a number."""
    if bottom is None or top not in run.contenders or bottom not in run.contenders:
        return []
    return [
        r for t in tests if (r := ratio(_median(run, t, top), _median(run, t, bottom))) is not None
    ]


# ------------------------------------------------------------------------- Markdown


def _ops(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _cell_text(run: DatabaseRun, test: str, name: str, notes: list[str]) -> str:
    cell = run.cells.get(test, {}).get(name)
    if cell is None:
        return "-"
    if cell.status == "ok":
        return _ops(cell.median)
    if cell.status == "na":
        return "n/a"
    notes.append(f"{name} / {test}: {cell.detail}")
    return f"err[{len(notes)}]"


def database_markdown(run: DatabaseRun, tests: list[str], chart: str | None) -> str:
    title = spec.DATABASES.get(run.kind, run.kind)
    names = run.contenders
    raw = RAW_REFERENCE.get(run.kind, "")
    show_public = OURS in names and PUBLIC in names
    show_raw = OURS in names and raw in names
    show_before = show_raw and BEFORE in names
    header = ["test", *names]
    if show_public:
        header.append(f"{OURS} / {PUBLIC}")
    if show_before:
        header.append(f"{BEFORE} / {raw}")
    if show_raw:
        header.append(f"{OURS} / {raw}")
    lines = [f"## {title}", ""]
    if chart:
        lines += [f"![{title}]({chart})", ""]
    lines += [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    notes: list[str] = []
    for test in tests:
        row = [test] + [_cell_text(run, test, name, notes) for name in names]
        if show_public:
            row.append(_times(ratio(_median(run, test, OURS), _median(run, test, PUBLIC))))
        if show_before:
            row.append(_times(ratio(_median(run, test, BEFORE), _median(run, test, raw))))
        if show_raw:
            row.append(_times(ratio(_median(run, test, OURS), _median(run, test, raw))))
        lines.append("| " + " | ".join(row) + " |")
    summ = summary(run, tests)
    geo_row = ["**geometric mean**"] + [
        f"**{_ops(summ['geomean_ops_per_sec'].get(name))}**" for name in names
    ]
    if show_public:
        geo_row.append(f"**{_times(summ['geomean_ratio_vs_public'])}**")
    if show_before:
        geo_row.append(f"**{_times(summ['geomean_before_vs_raw'])}**")
    if show_raw:
        geo_row.append(f"**{_times(summ['geomean_ratio_vs_raw'])}**")
    lines.append("| " + " | ".join(geo_row) + " |")
    lines.append("")
    lines.append(
        "Operations per second, median of the rounds (higher is better). A geometric mean "
        "covers the tests where that contender has a number, so compare geometric means "
        "only between contenders with the same tests; ratio columns use the tests both sides "
        "ran."
    )
    if any(cell.lags for cells in run.cells.values() for cell in cells.values()):
        lines += ["", *_lag_table(run, tests)]
    if any(cell.cpu_holds for cells in run.cells.values() for cell in cells.values()):
        lines += ["", *_lag_table(run, tests, cpu=True)]
    setup_errors = {n: i["setup_error"] for n, i in run.info.items() if "setup_error" in i}
    if notes or setup_errors:
        lines += ["", "Failures:", ""]
        lines += [f"{i}. {note[:400]}" for i, note in enumerate(notes, 1)]
        lines += [f"- {n} did not start: {why[:400]}" for n, why in setup_errors.items()]
    lines.append("")
    return "\n".join(lines)


def _lag_table(run: DatabaseRun, tests: list[str], *, cpu: bool = False) -> list[str]:
    """Worst event-loop heartbeat lag per test and contender, over all rounds, in ms;
    ``cpu``: the longest loop-thread CPU time between two beats, less the collector's."""
    names = run.contenders
    title = (
        "Longest CPU time the event loop's thread spent between two heartbeats, less the "
        "garbage collector's and freeing each result once the timed loop drops it (ms): what "
        "the code on the loop held it for, whatever else the machine ran meanwhile, apart from "
        "CPython's full collections (they visit every live object, so they grow with the heap, "
        "not with the work in progress) and the caller's own freeing of what it was handed:"
        if cpu
        else "Worst event-loop lag seen by the heartbeat during the timed loops (ms, lower is "
        "better; a synchronous contender holds the loop for its whole timed loop):"
    )
    lines = [
        title,
        "",
        "| test | " + " | ".join(names) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(names)) + "|",
    ]
    for test in tests:
        row = [test]
        for name in names:
            cell = run.cells.get(test, {}).get(name)
            lags = (cell.cpu_holds if cpu else cell.lags) if cell else []
            row.append(f"{max(lags) * 1000:.2f}" if lags else "-")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def markdown(
    runs: list[DatabaseRun], settings: Settings, meta: dict[str, Any], charts: dict[str, str]
) -> str:
    info = machine()
    budget = settings.budget
    lines = [
        "# Benchmark results",
        "",
        f"Run {meta['timestamp']} with `{meta['command']}`"
        + (f" at revision {meta['revision']}" if meta.get("revision") else "")
        + ".",
        "",
        f"Machine: {info['cpu']} ({info['cores']} cores), {info['platform']}, "
        f"Python {info['python']}. Rounds: {settings.rounds}; each measurement runs at least "
        f"{budget.min_iters} operations and then until {budget.seconds:g} s have passed, after "
        f"a warm-up. Data: {spec.USERS:,} users, {spec.USERS * spec.POSTS_PER_USER:,} posts, "
        f"{spec.TAGS} tags, tags on the first {spec.TAGGED_POSTS:,} posts. Pool size "
        f"{settings.pool_size} wherever a library has a pool.",
        "",
    ]
    headline = []
    for run in runs:
        summ = summary(run, settings.tests)
        title = spec.DATABASES.get(run.kind, run.kind)
        parts = []
        total = len(settings.tests)
        if summ["geomean_ratio_vs_public"] is not None:
            parts.append(
                f"{OURS} / {PUBLIC} {_times(summ['geomean_ratio_vs_public'])} "
                f"(over {summ['ratio_vs_public_tests']} of {total} tests)"
            )
        if summ["geomean_ratio_vs_raw"] is not None:
            parts.append(
                f"{OURS} / {summ['raw_reference']} {_times(summ['geomean_ratio_vs_raw'])} "
                f"(over {summ['ratio_vs_raw_tests']} of {total} tests)"
            )
        if parts:
            headline.append(f"- {title} (geometric means): " + ", ".join(parts))
    if headline:
        lines += [*headline, ""]
    for run in runs:
        lines.append(database_markdown(run, settings.tests, charts.get(run.kind)))
    lines += [
        "## Contenders",
        "",
        "| contender | database | what | versions |",
        "|---|---|---|---|",
    ]
    for run in runs:
        for name in run.contenders:
            item = run.info.get(name, {})
            versions = ", ".join(f"{k} {v}" for k, v in sorted(item.get("versions", {}).items()))
            lines.append(
                f"| {name} | {spec.DATABASES.get(run.kind, run.kind)} | "
                f"{item.get('description', '')} | {versions or '-'} |"
            )
    lines.append("")
    return "\n".join(lines)


def write(out_dir: Path, payload: dict[str, Any], text: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out_dir / "results.md").write_text(text)
