"""``oxyde doctor``: what the performance guide asks of a deployment, checked on the database.

For one connected database and the registered models: the pool against the server's
connection limit (times the number of processes sharing it), SQLite's journal mode and
synchronous setting, foreign-key columns no index leads, indexes the models declare but the
database lacks, and migrations not applied. Each check is a ``Check`` with a status and
the fix; the command prints them (or ``--json``) and exits non-zero when one is not ok.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from oxyde.meta.metadata import ModelMeta

__all__ = ["Check", "diagnose"]

#: pool use above this share of the server's limit is a warning
CROWDED = 0.8


@dataclass(frozen=True)
class Check:
    #: which check: "pool", "sqlite.journal_mode", "fk_index", "declared_index", "migrations"
    name: str
    #: "ok", "warn" or "fail"
    status: str
    #: what was found
    detail: str
    #: what to do about it ("" when ok)
    fix: str = ""
    alias: str = "default"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _columns(meta: ModelMeta, fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(meta.columns[f].column if f in meta.columns else f for f in fields)


def declared_indexes(meta: ModelMeta) -> list[tuple[str, tuple[str, ...]]]:
    """``(how it is declared, its columns)`` for every index the model asks for."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for column in meta.columns.values():
        if column.primary_key:
            continue
        if column.unique:
            out.append((f"Field({column.name}, db_unique=True)", (column.column,)))
        elif column.index:
            out.append((f"Field({column.name}, db_index=True)", (column.column,)))
    for index in meta.indexes:
        fields = tuple(getattr(index, "fields", ()))
        out.append((f"Meta.indexes Index({fields!r})", _columns(meta, fields)))
    out.extend(
        (f"Meta.unique_together {tuple(fields)!r}", _columns(meta, tuple(fields)))
        for fields in meta.unique_together
    )
    return out


async def _table_exists(database: Any, meta: ModelMeta) -> bool:
    from oxyde.advice.indexcheck import first_rows
    from oxyde.sql.compiler import render

    sql, params = render(first_rows(meta), [0], database.dialect)
    try:
        await database.fetch(sql, params)
    except Exception:
        return False
    return True


async def _pool(database: Any, processes: int) -> list[Check]:
    from oxyde.sql.dialects.introspect import connection_limit_sql

    sql = connection_limit_sql(database.dialect)
    if sql is None:
        return []
    limit = int((await database.fetch(sql, []))[0][0])
    per_process = database.settings.max_connections
    wanted = per_process * processes
    detail = (
        f"{processes} process(es) x max_connections={per_process} = {wanted} connections; "
        f"the server accepts {limit}"
    )
    if wanted > limit:
        fix = (
            f"lower PoolSettings(max_connections=...) to at most {max(1, limit // processes)} "
            "per process, raise the server's max_connections, or put PgBouncer in front"
        )
        return [Check("pool", "fail", detail, fix, database.name)]
    if wanted > CROWDED * limit:
        fix = "little room is left for other clients, migrations and admin sessions"
        return [Check("pool", "warn", detail, fix, database.name)]
    return [Check("pool", "ok", detail, alias=database.name)]


async def _sqlite_settings(database: Any) -> list[Check]:
    from oxyde.sql.dialects.introspect import settings_sql

    checks = []
    for name, sql in settings_sql(database.dialect).items():
        value = str((await database.fetch(sql, []))[0][0]).lower()
        if name == "journal_mode":
            ok = value == "wal"
            fix = "journal_mode=WAL lets readers run beside the writer (PoolSettings)"
        else:
            ok = value not in ("0", "off")
            fix = "synchronous=OFF can lose committed transactions on power loss; use NORMAL"
        checks.append(
            Check(
                f"sqlite.{name}",
                "ok" if ok else "warn",
                f"{name} = {value}",
                "" if ok else fix,
                database.name,
            )
        )
    return checks


async def diagnose(
    database: Any,
    metas: list[ModelMeta],
    *,
    processes: int = 1,
    migrations_dir: Path | None = None,
) -> list[Check]:
    """Every check for ``database`` (connected) and the models of ``metas``."""
    from oxyde.advice.indexcheck import leading_columns

    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    alias = database.name
    checks = [*await _pool(database, processes), *await _sqlite_settings(database)]
    for meta in metas:
        model = meta.model.__name__
        if not await _table_exists(database, meta):
            checks.append(
                Check(
                    "table",
                    "fail",
                    f"{model}: table {meta.table_name!r} does not exist",
                    "oxyde migrate (or create_tables in development)",
                    alias,
                )
            )
            continue
        indexes = list((await leading_columns(database, meta)).values())
        checks.extend(
            Check(
                "fk_index",
                "warn",
                f"{model}.{fk.field_name}: no index starts with column {fk.column!r}; "
                f"joins, prefetch and ON DELETE of {fk.name} scan {meta.table_name}",
                f"Field(..., db_index=True) on {model}.{fk.name}, "
                f'or Index(("{fk.field_name}",)) in its Meta',
                alias,
            )
            for fk in meta.foreign_keys.values()
            if not any(cols and cols[0] == fk.column for cols in indexes)
        )
        for declared, columns in declared_indexes(meta):
            if not any(cols[: len(columns)] == columns for cols in indexes):
                checks.append(
                    Check(
                        "declared_index",
                        "fail",
                        f"{model}: {declared} declares an index on {', '.join(columns)}; the "
                        "database has none",
                        "oxyde makemigrations && oxyde migrate",
                        alias,
                    )
                )
    if migrations_dir is not None and await asyncio.to_thread(migrations_dir.is_dir):
        from oxyde.migrations import migration_status

        statuses = await migration_status(migrations_dir, database=database)
        pending = [s.name for s in statuses if not s.applied and not s.missing]
        partial = [f"{s.name} ({s.partial})" for s in statuses if s.partial]
        if pending or partial:
            parts = []
            if pending:
                parts.append(f"not applied: {', '.join(pending)}")
            if partial:
                parts.append(f"partly applied: {', '.join(partial)}")
            checks.append(Check("migrations", "fail", "; ".join(parts), "oxyde migrate", alias))
        else:
            checks.append(Check("migrations", "ok", f"{len(statuses)} applied", alias=alias))
    if not any(
        c.status != "ok" for c in checks if c.name in ("fk_index", "declared_index", "table")
    ):
        checks.append(Check("indexes", "ok", f"{len(metas)} model(s) checked", alias=alias))
    return checks
