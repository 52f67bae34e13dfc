"""The ``oxyde`` command line (also ``python -m oxyde``); needs the ``cli`` extra."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oxyde.cli.app import app

__all__ = ["app", "main"]

#: What the command prints when typer or rich is missing.
MISSING_EXTRA = (
    "the oxyde command needs the 'cli' extra ({missing} is not installed): "
    "pip install 'oxyde-cy[cli]'"
)


def main() -> None:
    """Runs the command line, or says which extra to install when typer/rich are missing."""
    try:
        from oxyde.cli.app import main as run
    except ModuleNotFoundError as exc:
        # Only the optional dependencies are reported this way; any other import error in
        # the CLI is a bug and keeps its traceback.
        missing = (exc.name or "").partition(".")[0]
        if missing not in ("typer", "rich"):
            raise
        raise SystemExit(MISSING_EXTRA.format(missing=missing)) from None
    run()


def __getattr__(name: str) -> Any:
    # `from oxyde.cli import app` keeps working, importing typer only when asked for.
    if name == "app":
        from oxyde.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
