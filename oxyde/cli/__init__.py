"""The ``oxyde`` command line (also ``python -m oxyde``)."""

from oxyde.cli.app import app, main

__all__ = ["app", "main"]
