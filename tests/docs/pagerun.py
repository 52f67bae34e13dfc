"""Runs the Python code blocks of one documentation page, in order, in one module.

``python pagerun.py PAGE.md`` executes every fenced ```` ```python ```` block of the page
as a reader would type them into one asyncio REPL: later blocks see what earlier ones
defined, and top-level ``await`` works. Run it in a scratch directory (the examples create
SQLite files in the working directory). Markers, in an HTML comment on the line right
before a block (invisible on the site):

``<!-- test: skip -->`` or ``<!-- test: skip: why -->``
    not run: a fragment, an error shown on purpose, or code that needs a server.

A comment that starts with ``<!-- test: run`` holds hidden code, run in its place (setup
that the reader does not need to see, such as rows for the next example to read).
Blocks indented under a list or admonition are not run. The exit status is 1 at the first
failing block, whose traceback names the page and its line.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

SKIP = re.compile(r"^<!--\s*test:\s*skip\b.*-->\s*$")
HIDDEN_START = re.compile(r"^<!--\s*test:\s*run\s*$")
FENCE = re.compile(r"^```python\b")


@dataclass(frozen=True)
class Block:
    """One block: its first code line in the page (1-based), its code, and whether it runs."""

    line: int
    code: str
    run: bool
    hidden: bool = False


def blocks(text: str) -> list[Block]:
    """The page's Python blocks and hidden setup comments, in page order."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if HIDDEN_START.match(line):
            end = i + 1
            while end < len(lines) and lines[end].strip() != "-->":
                end += 1
            if end == len(lines):
                raise ValueError(f"line {i + 1}: '<!-- test: run' is never closed by '-->'")
            found.append(Block(i + 2, "\n".join(lines[i + 1 : end]), run=True, hidden=True))
            i = end + 1
            continue
        if FENCE.match(line):
            end = i + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if end == len(lines):
                raise ValueError(f"line {i + 1}: code block is never closed")
            skipped = i > 0 and bool(SKIP.match(lines[i - 1].strip()))
            found.append(Block(i + 2, "\n".join(lines[i + 1 : end]), run=not skipped))
            i = end + 1
            continue
        i += 1
    return found


def runnable(path: Path) -> bool:
    """Whether the page has anything to run."""
    return any(block.run for block in blocks(path.read_text(encoding="utf-8")))


async def _close_databases() -> None:
    from oxyde import disconnect_all

    await disconnect_all()


def run_page(path: Path) -> int:
    # A real module, so Pydantic resolves the forward references of the page's models.
    module = types.ModuleType("docs_page")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    status = 0
    with asyncio.Runner() as runner:
        for block in blocks(path.read_text(encoding="utf-8")):
            if not block.run:
                continue
            # Leading newlines put each code line on its line number in the page.
            source = "\n" * (block.line - 1) + block.code
            try:
                code = compile(source, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                # the page's own examples, compiled with top-level await allowed
                result = eval(code, module.__dict__)
                if inspect.iscoroutine(result):
                    runner.run(result)
            except BaseException:
                kind = "hidden setup" if block.hidden else "code block"
                print(f"{path}:{block.line}: the {kind} starting here failed", file=sys.stderr)
                traceback.print_exc()
                status = 1
                break
        runner.run(_close_databases())
    return status


if __name__ == "__main__":
    sys.exit(run_page(Path(sys.argv[1])))
