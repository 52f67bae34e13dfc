"""IR -> SQL: the statement compiler, the dialects and DDL. No I/O, no driver imports.

Layer: above ``oxyde.meta`` (it reads ``ModelMeta`` for DDL) and ``oxyde._impl`` (the
compiled SQL builder); it may import those, ``oxyde.exceptions`` and nothing above.
"""

from __future__ import annotations

from oxyde.sql.compiler import Compiled, cache_info, clear_cache, compile_statement, render
from oxyde.sql.dialects import MYSQL, POSTGRES, SQLITE, Dialect, get_dialect

__all__ = [
    "MYSQL",
    "POSTGRES",
    "SQLITE",
    "Compiled",
    "Dialect",
    "cache_info",
    "clear_cache",
    "compile_statement",
    "get_dialect",
    "render",
]
