"""EXPLAIN per dialect: the statement prefix and how to read the plan that comes back."""

from __future__ import annotations

import json
from typing import Any

from oxyde.exceptions import ManagerError
from oxyde.sql.dialects.base import Dialect


def explain_sql(sql: str, dialect: Dialect, *, analyze: bool, format: str) -> str:
    if format not in ("text", "json"):
        raise ValueError(f"explain(format=...) takes 'text' or 'json', got {format!r}")
    if dialect.name == "postgres":
        options = ["ANALYZE"] if analyze else []
        if format == "json":
            options.append("FORMAT JSON")
        return f"EXPLAIN ({', '.join(options)}) {sql}" if options else f"EXPLAIN {sql}"
    if dialect.name == "mysql":
        if analyze and dialect.flavor == "mariadb":
            # MariaDB runs the statement with ANALYZE, and has no EXPLAIN ANALYZE
            prefix = "ANALYZE"
        else:
            prefix = "EXPLAIN ANALYZE" if analyze else "EXPLAIN"
        if format == "json":
            prefix += " FORMAT=JSON"
        return f"{prefix} {sql}"
    if analyze:
        raise ManagerError("explain(analyze=True) is not supported on SQLite")
    return f"EXPLAIN QUERY PLAN {sql}"


def read_plan(dialect: Dialect, names: list[str], rows: list[Any], *, format: str) -> Any:
    """Text plans as one string; JSON plans as parsed JSON (SQLite: a list of dicts)."""
    if dialect.name == "sqlite":
        if format == "json":
            return [dict(zip(names, row, strict=False)) for row in rows]
        return "\n".join(str(row[-1]) for row in rows)
    if format == "json":
        value = rows[0][0]
        if isinstance(value, (bytes, bytearray)):
            value = value.decode()
        return json.loads(value) if isinstance(value, str) else value
    if len(names) == 1:
        return "\n".join(str(row[0]) for row in rows)
    return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in rows)
