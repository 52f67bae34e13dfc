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
        if analyze and dialect.server == "mariadb":
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


def full_scans(dialect: Dialect, names: list[str], rows: list[Any]) -> set[str]:
    """Tables a plain-text plan (``explain_sql(..., format="text")``) reads in full."""
    scanned: set[str] = set()
    if dialect.name == "sqlite":
        # "SCAN post" reads the table; "SCAN post USING [COVERING] INDEX ..." and
        # "SEARCH post USING ..." do not.
        for row in rows:
            detail = str(row[-1]).split()
            if len(detail) >= 2 and detail[0] == "SCAN" and "USING" not in detail:
                scanned.add(detail[1])
        return scanned
    if dialect.name == "postgres":
        for row in rows:
            line = str(row[0])
            marker = "Seq Scan on "
            at = line.find(marker)
            if at >= 0:
                scanned.add(line[at + len(marker) :].split()[0].strip('"'))
        return scanned
    lowered = [n.lower() for n in names]
    if "type" in lowered and "table" in lowered:
        kind, table = lowered.index("type"), lowered.index("table")
        for row in rows:
            if str(row[kind]).upper() == "ALL":
                scanned.add(str(row[table]))
    return scanned
