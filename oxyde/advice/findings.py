"""A finding: what the advisor saw, where, and the code it suggests instead."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Finding", "call_site", "logger"]

logger = logging.getLogger("oxyde.advice")

# Frames inside these directories are oxyde's own (or asyncio's): the call site is the
# first frame outside them, the user's line that ran the query.
_OXYDE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_ASYNCIO_DIR = os.path.dirname(os.path.abspath(logging.__file__)).rsplit(os.sep, 1)[0]
_SKIP = (_OXYDE_DIR, os.path.join(_ASYNCIO_DIR, "asyncio") + os.sep)


@dataclass
class Finding:
    """One piece of advice. ``count`` grows while the pattern goes on in the same scope."""

    #: one of ``oxyde.advice.DETECTIONS``
    kind: str
    #: the model class name the queries were about
    model: str
    #: the fields involved (the relation key, the written field, the unindexed columns...)
    fields: tuple[str, ...]
    #: the statement's shape: its SQL with placeholders, or the operation
    shape: str
    #: how many times the pattern was seen when the finding was made (then kept up to date)
    count: int
    #: ``path:line`` of the user code that ran the statement
    call_site: str
    #: the code to write instead
    suggestion: str
    #: the database alias
    alias: str = "default"

    @property
    def message(self) -> str:
        return (
            f"{self.kind}: {self.model} ({', '.join(self.fields) or '-'}) seen {self.count}x at "
            f"{self.call_site}; instead: {self.suggestion}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def call_site() -> str:
    """``path:line`` of the innermost frame outside oxyde and asyncio."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_SKIP):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"
