"""typer and rich are the ``cli`` extra: the core imports without them, and the ``oxyde``
command says which extra to install instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_core_import_does_not_load_the_cli_dependencies() -> None:
    result = run_python(
        "import sys, oxyde, oxyde.migrations\n"
        "loaded = sorted(m for m in ('typer', 'rich') if m in sys.modules)\n"
        "print(','.join(loaded) or 'none')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"


@pytest.mark.parametrize("missing", ["typer", "rich"])
def test_command_without_the_cli_extra_names_the_extra(missing: str) -> None:
    # A None entry in sys.modules makes `import <missing>` fail as if it were not installed.
    result = run_python(
        f"import sys; sys.modules[{missing!r}] = None\nfrom oxyde.cli import main\nmain()"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"needs the 'cli' extra ({missing} is not installed)" in result.stderr
    assert "pip install 'oxyde-cy[cli]'" in result.stderr
