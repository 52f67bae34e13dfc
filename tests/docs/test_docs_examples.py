"""Every Python block of the documentation runs, page by page, against SQLite.

Each page runs in its own interpreter in a scratch directory (``pagerun.py`` says how
blocks are chosen and marked). A failure names the page and line of the block.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "pagerun.py"
DOCS = HERE.parents[1] / "docs"

sys.path.insert(0, str(HERE))
from pagerun import blocks, runnable  # noqa: E402

PAGES = sorted(path for path in DOCS.rglob("*.md") if runnable(path))

pytestmark = pytest.mark.sqlite


def run_page(page: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), str(page)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    result = run_page(page, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_guides_have_examples_that_run() -> None:
    guides = {"getting-started.md", "models.md", "queries.md", "relations.md"}
    assert guides <= {page.name for page in PAGES}


def test_markers_choose_blocks_and_a_failure_names_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n"
        "```python\nvalue = 1\n```\n"
        "<!-- test: skip: a fragment -->\n"
        "```python\nthis is not python\n```\n"
        "<!-- test: run\nvalue += 1\n-->\n"
        "```python\nimport asyncio\nawait asyncio.sleep(0)\nassert value == 2\n```\n"
        "```python\nraise RuntimeError('boom')\n```\n",
        encoding="utf-8",
    )
    found = blocks(page.read_text(encoding="utf-8"))
    assert [(b.line, b.run, b.hidden) for b in found] == [
        (3, True, False),
        (7, False, False),
        (10, True, True),
        (13, True, False),
        (18, True, False),
    ]
    result = run_page(page, tmp_path)
    assert result.returncode == 1
    assert f"{page}:18: the code block starting here failed" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert "assert value == 2" not in result.stderr  # the earlier blocks passed
