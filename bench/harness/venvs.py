"""Each contender's virtualenv, created on demand from its pinned requirements file.

A virtualenv is rebuilt when its requirements file changes (a hash stamp inside it says
which file built it), so editing a pin is all it takes to move a contender to a new release.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.contenders import BENCH_DIR, Contender

REPO_DIR = BENCH_DIR.parent
STAMP = "bench-requirements.sha256"


def repo_python() -> Path:
    """The repository's virtualenv interpreter (where oxyde is installed editable)."""
    candidate = REPO_DIR / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else Path(sys.executable)


def _base_python() -> str:
    # New virtualenvs are made from the interpreter behind the running one, so every
    # contender runs on the same CPython build.
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure(contender: Contender, root: Path, log: Path) -> Path:
    """The interpreter to run ``contender`` with, creating its virtualenv if needed."""
    if contender.python_from is not None:
        named = os.environ.get(contender.python_from, "")
        if not named or not Path(named).is_file():
            raise RuntimeError(
                f"{contender.name} runs the interpreter named by {contender.python_from}, "
                f"which is {'not set' if not named else f'{named!r}, not a file'}"
            )
        return Path(named)
    requirements = contender.requirements
    if requirements is None:
        return repo_python()
    if contender.venv is None:  # pragma: no cover - narrowed above, kept for the type checker
        raise AssertionError
    venv = root / contender.venv
    python = venv / "bin" / "python"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / STAMP
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"  creating virtualenv {venv} from {requirements.relative_to(REPO_DIR)}", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        subprocess.run(
            [_base_python(), "-m", "venv", str(venv)], check=True, stdout=out, stderr=out, env=env
        )
        result = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
                str(requirements),
            ],
            stdout=out,
            stderr=out,
            env=env,
        )
    if result.returncode != 0:
        raise RuntimeError(f"pip install for {contender.name} failed; see {log}")
    stamp.write_text(digest + "\n")
    return python
