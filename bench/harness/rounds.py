"""The run itself: per database, every contender's worker alive at once, and rounds that
interleave them test by test, so that drift of a shared machine hits every contender alike.

Order for one database: for each test, for each round, each contender in turn (the order
rotates by one each round, so nobody is always first after a restore). A contender whose
data a writing test changed gets the seeded rows back before its next measurement.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from worker import spec
from worker.suite import Budget

from harness import databases, venvs
from harness.contenders import Contender
from harness.workers import WorkerProcess


@dataclass(frozen=True)
class Settings:
    dbs: list[str]
    contenders: list[Contender]
    tests: list[str]
    rounds: int
    budget: Budget
    pool_size: int
    scratch: Path
    postgres_url: str
    mysql_url: str
    timeout: float = 180.0
    #: Interval of the event-loop heartbeat in seconds; 0 runs none.
    heartbeat: float = 0.0


@dataclass
class Cell:
    """One (test, contender) on one database: ops/s per round, or why there is none."""

    rounds: list[float] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    #: Worst event-loop lag (seconds) per round, when a heartbeat ran.
    lags: list[float] = field(default_factory=list)
    #: Longest loop-thread CPU time between two heartbeats, less the collector's, per round.
    cpu_holds: list[float] = field(default_factory=list)
    status: str = "ok"  # ok | na | error
    detail: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.rounds) if self.rounds and self.status == "ok" else None

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "median_ops_per_sec": self.median,
            "rounds_ops_per_sec": self.rounds,
            "ops_per_round": self.ops,
            "max_loop_lag_seconds": self.lags,
            "max_loop_cpu_hold_seconds": self.cpu_holds,
            "detail": self.detail,
        }


@dataclass
class DatabaseRun:
    kind: str
    contenders: list[str]
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    seconds: float = 0.0

    def cell(self, test: str, contender: str) -> Cell:
        return self.cells.setdefault(test, {}).setdefault(contender, Cell())


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def run_database(kind: str, settings: Settings, log: IO[str]) -> DatabaseRun:
    started = time.monotonic()
    active = [c for c in settings.contenders if kind in c.dbs]
    result = DatabaseRun(kind=kind, contenders=[c.name for c in active])
    if not active:
        return result
    print(f"\n== {spec.DATABASES[kind]}: {', '.join(c.name for c in active)}", flush=True)
    server = databases.server(
        kind,
        scratch=settings.scratch,
        postgres_url=settings.postgres_url,
        mysql_url=settings.mysql_url,
    )

    workers: dict[str, WorkerProcess] = {}
    for contender in active:
        info: dict[str, Any] = {"description": contender.description, "role": contender.role}
        result.info[contender.name] = info
        try:
            python = venvs.ensure(
                contender, settings.scratch / "venvs", settings.scratch / "pip.log"
            )
            server.create(contender.name, large=not spec.LARGE.isdisjoint(settings.tests))
            worker = WorkerProcess(
                contender,
                python,
                server.target(contender.name, settings.pool_size),
                log,
                settings.scratch / "cwd",
            )
            worker.start()
        except Exception as exc:  # a contender that cannot start must not stop the run
            info["setup_error"] = f"{type(exc).__name__}: {exc}"
            print(f"  {contender.name}: cannot start ({info['setup_error']})", flush=True)
            continue
        info.update(worker.info)
        workers[contender.name] = worker

    dirty = dict.fromkeys(workers, False)
    try:
        for test in settings.tests:
            for round_no in range(settings.rounds):
                shift = round_no % len(active)
                for contender in active[shift:] + active[:shift]:
                    _measure_one(test, contender, workers, dirty, server, settings, result, log)
            _print_test(test, active, result)
    finally:
        for worker in workers.values():
            worker.stop()
    result.seconds = time.monotonic() - started
    return result


def _measure_one(
    test: str,
    contender: Contender,
    workers: dict[str, WorkerProcess],
    dirty: dict[str, bool],
    server: databases.Server,
    settings: Settings,
    result: DatabaseRun,
    log: IO[str],
) -> None:
    name = contender.name
    cell = result.cell(test, name)
    if name not in workers:
        cell.status, cell.detail = "error", result.info[name].get("setup_error", "setup failed")
        return
    if cell.status != "ok":
        return  # n/a and failures are final: do not pay for them every round
    worker = workers[name]
    # One retry: the servers are shared, and a connection killed by someone else's
    # test must not cost a contender its whole row. A real bug fails twice.
    for attempt in (1, 2):
        answer = _attempt(test, name, worker, dirty, server, settings, log)
        if answer.get("ok"):
            seconds = float(answer["seconds"])
            ops = int(answer["ops"])
            cell.rounds.append(ops / seconds if seconds > 0 else 0.0)
            cell.ops.append(ops)
            if answer.get("max_lag") is not None:
                cell.lags.append(float(answer["max_lag"]))
            if answer.get("max_cpu_hold") is not None:
                cell.cpu_holds.append(float(answer["max_cpu_hold"]))
            return
        if "na" in answer:
            cell.status, cell.detail = "na", str(answer["na"])
            return
        log.write(f"[{name}/{test}] attempt {attempt}: {answer.get('error')}\n")
        log.flush()
        dirty[name] = True
    cell.status, cell.detail = "error", str(answer.get("error", "unknown error"))


def _attempt(
    test: str,
    name: str,
    worker: WorkerProcess,
    dirty: dict[str, bool],
    server: databases.Server,
    settings: Settings,
    log: IO[str],
) -> dict[str, Any]:
    try:
        if dirty[name] or not worker.alive:
            server.restore(name)
            dirty[name] = False
        if not worker.alive:
            worker.start()
        return worker.run(test, settings.budget, settings.timeout, settings.heartbeat)
    except Exception as exc:  # WorkerError, or a restore that failed
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        if test in spec.MUTATING:
            dirty[name] = True


def _print_test(test: str, active: list[Contender], result: DatabaseRun) -> None:
    parts = []
    for contender in active:
        cell = result.cell(test, contender.name)
        median = cell.median
        if median is not None:
            shown = _fmt(median)
        elif cell.status == "na":
            shown = "n/a"
        else:
            shown = "ERR"
        parts.append(f"{contender.name} {shown}")
    print(f"  {test:<17} " + " | ".join(parts), flush=True)
    for contender in active:
        cell = result.cell(test, contender.name)
        if cell.status == "error" and "setup_error" not in result.info[contender.name]:
            print(f"      {contender.name}: {cell.detail[:300]}", flush=True)
