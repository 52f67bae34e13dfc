"""A contender's worker process seen from the orchestrator: start, ask, time out, restart."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from worker.suite import Budget, Target

from harness.contenders import BENCH_DIR, Contender

WORKER_SCRIPT = BENCH_DIR / "worker" / "main.py"


class WorkerError(Exception):
    """The worker died, hung or answered something unreadable."""


class WorkerProcess:
    """One contender on one database, alive across the rounds of a database's run."""

    def __init__(
        self,
        contender: Contender,
        python: Path,
        target: Target,
        log: IO[str],
        scratch: Path,
    ) -> None:
        self.contender = contender
        self.python = python
        self.target = target
        self.log = log
        self.scratch = scratch
        self.proc: subprocess.Popen[str] | None = None
        self.answers: queue.Queue[str | None] = queue.Queue()
        self.info: dict[str, Any] = {}

    # -- life cycle ---------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "OXYDE_IMPL")
        }
        env.update(self.contender.env)
        if self.contender.venv is None and self.contender.python_from is None:
            # oxyde itself runs from the repository's virtualenv; the source tree on the path
            # makes it importable even before an editable install. (Not for another
            # checkout's interpreter: it must import its own oxyde, not this one.)
            env["PYTHONPATH"] = str(BENCH_DIR.parent)
        env["PYTHONUNBUFFERED"] = "1"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.log.write(f"\n===== {self.contender.name} on {self.target.kind} =====\n")
        self.log.flush()
        self.proc = subprocess.Popen(
            [str(self.python), str(WORKER_SCRIPT), "--impl", str(self.contender.impl_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            # Not the repository root: ``import oxyde`` must resolve inside the venv.
            cwd=self.scratch,
        )
        self.answers = queue.Queue()
        threading.Thread(target=self._read_answers, args=(self.proc.stdout,), daemon=True).start()
        answer = self.ask(
            {"cmd": "setup", "target": asdict(self.target), "options": self.contender.options},
            timeout,
        )
        if not answer.get("ok"):
            reason = answer.get("error") or answer.get("na") or "setup failed"
            self.stop()
            raise WorkerError(f"setup: {reason}")
        self.info = {"versions": answer.get("versions", {}), "python": answer.get("python")}

    def _read_answers(self, stream: IO[str] | None) -> None:
        if stream is None:
            return
        for line in stream:
            self.answers.put(line)
        self.answers.put(None)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(WorkerError):
                self.ask({"cmd": "quit"}, timeout)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    # -- commands -----------------------------------------------------------------------

    def ask(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise WorkerError("worker is not running")
        try:
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerError(f"worker went away: {exc}") from exc
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise WorkerError(f"no answer within {timeout:.0f}s (killed)") from None
        if line is None:
            code = proc.wait()
            self.proc = None
            raise WorkerError(f"worker exited with status {code}")
        try:
            answer: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerError(f"unreadable answer {line[:200]!r}") from exc
        return answer

    def run(
        self, test: str, budget: Budget, timeout: float, heartbeat: float = 0.0
    ) -> dict[str, Any]:
        command = {"cmd": "run", "test": test, "budget": asdict(budget), "heartbeat": heartbeat}
        return self.ask(command, timeout)
