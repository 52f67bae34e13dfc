"""``in_bulk()``: rows keyed by a unique field, read in batches of keys.

A union (``CompoundQuery``) refuses ``in_bulk()`` itself, in ``oxyde/queries/setops.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from oxyde.exceptions import FieldError, ManagerError
from oxyde.queries import executor as _ex

if TYPE_CHECKING:
    from oxyde.backends.base import Executor
    from oxyde.queries.query import Query

__all__ = ["in_bulk"]


async def in_bulk(
    query: Query[Any], ids: Iterable[Any], field: str, using: str | None, client: Any
) -> dict[Any, Any]:
    """``query.in_bulk(ids, field="pk")``: ``{key: row}`` for the rows whose unique
    ``field`` is one of ``ids`` (model rows, or ``values()`` dicts holding ``field``)."""
    meta = query._meta
    model = meta.model.__name__
    if query._limit is not None or query._offset is not None:
        raise ManagerError("in_bulk() cannot follow limit()/offset() or slicing")
    if not isinstance(field, str):
        raise FieldError(f"in_bulk(field=...) takes a field name, got {field!r}")
    name = meta.pk.name if field == "pk" and meta.pk is not None else field
    column = meta.columns.get(name)
    if column is None:
        valid = ", ".join(sorted({*meta.columns, "pk"}))
        raise FieldError(f"{model} has no field {field!r} (in in_bulk()); valid fields: {valid}")
    if not (column.primary_key or column.unique):
        raise FieldError(
            f"in_bulk() needs a unique field: {model}.{name} is neither the primary key nor "
            "db_unique"
        )
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"in_bulk() takes a collection of keys, got {ids!r}")
    keys = list(dict.fromkeys(ids))
    models = query._fields is None or query._mode == "models"
    if not models and (query._mode != "dict" or name not in (f[0] for f in query._fields or ())):
        raise ManagerError(f"in_bulk() returns model rows or values() dicts that include {name!r}")
    if models and query._fields is not None and name not in (f[0] for f in query._fields):
        raise ManagerError(f"in_bulk() needs {name!r} among the fields of select()")
    if not keys:
        return {}
    ex: Executor = _ex.resolve_executor(using, client, query)
    found: dict[Any, Any] = {}
    # keys per statement: one array parameter (PostgreSQL) takes them all, else one
    # placeholder each, as many as the dialect's IN-list batch (Dialect.in_list_size)
    dialect = ex.dialect
    size = len(keys) if dialect.array_in else dialect.in_list_size(bound=len(query._values))
    for start in range(0, len(keys), size):
        chunk = keys[start : start + size]
        rows = await query.filter(**{f"{name}__in": chunk}).all(client=ex)
        for row in rows:
            found[row.__dict__[name] if models else row[name]] = row
    return found
