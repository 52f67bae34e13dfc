"""Instance persistence behind ``Model.save()``, ``delete()`` and ``refresh()``.

These sit above ``Query``: a save with nothing to update checks that the row exists, and
delete/refresh run a query on the primary key. The statements themselves (INSERT of an
instance, the columns an UPDATE may set) are in ``oxyde/queries/writes.py``.
"""

from __future__ import annotations

from typing import Any

from oxyde.advice import detect as _advice
from oxyde.advice import switch as _advice_switch
from oxyde.exceptions import ManagerError, NotFoundError
from oxyde.meta.registry import get_meta
from oxyde.queries import executor as _ex
from oxyde.queries.query import Query
from oxyde.queries.writes import _sync_fk_ids, insert_instance, update_column

__all__ = ["delete_instance", "refresh_instance", "save_instance"]


async def save_instance(
    instance: Any,
    *,
    update_fields: Any = None,
    using: str | None = None,
    client: Any = None,
) -> Any:
    """INSERT when the key is unset or generated for a new object, else UPDATE (falling
    back to INSERT when no row has that key yet)."""
    meta = get_meta(type(instance))
    ex = _ex.resolve_executor(using, client, meta.model)
    pk = meta.pk
    data = instance.__dict__
    if pk is None:
        raise ManagerError(f"{meta.model.__name__} has no primary key: save() cannot find its row")
    key = data.get(pk.name)
    fields: list[str] | None = None
    if update_fields is not None:
        fields = []
        for name in update_fields:
            column = update_column(meta, name)
            fields.append(column.name)
    is_new = key is None or (
        update_fields is None and pk.name not in instance.__pydantic_fields_set__
    )
    if _advice_switch.on:
        if is_new:
            _advice.created(meta, "insert")
        else:
            _advice.saving(meta, instance, fields)
            _advice.created(meta, "update")
    if is_new:
        await instance.pre_save(is_create=True, update_fields=None)
        await insert_instance(ex, meta, instance)
        await instance.post_save(is_create=True, update_fields=None)
        return instance
    field_set = set(fields) if fields is not None else None
    await instance.pre_save(is_create=False, update_fields=field_set)
    _sync_fk_ids(meta, instance)
    names = (
        fields
        if fields is not None
        else [c.name for c in meta.columns.values() if not c.primary_key]
    )
    columns = [meta.columns[n] for n in names]
    sets = tuple((c.column, ("p", c.kind, i)) for i, c in enumerate(columns))
    values = [data[n] for n in names]
    values.append(data[pk.name])
    where = ("cmp", "=", ("col", meta.table_name, pk.column), ("p", pk.kind, len(columns)))
    changed = 0
    if sets:
        node = ("update", meta.table_name, meta.schema, sets, where, None)
        changed = await _ex.execute(ex, node, values)
    else:
        changed = int(await Query(meta.model).filter(pk=data[pk.name]).exists(client=ex))
    if changed == 0:
        if fields is not None:
            raise NotFoundError(
                f"{meta.model.__name__} with {pk.name}={data[pk.name]!r} does not exist"
            )
        await insert_instance(ex, meta, instance)
        await instance.post_save(is_create=True, update_fields=None)
        return instance
    await instance.post_save(is_create=False, update_fields=field_set)
    return instance


async def delete_instance(instance: Any, *, using: str | None = None, client: Any = None) -> int:
    meta = get_meta(type(instance))
    pk = meta.pk
    key = instance.__dict__.get(pk.name) if pk is not None else None
    if pk is None or key is None:
        raise ManagerError(f"cannot delete a {meta.model.__name__} without a primary key value")
    await instance.pre_delete()
    count = await Query(meta.model).filter(pk=key).delete(using=using, client=client)
    await instance.post_delete()
    return count


async def refresh_instance(instance: Any, *, using: str | None = None, client: Any = None) -> Any:
    meta = get_meta(type(instance))
    pk = meta.pk
    key = instance.__dict__.get(pk.name) if pk is not None else None
    if pk is None or key is None:
        raise ManagerError(f"cannot refresh a {meta.model.__name__} without a primary key value")
    fresh = await Query(meta.model).get(pk=key, using=using, client=client)
    data = instance.__dict__
    for name in meta.columns:
        data[name] = fresh.__dict__[name]
    instance.__pydantic_fields_set__.update(meta.columns)
    return instance
