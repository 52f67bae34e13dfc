"""The SQL functions every SQLite connection gets: ``REGEXP`` and a NUL-safe ``LIKE``."""

from __future__ import annotations

import functools
import re
from typing import Any

import apsw

__all__ = ["install", "like", "regexp"]


def regexp(*args: Any) -> int | None:
    """``x REGEXP p`` calls regexp(p, x). ``re`` caches compiled patterns."""
    pattern, value = args
    if pattern is None or value is None:
        return None
    return 1 if re.search(pattern, value if isinstance(value, str) else str(value)) else 0


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    # The built-in LIKE's rules: % any run, _ one character, \ escapes the next one,
    # ASCII letters match either case (and only they do).
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            if char == "\\":
                char = next(chars, "")
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | re.ASCII | re.IGNORECASE)


def like(*args: Any) -> int | None:
    """``oxyde_like(pattern, value)``: what ``value LIKE pattern ESCAPE '\\'`` means, for
    the whole value. SQLite's own LIKE reads its operands as NUL-terminated strings, so
    it never sees what a stored value holds after a NUL; the SQL the SQLite dialect
    builds sends only such values here."""
    pattern, value = args
    if pattern is None or value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return 1 if _like_regex(str(pattern)).fullmatch(text) else 0


def install(db: apsw.Connection) -> None:
    """Register the functions on a new connection."""
    db.create_scalar_function("REGEXP", regexp, 2, deterministic=True)
    db.create_scalar_function("oxyde_like", like, 2, deterministic=True)
