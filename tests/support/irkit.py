"""Small builders of IR nodes for tests that write statements by hand (``oxyde/sql/ir.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oxyde.sql import render
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.ir import Node

T: Node = ("table", "t", None, None, ())

Rendered = tuple[str, list[Any]]


def select(
    src: Node = T,
    cols: tuple[Any, ...] = (),
    where: Node | None = None,
    group_by: tuple[Any, ...] = (),
    having: Node | None = None,
    order_by: tuple[Any, ...] = (),
    limit: Node | None = None,
    offset: Node | None = None,
    distinct: bool = False,
    lock: tuple[Any, ...] | None = None,
) -> Node:
    return ("select", src, cols, where, group_by, having, order_by, limit, offset, distinct, lock)


def col(name: str, alias: str | None = None) -> Node:
    return ("col", alias, name)


def p(idx: int, kind: str = "any") -> Node:
    return ("p", kind, idx)


def sql_helpers(
    dialect: Dialect,
) -> tuple[Callable[[Node, list[Any]], Rendered], Callable[[Node, list[Any]], Rendered]]:
    """``where(cond, values)`` and ``expr(node, values)``: the rendered condition or
    expression alone, cut out of ``SELECT ... FROM t`` on ``dialect``."""
    table = dialect.quote_ident("t")

    def where(cond: Node, values: list[Any]) -> Rendered:
        sql, params = render(select(where=cond), values, dialect)
        prefix = f"SELECT * FROM {table} WHERE "
        assert sql.startswith(prefix)
        return sql[len(prefix) :], params

    def expr(node: Node, values: list[Any]) -> Rendered:
        sql, params = render(select(cols=((node, None),)), values, dialect)
        return sql[len("SELECT ") : -len(f" FROM {table}")], params

    return where, expr
