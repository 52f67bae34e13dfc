"""Catalogue queries per dialect: the indexes a table has, the server's connection limit.

Each function returns ``(sql, params)`` for the dialect's driver; the readers turn the rows
into plain data. Used by the advisor's index check and ``oxyde doctor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oxyde.sql.dialects.base import Dialect

__all__ = ["connection_limit_sql", "index_columns", "index_columns_sql", "settings_sql"]


def _placeholders(dialect: Dialect, n: int) -> list[str]:
    return dialect.markers(n)


def index_columns_sql(dialect: Dialect, table: str, schema: str | None) -> tuple[str, list[Any]]:
    """Rows ``(index name, column, position from 1)`` of every index on ``table``."""
    if dialect.name == "sqlite":
        (p,) = _placeholders(dialect, 1)
        return (
            "SELECT il.name, ii.name, ii.seqno + 1 FROM pragma_index_list("
            f"{p}) AS il, pragma_index_info(il.name) AS ii ORDER BY il.name, ii.seqno",
            [table],
        )
    if dialect.name == "postgres":
        p1, p2 = _placeholders(dialect, 2)
        return (
            "SELECT i.relname, a.attname, k.n FROM pg_index x "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_namespace ns ON ns.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            f"WHERE t.relname = {p1} AND ns.nspname = COALESCE({p2}, current_schema()) "
            "ORDER BY i.relname, k.n",
            [table, schema],
        )
    (p,) = _placeholders(dialect, 1)
    return (
        "SELECT index_name, column_name, seq_in_index FROM information_schema.statistics "
        f"WHERE table_schema = DATABASE() AND table_name = {p} ORDER BY index_name, seq_in_index",
        [table],
    )


def index_columns(rows: Sequence[Sequence[Any]]) -> dict[str, tuple[str, ...]]:
    """``{index name: its columns in order}`` from the rows of ``index_columns_sql``."""
    out: dict[str, list[tuple[int, str]]] = {}
    for name, column, position in rows:
        out.setdefault(str(name), []).append((int(position), str(column)))
    return {name: tuple(c for _, c in sorted(cols)) for name, cols in out.items()}


def connection_limit_sql(dialect: Dialect) -> str | None:
    """One row, one value: how many connections the server accepts (``None``: no server)."""
    if dialect.name == "postgres":
        return (
            "SELECT current_setting('max_connections')::int - "
            "current_setting('superuser_reserved_connections')::int"
        )
    if dialect.name == "mysql":
        return "SELECT @@max_connections"
    return None


def settings_sql(dialect: Dialect) -> dict[str, str]:
    """Durability settings worth a look: name -> a one-value query (SQLite only)."""
    if dialect.name == "sqlite":
        return {"journal_mode": "PRAGMA journal_mode", "synchronous": "PRAGMA synchronous"}
    return {}
