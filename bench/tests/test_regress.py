"""bench/regress.py: which ratio changes count as drops, and what it records."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH_DIR))

import regress  # noqa: E402


def _results(ops: dict[str, dict[str, dict[str, float]]], revision: str = "abc") -> dict[str, Any]:
    """A results.json with ``{db: {test: {contender: ops/s}}}``."""
    return {
        "meta": {"revision": revision, "command": "bench/run.py --quick", "timestamp": "t"},
        "databases": {
            db: {
                "results": {
                    test: {
                        name: {"status": "ok", "median_ops_per_sec": value}
                        for name, value in cells.items()
                    }
                    for test, cells in tests.items()
                }
            }
            for db, tests in ops.items()
        },
    }


def test_ratios_divide_oxyde_by_the_raw_driver_and_skip_failed_cells() -> None:
    results = _results(
        {
            "sqlite": {"select_pk": {"oxyde-c": 50.0, "apsw": 100.0}},
            "postgres": {"select_pk": {"oxyde-c": 130.0, "psycopg": 100.0}},
        }
    )
    results["databases"]["postgres"]["results"]["join_simple"] = {
        "oxyde-c": {"status": "ok", "median_ops_per_sec": 9.0},
        "psycopg": {"status": "error", "median_ops_per_sec": None},
    }
    assert regress.ratios(results) == {
        "sqlite": {"select_pk": 0.5},
        "postgres": {"select_pk": 1.3},
    }


def test_a_drop_beyond_the_tolerance_fails_and_a_smaller_one_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    before = tmp_path / "before.json"
    before.write_text(json.dumps(_results({"sqlite": {"select_pk": {"oxyde-c": 40, "apsw": 100}}})))
    assert (
        regress.main(["--record", "--from-results", str(before), "--baseline", str(baseline)]) == 0
    )
    assert json.loads(baseline.read_text())["ratios"] == {"sqlite": {"select_pk": 0.4}}

    slower = tmp_path / "slower.json"
    slower.write_text(json.dumps(_results({"sqlite": {"select_pk": {"oxyde-c": 31, "apsw": 100}}})))
    assert regress.main(["--from-results", str(slower), "--baseline", str(baseline)]) == 0

    dropped = tmp_path / "dropped.json"
    dropped.write_text(
        json.dumps(_results({"sqlite": {"select_pk": {"oxyde-c": 29, "apsw": 100}}}))
    )
    assert regress.main(["--from-results", str(dropped), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "| sqlite | select_pk | 0.40 | 0.29 | -28% | 0.30 | - | DROP |" in out
    assert "FAILED: 1 ratio(s) dropped more than 25%: sqlite/select_pk" in out


def test_a_database_missing_now_is_listed_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    both = tmp_path / "both.json"
    both.write_text(
        json.dumps(
            _results(
                {
                    "sqlite": {"select_pk": {"oxyde-c": 40, "apsw": 100}},
                    "mysql": {"select_pk": {"oxyde-c": 100, "mysqlclient": 100}},
                }
            )
        )
    )
    regress.main(["--record", "--from-results", str(both), "--baseline", str(baseline)])
    only_sqlite = tmp_path / "sqlite.json"
    only_sqlite.write_text(
        json.dumps(_results({"sqlite": {"select_pk": {"oxyde-c": 40, "apsw": 100}}}))
    )
    assert regress.main(["--from-results", str(only_sqlite), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "| mysql | select_pk | 1.00 | - | - | 0.75 | - | missing now |" in out
    assert "1 baseline test(s) did not finish now" in out


def _sqlite_run(tmp_path: Path, name: str, select_pk: float, join_simple: float) -> str:
    """A results file of one SQLite run: oxyde-c's ops/s for two tests, apsw at 100."""
    path = tmp_path / f"{name}.json"
    cells = {
        "select_pk": {"oxyde-c": select_pk, "apsw": 100},
        "join_simple": {"oxyde-c": join_simple, "apsw": 100},
    }
    path.write_text(json.dumps(_results({"sqlite": cells})))
    return str(path)


def test_a_drop_counts_only_when_no_re_run_reaches_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = str(tmp_path / "baseline.json")
    before = _sqlite_run(tmp_path, "before", 40, 60)
    regress.main(["--record", "--from-results", before, "--baseline", baseline])
    # both under their floors (0.30 and 0.45) in the first run
    first = _sqlite_run(tmp_path, "first", 20, 30)
    # re-runs: select_pk is back above its floor in one of them, join_simple in none
    reruns = [_sqlite_run(tmp_path, "rerun0", 25, 40), _sqlite_run(tmp_path, "rerun1", 38, 44)]
    code = regress.main(
        ["--from-results", first, "--baseline", baseline, "--confirm-from", *reruns]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "| sqlite | select_pk | 0.40 | 0.20 | -50% | 0.30 | 0.38 | ok on recheck |" in out
    assert "| sqlite | join_simple | 0.60 | 0.30 | -50% | 0.45 | 0.44 | DROP |" in out
    assert "FAILED: 1 ratio(s) dropped more than 25%: sqlite/join_simple" in out

    # a re-run that reaches the floor for every flagged test: no drop
    recovered = _sqlite_run(tmp_path, "recovered", 41, 58)
    code = regress.main(
        ["--from-results", first, "--baseline", baseline, "--confirm-from", recovered]
    )
    assert code == 0
    assert "ok: no ratio dropped" in capsys.readouterr().out


def test_bad_tolerance_and_unreadable_baseline_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as bad:
        regress.main(["--tolerance", "1.5", "--from-results", str(tmp_path / "x.json")])
    assert bad.value.code == 2
    results = tmp_path / "r.json"
    results.write_text(json.dumps(_results({"sqlite": {"select_pk": {"oxyde-c": 1, "apsw": 2}}})))
    with pytest.raises(SystemExit, match="does not exist"):
        regress.main(["--from-results", str(results), "--baseline", str(tmp_path / "none.json")])


def test_several_runs_record_each_ratio_as_its_median(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    files = []
    for i, (ours, join) in enumerate([(40, 5.0), (90, 6.0), (44, None)]):
        cells: dict[str, dict[str, float]] = {"select_pk": {"oxyde-c": ours, "apsw": 100}}
        if join is not None:
            cells["join_simple"] = {"oxyde-c": join, "apsw": 10}
        path = tmp_path / f"run{i}.json"
        path.write_text(json.dumps(_results({"sqlite": cells}, revision=f"r{i}")))
        files.append(str(path))
    assert regress.main(["--record", "--from-results", *files, "--baseline", str(baseline)]) == 0
    recorded = json.loads(baseline.read_text())
    # one lucky round (0.90) does not set the bar; a test two runs finished takes their mean
    assert recorded["ratios"] == {"sqlite": {"select_pk": 0.44, "join_simple": 0.55}}
    assert recorded["runs"] == 3
    with pytest.raises(SystemExit):
        regress.parse_args(["--runs", "0"])
    with pytest.raises(SystemExit):
        regress.parse_args(["--confirm", "-1"])
