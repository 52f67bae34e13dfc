"""``Model.objects.get(field=value, ...)`` without building a query each time.

The most frequent call of an ORM looks a row up by a key or two. Its statement depends
only on the model, the lookup keys and the types of the values whenever the lookups are
plain comparisons that ``lookupmemo`` can remember (their values go into the statement
unchanged, no join is added). For those, the first call runs the full ``Query.get`` path
and keeps the statement it builds; later calls with the same keys and value types bind
their values to it and load the rows exactly as ``Query.get`` does: no ``Query``, no
condition, no tree to assemble. Anything else always takes ``Query.get``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from oxyde.advice import detect as _advice
from oxyde.advice import switch as _advice_switch
from oxyde.queries import executor as _ex
from oxyde.queries import lookupmemo
from oxyde.queries.query import Query, only_row
from oxyde.queries.rowplan import load_models
from oxyde.sql.compiler import render

if TYPE_CHECKING:
    from oxyde.meta.metadata import ModelMeta

__all__ = ["get"]

Node = tuple[Any, ...]

#: entries kept before the memo starts over (keys come from code, not data)
MAX_ENTRIES: Final = 4096

# (ModelMeta, keys..., value types...) -> the statement of Query.get for those lookups
_statements: dict[tuple[Any, ...], Node] = {}


async def get(model: Any, using: str | None, client: Any, lookups: dict[str, Any]) -> Any:
    """What ``Query(model).get(using=using, client=client, **lookups)`` returns."""
    meta: ModelMeta | None = model.__dict__.get("_db_meta") if lookups else None
    if meta is None:
        return await Query(model).get(using=using, client=client, **lookups)
    values = tuple(lookups.values())
    key = (meta, *lookups, *map(type, values))
    node = _statements.get(key)
    if node is None:
        _learn(model, lookups, values, key)
        return await Query(model).get(using=using, client=client, **lookups)
    ex = _ex.resolve_executor(using, client, model)
    dialect = ex.dialect
    sql, params = render(node, (*values, 2), dialect)
    rows = await ex.fetch(sql, params)
    if _advice_switch.on:
        _advice.read(meta, node, (*values, 2), len(rows), ex, True)
    instance = load_models(meta, dialect, [only_row(model, rows)])[0]
    if _advice_switch.on:
        _advice.loaded(meta, instance)
    return instance


def _learn(
    model: Any, lookups: dict[str, Any], values: tuple[Any, ...], key: tuple[Any, ...]
) -> None:
    """Keep the statement ``Query.get`` builds for these lookups, when the filter memo
    proves it depends on the keys and value types only."""
    q = Query(model).filter(**lookups)
    if not lookupmemo.remembers(q._meta, lookups, values):
        return
    # As Query.get builds it: LIMIT 2 as one more value, the model's columns.
    two: Node = ("p", "int", len(q._values))
    q._values = (*q._values, 2)
    node, bound = q._select_ir(q._model_cols(), limit=two)
    if len(bound) != len(values) + 1 or any(
        a is not b for a, b in zip(bound[:-1], values, strict=True)
    ):
        return
    if len(_statements) >= MAX_ENTRIES:
        _statements.clear()
    _statements[key] = node


def clear() -> None:
    _statements.clear()
