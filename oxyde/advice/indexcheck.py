"""Missing indexes: the plan of a frequent filtered query, read in the background.

When one query shape has run ``index_sample_after`` times in the process, the advisor asks
the database (``EXPLAIN``, on a pooled connection of its own, in a task of its own: never
on the caller's path) how it runs one sample of it. A full scan of a table holding at least
``index_table_rows`` rows, filtered on columns that lead no index, becomes a finding with
the ``Index(...)`` line for the model's ``Meta``. Each shape is checked once per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from oxyde.advice import scopes
from oxyde.advice.findings import Finding, call_site, logger
from oxyde.db.database import AsyncDatabase
from oxyde.db.transaction import Transaction
from oxyde.meta.metadata import ModelMeta
from oxyde.sql.compiler import render
from oxyde.sql.dialects.explain import explain_sql, full_scans
from oxyde.sql.dialects.introspect import index_columns, index_columns_sql

__all__ = ["database_of", "leading_columns", "reset", "sample"]

Node = tuple[Any, ...]
MAX_SHAPES = 4096

# shape hash -> runs so far; a shape leaves once its plan has been checked
_runs: dict[int, int] = {}
_checked: set[int] = set()


def reset() -> None:
    """Forget every run count and checked shape (tests start from a clean slate)."""
    _runs.clear()
    _checked.clear()


def database_of(ex: Any) -> Any:
    """The ``AsyncDatabase`` behind an executor (itself, or a transaction's)."""
    if isinstance(ex, AsyncDatabase):
        return ex
    if isinstance(ex, Transaction):
        return ex.database
    return None


def _filter_columns(cond: Node, table: str, out: list[str]) -> None:
    """Columns of ``table`` the condition compares, in order of appearance."""
    tag = cond[0]
    if tag in ("and", "or"):
        for sub in cond[1]:
            _filter_columns(sub, table, out)
        return
    if tag == "not":
        _filter_columns(cond[1], table, out)
        return
    if tag in ("cmp", "like", "regex"):
        exprs: tuple[Any, ...] = (cond[2], cond[3]) if tag == "cmp" else (cond[1],)
    elif tag in ("in", "null", "between", "in_query"):
        exprs = (cond[1],)
    else:
        return
    for expr in exprs:
        if expr[0] == "col" and expr[1] in (None, table) and expr[2] not in out:
            out.append(expr[2])


def sample(
    scope: scopes.Scope, meta: ModelMeta, node: Node, shape: int, values: Sequence[Any], ex: Any
) -> None:
    if shape in _checked:
        return
    runs = _runs.get(shape, 0) + 1
    if runs < scopes.state.settings.index_sample_after:
        if len(_runs) >= MAX_SHAPES:
            _runs.clear()
        _runs[shape] = runs
        return
    _runs.pop(shape, None)
    if len(_checked) >= MAX_SHAPES:
        _checked.clear()
    _checked.add(shape)
    src = node[1]
    if src[0] != "table" or src[4]:
        return  # joins and subqueries: the plan is not one table's to judge
    columns: list[str] = []
    _filter_columns(node[3], meta.table_name, columns)
    database = database_of(ex)
    if not columns or database is None:
        return
    task = asyncio.get_running_loop().create_task(
        _check(scope, database, meta, node, shape, list(values), columns, call_site())
    )
    scope.pending.add(task)
    task.add_done_callback(scope.pending.discard)


async def leading_columns(database: Any, meta: ModelMeta) -> dict[str, tuple[str, ...]]:
    """``{index name: columns}`` of the indexes ``meta``'s table has in the database."""
    sql, params = index_columns_sql(database.dialect, meta.table_name, meta.schema)
    return index_columns(await database.fetch(sql, params))


def first_rows(meta: ModelMeta) -> Node:
    """``SELECT 1 FROM <table> LIMIT <value 0>``: a scan that stops early."""
    return (
        "select",
        ("table", meta.table_name, meta.schema, None, ()),
        ((("lit", "1"), None),),
        None, (), None, (), ("p", "int", 0), None, False, None,
    )  # fmt: skip


async def bounded_count(database: Any, meta: ModelMeta, at_most: int) -> int:
    """``min(rows in the table, at_most)``, without counting a big table to its end."""
    inner = first_rows(meta)
    outer = (
        "select",
        ("subquery", inner, "bounded"),
        ((("agg", "COUNT", None, False), None),),
        None, (), None, (), None, None, False, None,
    )  # fmt: skip
    sql, params = render(outer, [at_most], database.dialect)
    rows = await database.fetch(sql, params)
    return int(rows[0][0])


async def _check(
    scope: scopes.Scope,
    database: Any,
    meta: ModelMeta,
    node: Node,
    shape: int,
    values: list[Any],
    columns: list[str],
    site: str,
) -> None:
    # detect imports this module at its top (it hands shapes to sample()), so the way
    # back to its report() is looked up here, once a check has something to say
    from oxyde.advice.detect import report

    try:
        dialect = database.dialect
        sql, params = render(node, values, dialect)
        names, rows = await database.fetch_described(
            explain_sql(sql, dialect, analyze=False, format="text"), params
        )
        if meta.table_name not in full_scans(dialect, names, list(rows)):
            return
        threshold = scopes.state.settings.index_table_rows
        if await bounded_count(database, meta, threshold) < threshold:
            return
        indexes = await leading_columns(database, meta)
        leading = {cols[0] for cols in indexes.values() if cols}
        pk_column = meta.pk.column if meta.pk is not None else None
        missing = [c for c in columns if c not in leading and c != pk_column]
        if not missing:
            return
        fields = tuple(meta.field_by_column.get(c, c) for c in missing)
        model = meta.model.__name__
        listed = ", ".join(f'"{f}"' for f in fields)
        report(
            scope,
            ("missing_index", shape),
            Finding(
                kind="missing_index",
                model=model,
                fields=fields,
                shape=sql,
                count=1,
                call_site=site,
                suggestion=(
                    f"indexes = [Index(({listed},))]  # in class {model}.Meta, then "
                    "oxyde makemigrations"
                ),
                alias=database.name,
            ),
        )
    except Exception:
        logger.debug("advisor: plan check failed", exc_info=True)
