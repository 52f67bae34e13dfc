"""The statement cache: IR tree -> compiled SQL text and param plan, once per query shape.

An IR tree carries no values (``oxyde/sql/ir.py``), so equal trees are equal query shapes
and one dict lookup finds their SQL. Only a miss calls the SQL builder; a hit costs the
tree's hash plus binding the values (``sqlbuild.bind``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from oxyde import _impl
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.ir import Node

__all__ = ["Compiled", "cache_info", "clear_cache", "compile_statement", "render"]

#: Entries kept before the oldest half is dropped. Query shapes come from code, not data,
#: so a real application stays far below this; the bound guards against generated shapes
#: (e.g. IN lists of every length on SQLite).
MAX_ENTRIES: Final = 4096


class Compiled:
    """SQL text for one dialect and the plan saying which values fill its placeholders."""

    __slots__ = ("plan", "sql")

    def __init__(self, sql: str, plan: tuple[Any, ...]) -> None:
        self.sql = sql
        self.plan = plan

    def __repr__(self) -> str:
        return f"Compiled({self.sql!r}, {self.plan!r})"


# Dialect hashes by identity, so a backend's derived dialect gets its own entries.
_cache: dict[tuple[Dialect, Node], Compiled] = {}
_stats = {"hits": 0, "misses": 0}


def compile_statement(ir: Node, dialect: Dialect) -> Compiled:
    """The compiled form of ``ir`` for ``dialect``, from the cache when it is there."""
    key = (dialect, ir)
    compiled = _cache.get(key)
    if compiled is not None:
        _stats["hits"] += 1
        return compiled
    sql, plan = _impl.sqlbuild.compile(ir, dialect)
    compiled = Compiled(sql, plan)
    if len(_cache) >= MAX_ENTRIES:
        _evict()
    _cache[key] = compiled
    _stats["misses"] += 1
    return compiled


def _evict() -> None:
    # dicts keep insertion order: the first half is the oldest half. pop() with a default
    # keeps this safe if another thread evicts at the same time.
    for key in list(_cache)[: len(_cache) // 2]:
        _cache.pop(key, None)


def render(ir: Node, values: Sequence[Any], dialect: Dialect) -> tuple[str, list[Any]]:
    """``(sql, params)`` ready for the driver: compiled (or cached) and bound."""
    compiled = compile_statement(ir, dialect)
    return compiled.sql, _impl.sqlbuild.bind(compiled.plan, values, dialect.adapters)


def cache_info() -> dict[str, int]:
    """``{"hits": ..., "misses": ..., "size": ...}`` since the last ``clear_cache()``."""
    return {"hits": _stats["hits"], "misses": _stats["misses"], "size": len(_cache)}


def clear_cache() -> None:
    _cache.clear()
    _stats["hits"] = 0
    _stats["misses"] = 0
