"""The ``oxyde`` command line (also ``python -m oxyde``); needs the ``cli`` extra.

``import oxyde`` never imports this package, so typer and rich stay optional: without
them, the ``oxyde`` command says which extra to install instead of a traceback.

Layer: the top; it may import any other package, and nothing imports it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]

#: What the command prints when typer or rich is missing.
MISSING_EXTRA = (
    "the oxyde command needs the 'cli' extra ({missing} is not installed): "
    "pip install 'oxyde-cy[cli]'"
)

_missing: str | None = None
try:
    from oxyde.cli.app import app
    from oxyde.cli.app import main as _run
except ModuleNotFoundError as exc:
    # Only the optional dependencies are reported this way; any other import error in
    # the CLI is a bug and keeps its traceback.
    _missing = (exc.name or "").partition(".")[0]
    if _missing not in ("typer", "rich"):
        raise
    app: Any = None  # type: ignore[no-redef]


def main() -> None:
    """Runs the command line, or says which extra to install when typer/rich are missing."""
    if _missing is not None:
        raise SystemExit(MISSING_EXTRA.format(missing=_missing))
    _run()
