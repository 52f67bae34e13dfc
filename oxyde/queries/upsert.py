"""Upsert: ``bulk_create(on_conflict=..., update_fields=..., ignore_conflicts=...)`` and
``Model.objects.upsert()``, as ``ON CONFLICT`` or ``ON DUPLICATE KEY UPDATE``.

After the call every instance holds the row that has its conflict key in the database:
its primary key and every column, whether the row was inserted, updated, or (with
``ignore_conflicts``) left as it was. Where the dialect has INSERT ... RETURNING with
ON CONFLICT (PostgreSQL, SQLite), the written rows come back with the statement and are
matched to the instances by their conflict key, never by position; the rows a conflict
skipped, and every row on MySQL (whose ``LAST_INSERT_ID`` says nothing reliable about a
mix of inserted and updated rows), are read back by that key in the same transaction.

The key is the conflict target; without one (``ignore_conflicts`` alone) it is the first
unique key of the model that every instance has a value for. When there is none, the
rows that were not inserted, and on MySQL all rows, keep their unset primary keys.

Instances sharing a conflict key in one call are sent once (the last one when updating,
the first when ignoring), so every backend behaves alike (PostgreSQL refuses to update a
row twice in one statement); they all end up holding that row. Model hooks
(``pre_save``/``post_save``) do not run, as with ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from oxyde.exceptions import FieldError
from oxyde.meta.metadata import Column, ModelMeta
from oxyde.queries import executor as _ex
from oxyde.queries.rowplan import column_converter
from oxyde.queries.writes import (
    _DEFAULT_BATCH,
    _insert_columns,
    _sync_fk_ids,
    in_transaction,
)

if TYPE_CHECKING:
    from oxyde.backends.base import Executor

Node = tuple[Any, ...]

#: keys per read-back SELECT
_READ_CHUNK = 500


def conflict_columns(meta: ModelMeta, names: Sequence[str] | str, what: str) -> list[Column]:
    """The columns of a conflict target, checked to be a unique key of the model."""
    if isinstance(names, str):
        names = (names,)
    columns = [_column(meta, name, what) for name in names]
    if not columns:
        raise ValueError(f"{what} needs at least one field")
    fields = frozenset(c.name for c in columns)
    if not _is_unique_key(meta, fields):
        raise FieldError(
            f"{what}={tuple(names)!r}: {meta.model.__name__} has no primary key, unique "
            f"field, unique_together or unique index on exactly these fields; unique keys: "
            f"{_describe_keys(meta)}"
        )
    return columns


def update_columns(meta: ModelMeta, names: Sequence[str], what: str) -> list[Column]:
    if isinstance(names, str):
        raise TypeError(f"{what} takes a list of field names, got {names!r}")
    columns = [_column(meta, name, what) for name in names]
    for column in columns:
        if column.primary_key:
            raise FieldError(
                f"{what}: {meta.model.__name__}.{column.name} is the primary key and "
                "cannot be updated on conflict"
            )
    return columns


async def upsert_instances(
    ex: Executor,
    meta: ModelMeta,
    instances: list[Any],
    *,
    target: list[Column] | None,
    update: list[Column] | None,
    ignore: bool,
    batch_size: int | None,
) -> None:
    """Insert ``instances``; on a conflict on ``target`` update ``update`` (None: every
    inserted column but the key and the target) or, with ``ignore``, leave the row."""
    for instance in instances:
        _sync_fk_ids(meta, instance)
    match = target if target is not None else _natural_key(meta, instances)
    # instances by conflict key: the one sent, and every one that gets its row
    followers: dict[Any, list[Any]] = {}
    sent: list[Any] = []
    if match is not None:
        keep: dict[Any, Any] = {}
        for instance in instances:
            key = _instance_key(instance, match)
            if key in followers:
                followers[key].append(instance)
                if not ignore:
                    keep[key] = instance
            else:
                followers[key] = [instance]
                keep[key] = instance
        sent = list(keep.values())
    else:
        sent = list(instances)

    groups: dict[tuple[str, ...], tuple[list[Column], list[Any]]] = {}
    for instance in sent:
        cols = _insert_columns(meta, instance)
        group = groups.setdefault(tuple(c.name for c in cols), (cols, []))
        group[1].append(instance)
    batches: list[tuple[list[Column], list[Any]]] = []
    per_statement = ex.dialect.per_statement
    for cols, members in groups.values():
        size = min(batch_size or _DEFAULT_BATCH, per_statement(len(cols)))
        batches.extend((cols, members[i : i + size]) for i in range(0, len(members), size))

    dialect = ex.dialect
    returning = dialect.supports_returning("insert") and dialect.upsert_style == "on_conflict"
    loaded: set[int] = set()
    if len(batches) == 1 and not in_transaction(ex):
        # one statement is atomic by itself; reading rows back needs no transaction
        pending = await _write_batch(
            ex, meta, *batches[0], target, update, ignore, match, returning, loaded
        )
        if pending and match is not None:
            await _read_back(ex, meta, match, pending, loaded)
    else:
        async with ex.atomic_block() as tx:
            pending = []
            for cols, members in batches:
                pending += await _write_batch(
                    tx, meta, cols, members, target, update, ignore, match, returning, loaded
                )
            if pending and match is not None:
                await _read_back(tx, meta, match, pending, loaded)
    _share_rows(followers, loaded)


async def _write_batch(
    ex: Executor,
    meta: ModelMeta,
    cols: list[Column],
    members: list[Any],
    target: list[Column] | None,
    update: list[Column] | None,
    ignore: bool,
    match: list[Column] | None,
    returning: bool,
    loaded: set[int],
) -> list[Any]:
    """Run one INSERT; returns the members whose row did not come back with it."""
    names = [c.name for c in cols]
    values: list[Any] = []
    for instance in members:
        data = instance.__dict__
        values.extend(data[n] for n in names)
    target_cols = tuple(c.column for c in target) if target is not None else ()
    conflict: Node
    if ignore:
        conflict = ("ignore", target_cols)
    else:
        assert target is not None
        chosen = update if update is not None else _default_update(meta, cols, target)
        conflict = ("update", target_cols, tuple(c.column for c in chosen))
    columns = tuple(c.column for c in cols)
    kinds = tuple(c.kind for c in cols)
    node: Node
    if not returning:
        node = (
            "insert",
            meta.table_name,
            meta.schema,
            columns,
            kinds,
            len(members),
            None,
            conflict,
        )
        await _ex.execute(ex, node, values)
        return members
    all_cols = tuple(c.column for c in meta.columns.values())
    node = (
        "insert",
        meta.table_name,
        meta.schema,
        columns,
        kinds,
        len(members),
        all_cols,
        conflict,
    )
    rows = await _ex.fetch(ex, node, values, write=True)
    # matched by key: rows a conflict skipped are missing, and the order is the database's
    key_cols = match if match is not None else cols
    positions = [list(meta.columns).index(c.name) for c in key_cols]
    by_key: dict[Any, list[Any]] = {}
    for instance in members:
        by_key.setdefault(_instance_key(instance, key_cols), []).append(instance)
    for row in rows:
        converted = _convert_row(meta, ex, row)
        waiting = by_key.get(_freeze(tuple(converted[p] for p in positions)))
        if waiting:
            _apply(meta, waiting.pop(0), converted, loaded)
    return [instance for group in by_key.values() for instance in group]


async def _read_back(
    ex: Executor, meta: ModelMeta, match: list[Column], instances: list[Any], loaded: set[int]
) -> None:
    """Fill instances from the rows holding their keys (one SELECT per chunk of keys)."""
    table = meta.table_name
    cols = tuple((("col", table, c.column), None) for c in meta.columns.values())
    positions = [list(meta.columns).index(c.name) for c in match]
    for start in range(0, len(instances), _READ_CHUNK):
        chunk = instances[start : start + _READ_CHUNK]
        values: list[Any] = []
        where: Node
        if len(match) == 1:
            column = match[0]
            values.append(tuple(i.__dict__[column.name] for i in chunk))
            where = ("in", ("col", table, column.column), column.kind, 0, len(chunk))
        else:
            alternatives = []
            for instance in chunk:
                parts = []
                for column in match:
                    values.append(instance.__dict__[column.name])
                    param = ("p", column.kind, len(values) - 1)
                    parts.append(("cmp", "=", ("col", table, column.column), param))
                alternatives.append(("and", tuple(parts)))
            where = ("or", tuple(alternatives))
        node = ("select", ("table", table, meta.schema, None, ()), cols, where, (), None,
                (), None, None, False, None)  # fmt: skip
        rows = await _ex.fetch(ex, node, values)
        by_key: dict[Any, list[Any]] = {}
        for instance in chunk:
            by_key.setdefault(_instance_key(instance, match), []).append(instance)
        for row in rows:
            converted = _convert_row(meta, ex, row)
            for instance in by_key.get(_freeze(tuple(converted[p] for p in positions)), ()):
                _apply(meta, instance, converted, loaded)


def _share_rows(followers: dict[Any, list[Any]], loaded: set[int]) -> None:
    """Instances that shared a conflict key get the state of the one that was sent."""
    for group in followers.values():
        if len(group) < 2:
            continue
        source = next((i for i in group if id(i) in loaded), None)
        if source is None:
            continue
        for instance in group:
            if instance is not source:
                instance.__dict__.update(source.__dict__)
                instance.__pydantic_fields_set__.update(source.__pydantic_fields_set__)


def _apply(meta: ModelMeta, instance: Any, converted: list[Any], loaded: set[int]) -> None:
    data = instance.__dict__
    for name, value in zip(meta.columns, converted, strict=True):
        data[name] = value
    instance.__pydantic_fields_set__.update(meta.columns)
    loaded.add(id(instance))


def _convert_row(meta: ModelMeta, ex: Executor, row: Any) -> list[Any]:
    dialect = ex.dialect
    out = []
    for column, value in zip(meta.columns.values(), row, strict=True):
        conv = column_converter(column, dialect)
        out.append(conv(value) if conv is not None and value is not None else value)
    return out


def _default_update(meta: ModelMeta, cols: list[Column], target: list[Column]) -> list[Column]:
    skip = {c.name for c in target}
    return [c for c in cols if not c.primary_key and c.name not in skip]


def _instance_key(instance: Any, columns: list[Column]) -> Any:
    data = instance.__dict__
    return _freeze(tuple(data.get(c.name) for c in columns))


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a key made of column values (JSON ones included)."""
    if isinstance(value, tuple | list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return ("__dict__", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    try:
        hash(value)
    except TypeError:
        return ("__repr__", repr(value))
    return value


def _column(meta: ModelMeta, name: str, what: str) -> Column:
    if not isinstance(name, str):
        raise TypeError(f"{what} takes field names, got {name!r}")
    if name == "pk" and meta.pk is not None:
        return meta.pk
    column = meta.columns.get(name)
    if column is None:
        fk = meta.foreign_keys.get(name)
        if fk is not None:
            column = meta.columns[fk.field_name]
    if column is None:
        valid = ", ".join(sorted({*meta.columns, *meta.foreign_keys}))
        raise FieldError(
            f"{what}: {meta.model.__name__} has no field {name!r}; valid fields: {valid}"
        )
    return column


def _unique_keys(meta: ModelMeta) -> list[frozenset[str]]:
    keys: list[frozenset[str]] = []
    if meta.pk is not None:
        keys.append(frozenset({meta.pk.name}))
    keys.extend(frozenset({c.name}) for c in meta.columns.values() if c.unique)
    keys.extend(frozenset(_field_names(meta, group)) for group in meta.unique_together)
    keys.extend(
        frozenset(_field_names(meta, ix.fields))
        for ix in meta.indexes
        if getattr(ix, "unique", False) and getattr(ix, "where", None) is None
    )
    return keys


def _field_names(meta: ModelMeta, names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        fk = meta.foreign_keys.get(name)
        out.append(fk.field_name if fk is not None else name)
    return out


def _is_unique_key(meta: ModelMeta, fields: frozenset[str]) -> bool:
    return fields in _unique_keys(meta)


def _describe_keys(meta: ModelMeta) -> str:
    keys = [tuple(sorted(k)) for k in _unique_keys(meta)]
    return ", ".join(repr(k) for k in keys) or "none"


def _natural_key(meta: ModelMeta, instances: list[Any]) -> list[Column] | None:
    """The first unique key every instance has a value for."""
    for key in _unique_keys(meta):
        columns = [meta.columns[name] for name in sorted(key) if name in meta.columns]
        if len(columns) != len(key):
            continue
        if all(i.__dict__.get(c.name) is not None for i in instances for c in columns):
            return columns
    return None
