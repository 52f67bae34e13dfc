"""``execute_raw``: user SQL in the backend's own placeholder style, rows as dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oxyde._slicing import map_slices
from oxyde.queries.executor import resolve_executor


async def execute_raw(
    sql: str,
    params: Sequence[Any] | None = None,
    *,
    using: str | None = None,
    client: Any = None,
) -> list[dict[str, Any]]:
    """Run one SQL statement and return its rows as dicts (``[]`` when it returns none).

    Placeholders are the public Oxyde's: ``$1`` on PostgreSQL, ``?`` on SQLite and
    MySQL (where ``%s`` still works too; a ``%`` in literal text is just a ``%`` unless
    the statement uses ``%s``). Inside ``atomic()`` it runs in the current task's
    transaction. Values come back as the driver returns them.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("execute_raw() needs an SQL string")
    if params is not None and (
        isinstance(params, (str, bytes)) or not isinstance(params, Sequence)
    ):
        raise TypeError("execute_raw() params must be a list or tuple")
    ex = resolve_executor(using, client)
    translate = ex.dialect.raw_sql
    if translate is not None:
        sql = translate(sql)
    names, rows = await ex.fetch_described(sql, list(params or ()), write=True)
    return await map_slices(
        lambda part: [dict(zip(names, row, strict=False)) for row in part], rows
    )
