"""The benchmark harness: what its report says is what was measured.

Not part of the main test run (``pytest bench/tests`` runs it); the end-to-end test drives
``bench/run.py`` against SQLite with the raw apsw contenders, whose virtualenv it creates
under ``bench/.work`` on first use.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH_DIR))

from harness import report  # noqa: E402
from harness.rounds import Cell, DatabaseRun  # noqa: E402
from worker import spec  # noqa: E402
from worker.suite import (  # noqa: E402
    Budget,
    Expected,
    Suite,
    Target,
    check_result,
    measure,
)


def _run(cells: dict[str, dict[str, Cell]], contenders: list[str]) -> DatabaseRun:
    run = DatabaseRun(kind="sqlite", contenders=contenders)
    run.cells = cells
    return run


def test_geomean_is_the_geometric_mean() -> None:
    assert report.geomean([1.0, 100.0]) == pytest.approx(10.0)
    assert report.geomean([2.0, 8.0, 4.0]) == pytest.approx(4.0)
    assert report.geomean([]) is None


def test_a_failed_cell_has_no_median_even_with_rounds() -> None:
    cell = Cell(rounds=[10.0, 30.0, 20.0])
    assert cell.median == 20.0
    cell.status = "error"
    assert cell.median is None


def test_ratio_columns_use_only_tests_both_sides_ran() -> None:
    cells = {
        "select_pk": {"oxyde-c": Cell(rounds=[300.0]), "oxyde-public": Cell(rounds=[100.0])},
        "filter_in": {"oxyde-c": Cell(rounds=[40.0]), "oxyde-public": Cell(rounds=[10.0])},
        "join_simple": {
            "oxyde-c": Cell(status="na", detail="no join yet"),
            "oxyde-public": Cell(rounds=[5.0]),
        },
        "update_bulk": {"oxyde-c": Cell(rounds=[1.0]), "apsw": Cell(rounds=[4.0])},
    }
    run = _run(cells, ["oxyde-c", "oxyde-public", "apsw"])
    tests = ["select_pk", "filter_in", "join_simple", "update_bulk"]
    summary = report.summary(run, tests)
    assert summary["geomean_ratio_vs_public"] == pytest.approx(math.sqrt(3.0 * 4.0))
    assert summary["geomean_ratio_vs_raw"] == pytest.approx(0.25)
    assert summary["geomean_ops_per_sec"]["oxyde-public"] == pytest.approx(
        (100.0 * 10.0 * 5.0) ** (1 / 3)
    )


def test_an_earlier_revision_gets_its_own_ratio_to_the_raw_driver() -> None:
    cells = {
        "select_pk": {
            "oxyde-c": Cell(rounds=[300.0]),
            "oxyde-before": Cell(rounds=[150.0]),
            "apsw": Cell(rounds=[600.0]),
        },
    }
    run = _run(cells, ["oxyde-c", "oxyde-before", "apsw"])
    text = report.database_markdown(run, ["select_pk"], None)
    assert "| oxyde-before / apsw | oxyde-c / apsw |" in text
    assert "| select_pk | 300 | 150 | 600 | 0.25x | 0.50x |" in text
    assert report.summary(run, ["select_pk"])["geomean_before_vs_raw"] == pytest.approx(0.25)


def test_the_earlier_revision_needs_its_interpreter_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from harness import venvs
    from harness.contenders import BY_NAME

    monkeypatch.delenv("OXYDE_BENCH_BEFORE_PYTHON", raising=False)
    with pytest.raises(RuntimeError, match="OXYDE_BENCH_BEFORE_PYTHON, which is not set"):
        venvs.ensure(BY_NAME["oxyde-before"], tmp_path, tmp_path / "log")
    monkeypatch.setenv("OXYDE_BENCH_BEFORE_PYTHON", sys.executable)
    assert venvs.ensure(BY_NAME["oxyde-before"], tmp_path, tmp_path / "log") == Path(sys.executable)


def test_markdown_shows_na_and_numbered_failures() -> None:
    cells = {
        "select_pk": {
            "oxyde-c": Cell(rounds=[1234.0]),
            "oxyde-public": Cell(status="error", detail="boom: connection lost"),
        },
        "join_simple": {"oxyde-c": Cell(status="na", detail="no join"), "oxyde-public": Cell()},
    }
    text = report.database_markdown(
        _run(cells, ["oxyde-c", "oxyde-public"]), ["select_pk", "join_simple"], "sqlite.png"
    )
    assert "| select_pk | 1,234 | err[1] |" in text
    assert "| join_simple | n/a |" in text
    assert "1. oxyde-public / select_pk: boom: connection lost" in text
    assert "![SQLite](sqlite.png)" in text


def test_seeded_data_is_fixed_and_sized_like_the_published_set() -> None:
    first, second = spec.dataset(), spec.dataset()
    assert first == second
    assert len(first.users) == 1000
    assert len(first.posts) == 20_000
    assert len(first.tags) == 50
    assert {link[1] for link in first.post_tags} == set(range(1, 1001))
    assert [u.id for u in first.users] == list(range(1, 1001))


def test_wrong_answers_are_caught() -> None:
    expected = Expected.from_dataset()
    check_result("filter_in", list(range(100)), expected)
    with pytest.raises(AssertionError, match="filter_in: got 99 rows, expected 100"):
        check_result("filter_in", list(range(99)), expected)
    with pytest.raises(AssertionError, match="a lookup found no row"):
        check_result("concurrent_10", [object()] * 9 + [None], expected)


@pytest.mark.slow
@pytest.mark.sqlite
def test_a_run_writes_json_markdown_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "run.py"),
            "--db",
            "sqlite",
            "--contenders",
            "apsw,apsw-thread",
            "--tests",
            "select_pk,insert_single,filter_in,prefetch_related",
            "--rounds",
            "2",
            "--seconds",
            "0.02",
            "--no-publish",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = json.loads((out / "results.json").read_text())
    results = payload["databases"]["sqlite"]["results"]
    for test in ("select_pk", "insert_single", "filter_in", "prefetch_related"):
        for name in ("apsw", "apsw-thread"):
            cell = results[test][name]
            assert cell["status"] == "ok", cell
            assert len(cell["rounds_ops_per_sec"]) == 2
            assert cell["median_ops_per_sec"] > 0
    text = (out / "results.md").read_text()
    assert "| select_pk |" in text and "**geometric mean**" in text
    assert (out / "sqlite.png").stat().st_size > 10_000


class _Blocking(Suite):
    """select_pk holds the thread (as a synchronous driver call does)."""

    async def setup(self, target: Target) -> None:
        return None

    def select_pk(self, pk: int) -> tuple[int]:
        time.sleep(0.002)
        return (pk,)


class _Yielding(Suite):
    """select_pk waits on the loop (as an async driver call does)."""

    async def setup(self, target: Target) -> None:
        return None

    async def select_pk(self, pk: int) -> tuple[int]:
        await asyncio.sleep(0.002)
        return (pk,)


_BUDGET = Budget(seconds=0.05, min_iters=5, max_iters=1000, warmup_seconds=0.0, warmup_iters=0)


async def test_heartbeat_sees_a_blocked_loop() -> None:
    result = await measure(_Blocking({}), "select_pk", _BUDGET, Expected.from_dataset(), 0.001)
    assert result.max_lag is not None
    # Nothing else ran during the whole timed loop.
    assert result.max_lag >= 0.8 * result.seconds


async def test_heartbeat_stays_low_when_the_loop_is_free() -> None:
    result = await measure(_Yielding({}), "select_pk", _BUDGET, Expected.from_dataset(), 0.001)
    assert result.max_lag is not None
    assert result.max_lag < 0.5 * result.seconds
    assert result.ops >= 5


class _Rows(list[int]):
    """A result that can be watched for being freed (a plain list cannot)."""


class _HandedOver(Suite):
    """large_values_100k's rows arrive through a future a loop callback resolves, as a
    driver's reader callback hands them over; each call notes whether the previous
    call's result was still alive when it started."""

    async def setup(self, target: Target) -> None:
        self.previous: weakref.ref[_Rows] | None = None
        self.alive_at_start: list[bool] = []

    async def large_values_100k(self) -> _Rows:
        if self.previous is not None:
            self.alive_at_start.append(self.previous() is not None)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Rows] = loop.create_future()
        loop.call_soon(future.set_result, _Rows(range(spec.LARGE_ROWS)))
        rows = await future
        self.previous = weakref.ref(rows)
        return rows


async def test_a_large_result_is_freed_before_the_next_operation_starts() -> None:
    suite = _HandedOver({})
    await suite.setup(Target(kind="sqlite", url=""))
    budget = Budget(seconds=0.0, min_iters=4, max_iters=8, warmup_seconds=0.0, warmup_iters=0)
    await measure(suite, "large_values_100k", budget, Expected.from_dataset())
    assert len(suite.alive_at_start) >= 4
    # Without the turn given to the loop, the callback that woke the task keeps the
    # future, and the rows, until the next operation's first await.
    assert not any(suite.alive_at_start)
