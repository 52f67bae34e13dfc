"""A contender's process: loads its implementation and answers the orchestrator's commands.

Run as ``<contender venv>/bin/python bench/worker/main.py --impl PATH``. Commands arrive as
JSON lines on stdin and answers leave as JSON lines on a private copy of stdout; anything
the libraries print goes to stderr, so it can never corrupt the protocol.

Commands: ``{"cmd": "setup", "target": {...}, "options": {...}}``,
``{"cmd": "run", "test": NAME, "budget": {...}}``, ``{"cmd": "quit"}``.
Answers: ``{"ok": true, ...}``, ``{"ok": false, "na": REASON}`` (test not expressible) or
``{"ok": false, "error": TEXT}``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import IO, Any

# The bench directory is the import root for ``worker`` and nothing else: the script's own
# folder would otherwise shadow nothing useful, and the repository root must stay out of
# reach so that ``import oxyde`` finds the package installed in *this* virtualenv.
_BENCH_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(_BENCH_DIR)

from worker import spec  # noqa: E402
from worker.suite import Budget, Expected, NotSupported, Suite, Target, measure  # noqa: E402


def _load_suite_class(impl: Path) -> type[Suite]:
    module_name = "bench_contender"
    loaded = importlib.util.spec_from_file_location(module_name, impl)
    if loaded is None or loaded.loader is None:
        raise ImportError(f"cannot load {impl}")
    module = importlib.util.module_from_spec(loaded)
    # Registered first: ORMs that import their models by module name (Tortoise) find it.
    sys.modules[module_name] = module
    loaded.loader.exec_module(module)
    suite_class: type[Suite] = module.Contender
    return suite_class


class Worker:
    def __init__(self, impl: Path, out: IO[str]) -> None:
        self.impl = impl
        self.suite: Suite | None = None
        self.out = out
        self.expected = Expected.from_dataset()

    def reply(self, **answer: Any) -> None:
        self.out.write(json.dumps(answer) + "\n")
        self.out.flush()

    async def setup(self, command: dict[str, Any]) -> dict[str, Any]:
        # Loaded here, not at start-up, so an import failure is an answer, not a dead pipe.
        suite_class = _load_suite_class(self.impl)
        self.suite = suite_class(command.get("options") or {})
        await self.suite.setup(Target(**command["target"]))
        return {"versions": self.suite.versions(), "python": sys.version.split()[0]}

    async def run(self, command: dict[str, Any]) -> dict[str, Any]:
        if self.suite is None:
            raise RuntimeError("run before setup")
        test = command["test"]
        if test not in spec.TESTS:
            raise ValueError(f"unknown test {test!r}")
        result = await measure(
            self.suite,
            test,
            Budget(**command["budget"]),
            self.expected,
            heartbeat=float(command.get("heartbeat") or 0.0),
        )
        return {
            "ops": result.ops,
            "seconds": result.seconds,
            "max_lag": result.max_lag,
            "max_cpu_hold": result.max_cpu_hold,
        }

    async def quit(self, command: dict[str, Any]) -> dict[str, Any]:
        if self.suite is not None:
            await self.suite.teardown()
        return {}

    def serve(self, stdin: IO[str]) -> None:
        handlers = {"setup": self.setup, "run": self.run, "quit": self.quit}
        # One loop for the whole life of the process: pools belong to the loop they
        # were opened on.
        with asyncio.Runner() as runner:
            for line in stdin:
                if not line.strip():
                    continue
                command = json.loads(line)
                name = command.get("cmd")
                handler = handlers.get(name)
                if handler is None:
                    self.reply(ok=False, error=f"unknown command {name!r}")
                    continue
                try:
                    answer = runner.run(handler(command))
                except (NotSupported, NotImplementedError) as exc:
                    # A library without the feature yet: reported as n/a, not as a failure.
                    self.reply(ok=False, na=f"{type(exc).__name__}: {exc}"[:500])
                except Exception as exc:
                    traceback.print_exc(file=sys.stderr)
                    self.reply(ok=False, error=f"{type(exc).__name__}: {exc}"[:2000])
                else:
                    self.reply(ok=True, **answer)
                if name == "quit":
                    return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", required=True, type=Path, help="the contender's impl.py")
    args = parser.parse_args()
    # Keep the real stdout for answers; point fd 1 at stderr for everyone else.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    worker = Worker(args.impl, protocol_out)
    worker.serve(sys.stdin)


if __name__ == "__main__":
    main()
