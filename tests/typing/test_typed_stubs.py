"""The query API under mypy and pyright: revealed types and errors for wrong names.

Two projects: ``stubs`` copies the cases in ``cases/`` to a temporary folder, where
``python -m oxyde generate-stubs`` writes ``models.pyi``; ``plain`` has the same models
and ``cases/plain/usage.py``, with no stubs (the generic API alone). Both checkers run
on each project's ``usage.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"

pytestmark = pytest.mark.slow


def expectations(project: Path) -> tuple[dict[int, str], set[int]]:
    revealed: dict[int, str] = {}
    errors: set[int] = set()
    for number, line in enumerate((project / "usage.py").read_text().splitlines(), start=1):
        if "reveal_type(" in line and "# revealed: " in line:
            revealed[number] = line.split("# revealed: ", 1)[1].strip()
        elif line.rstrip().endswith("# error"):
            errors.add(number)
    return revealed, errors


def _plain(type_text: str) -> str:
    return re.sub(r"\b(?:models|builtins|decimal|typing|oxyde\.queries\.query)\.", "", type_text)


@pytest.fixture(scope="module", params=["stubs", "plain"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"typing-{request.param}")
    for case in CASES.glob("*.py"):
        shutil.copy(case, folder / case.name)
    if request.param == "plain":
        shutil.copy(CASES / "plain" / "usage.py", folder / "usage.py")
        return folder
    (folder / "oxyde_config.py").write_text(
        'MODELS = ["models"]\nDIALECT = "sqlite"\nDATABASES = {"default": "sqlite://x.db"}\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "oxyde", "generate-stubs"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (folder / "models.pyi").exists()
    return folder


def test_mypy(project: Path) -> None:
    config = project / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\nplugins = pydantic.mypy\n"
        f"mypy_path = {ROOT}\ncache_dir = {project / '.mypy_cache'}\n"
        # oxyde's own modules are checked in its own CI; here only their types matter
        "[mypy-oxyde.*]\nfollow_imports = silent\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "usage.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    revealed, errors = expectations(project)
    seen: dict[int, str] = {}
    error_lines: set[int] = set()
    unexpected: list[str] = []
    for line in result.stdout.splitlines():
        match = re.match(r"^([\w.]+):(\d+): (note|error): (.*)$", line)
        if match is None:
            continue
        file, number, kind, message = match.group(1), int(match.group(2)), *match.group(3, 4)
        if kind == "note" and message.startswith("Revealed type is"):
            seen[number] = _plain(message.split('"')[1])
        elif kind == "error":
            if file == "usage.py" and number in errors:
                error_lines.add(number)
            else:
                unexpected.append(line)
    assert unexpected == [], result.stdout
    assert seen == revealed
    assert error_lines == errors


def test_pyright(project: Path) -> None:
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright is not installed")
    (project / "pyrightconfig.json").write_text(
        json.dumps({"extraPaths": [str(ROOT)], "pythonVersion": "3.11"})
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--outputjson",
            "--pythonpath",
            sys.executable,
            "usage.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"pyright could not run here: {result.stdout[:200]} {result.stderr[:200]}")
    revealed, errors = expectations(project)
    seen: dict[int, str] = {}
    error_lines: set[int] = set()
    unexpected: list[str] = []
    for item in report["generalDiagnostics"]:
        number = item["range"]["start"]["line"] + 1
        message = item["message"]
        if item["severity"] == "information" and message.startswith("Type of"):
            seen[number] = _plain(message.rsplit(' is "', 1)[1].rstrip('"'))
        elif item["severity"] == "error":
            if Path(item["file"]).name == "usage.py" and number in errors:
                error_lines.add(number)
            else:
                unexpected.append(f"{item['file']}:{number}: {message}")
    assert unexpected == []
    assert seen == revealed
    assert error_lines == errors
