"""Which executor runs a query, and the one path from IR to the driver.

``resolve_executor`` applies the rule every terminal follows: an explicit ``client=``,
else the current task's open transaction for the alias, else the registered database
(or, when it has replicas, the executor that routes between them and the primary).
``fetch``/``execute`` render the IR for the executor's dialect (``sql.compiler.render``:
compiled, or a cache hit costing one dict lookup, then bound) and call the executor.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from oxyde.backends.base import Executor, Row
from oxyde.db.registry import lookup
from oxyde.db.transaction import get_active_transaction
from oxyde.exceptions import ManagerError
from oxyde.sql.compiler import render

Node = tuple[Any, ...]


def resolve_executor(using: str | None, client: Any, route: object = None) -> Executor:
    """``route`` is the ``Query`` or model the call comes from: a database with
    replicas or a router routes on it (``oxyde.db.routing``)."""
    if client is not None:
        if using is not None:
            raise ManagerError("pass either using= or client=, not both")
        if not isinstance(client, Executor):
            raise ManagerError(
                f"client= must be a database or a transaction, got {type(client).__name__}"
            )
        return client
    alias = "default" if using is None else using
    tx = get_active_transaction(alias)
    if tx is not None:
        return tx
    database = lookup(alias)
    routing = database.routing
    if routing is None:
        return database
    return routing.executor(route)


# Plain functions returning the executor's coroutine, not coroutines themselves: one
# coroutine frame less on every statement (``await fetch(...)`` reads the same).


def fetch(
    ex: Executor, ir: Node, values: Sequence[Any], *, write: bool = False
) -> Coroutine[Any, Any, list[Row]]:
    sql, params = render(ir, values, ex.dialect)
    return ex.fetch(sql, params, write=write)


def execute(ex: Executor, ir: Node, values: Sequence[Any]) -> Coroutine[Any, Any, int]:
    sql, params = render(ir, values, ex.dialect)
    return ex.execute(sql, params)
