"""Terminal output of the CLI: rich consoles, one-line errors, migration progress."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from oxyde.cli.config import ConfigError
from oxyde.exceptions import OxydeError

__all__ = ["ProgressPrinter", "err", "fail", "interactive", "out", "reports_errors"]

# soft_wrap: long SQL and paths stay on one line (and can be copied, or compared)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

#: errors that are the user's to fix: shown as one line, without a traceback
EXPECTED = (ConfigError, OxydeError, ValueError, TypeError, KeyError, OSError)


def interactive() -> bool:
    """Whether we may ask questions: stdin is a terminal."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]Error:[/] {escape(message)}")
    raise typer.Exit(1)


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def reports_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn an error into one ``Error: ...`` line on stderr and exit status 1
    (``OXYDE_TRACEBACK=1`` shows the traceback instead)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("OXYDE_TRACEBACK"):
                raise
            if isinstance(exc, EXPECTED):
                fail(_message(exc))
            fail(f"{type(exc).__name__}: {_message(exc)}")

    return wrapper


class ProgressPrinter:
    """Prints each migration as ``migrate`` runs it."""

    def __init__(self) -> None:
        self.count = 0
        #: a migration's line is printed and waits for its result
        self.open_line = False

    def start(self, name: str, *, backwards: bool, fake: bool, notes: Sequence[str]) -> None:
        for note in notes:
            out.print(f"  [yellow]note:[/] {escape(name)}: {escape(note)}")
        verb = "Unapplying" if backwards else "Applying"
        suffix = " (fake)" if fake else ""
        out.print(f"  {verb} {escape(name)}{suffix}...", end="")
        self.open_line = True

    def statement(self, sql: str) -> None:
        """A statement about to run on its own (undoing a migration that stopped)."""
        out.print(f"  running: {escape(sql)};")

    def retry(self, sql: str, attempt: int) -> None:
        """An online-mode statement gave up waiting for its lock and will try again."""
        out.print(f" [yellow]lock busy, retry {attempt}[/]", end="")

    def finish(self, name: str, *, backwards: bool, seconds: float) -> None:
        self.count += 1
        self.open_line = False
        out.print(f" [green]OK[/] ({seconds:.2f}s)")


def print_lines(lines: Sequence[Any]) -> None:
    for line in lines:
        out.print(escape(str(line)))
