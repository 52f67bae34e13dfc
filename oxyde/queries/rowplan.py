"""Row plans: what each result column becomes, computed once per (model, dialect, shape).

A plan fixes, for every column of a result, the field it fills and the converter that
turns the driver's value into that field's Python type (``Dialect.converters`` plus enum
and typed-container handling). ``oxyde._impl.rowload`` then runs the per-row loop.
Models whose loading must go through Pydantic (``ModelMeta.needs_validation``) use
``model_validate`` on the converted values instead.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from pydantic_core import PydanticUndefined

from oxyde import _impl
from oxyde.meta.metadata import Column, ModelMeta
from oxyde.queries.relations import forget_relations, relation_names
from oxyde.sql.dialects.base import Dialect

if TYPE_CHECKING:
    from oxyde.queries.resolve import Join

Converter = Callable[[Any], Any] | None

#: item kinds whose JSON form is already the Python value
_PLAIN_ITEMS = frozenset({"int", "float", "str", "bool", "any", None})

# keyed by the objects themselves (identity-hashed), so a redefined model never hits a
# stale entry of an old one
_converters: dict[tuple[Column, Dialect], Converter] = {}
_model_plans: dict[tuple[ModelMeta, Dialect, int, tuple[str, ...]], tuple[Any, ...]] = {}


@lru_cache(maxsize=256)
def _validator(tp: Any) -> Callable[[Any], Any]:
    return TypeAdapter(tp).validate_python


def kind_converter(kind: str, dialect: Dialect) -> Converter:
    return dialect.converters.get(kind)


def column_converter(column: Column, dialect: Dialect) -> Converter:
    """driver value -> the Python value the field holds, or None when they are equal."""
    key = (column, dialect)
    try:
        return _converters[key]
    except KeyError:
        pass
    # instants have their own converter: a backend whose datetime column cannot keep an
    # offset (MySQL) stores UTC and attaches it back on the way out
    base = dialect.converters.get("datetime_tz" if column.timezone else column.kind)
    conv: Converter = base
    if column.kind == "enum" and column.enum_cls is not None:
        conv = _chain(base, column.enum_cls)
    elif column.kind == "array":
        if column.item_kind not in _PLAIN_ITEMS:
            conv = _chain(base, _validator(column.python_type))
    elif column.kind == "json":
        if column.python_type not in (dict, list, Any):
            conv = _chain(base, _validator(column.python_type))
    elif column.kind == "any" and column.python_type is not Any:
        conv = _chain(base, _validator(column.python_type))
    _converters[key] = conv
    return conv


def _chain(first: Converter, second: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if first is None:
        return second

    def convert(value: Any) -> Any:
        return second(first(value))

    return convert


def model_plan(
    meta: ModelMeta, dialect: Dialect, offset: int = 0, loaded: tuple[str, ...] = ()
) -> tuple[Any, ...]:
    """The ``rowload.load_models`` plan for rows holding every stored column of ``meta``
    in ``meta.columns`` order, from index ``offset`` on (a model further right in a joined
    row). ``loaded`` names relations the caller fills in afterwards (``join()``): they
    count as set, as on an instance whose relation was assigned."""
    key = (meta, dialect, offset, loaded)
    plan = _model_plans.get(key)
    if plan is not None:
        return plan
    model = meta.model
    positions = {name: i for i, name in enumerate(meta.columns)}
    names: list[str] = []
    sources: list[int] = []
    convs: list[Converter] = []
    defaults: list[Any] = []
    # relation fields stay out of __dict__ until join()/prefetch() fills them
    # (oxyde/queries/relations.py)
    unloaded = relation_names(meta)
    for name, info in model.model_fields.items():
        if name in unloaded:
            continue
        names.append(name)
        if name in positions:
            sources.append(offset + positions[name])
            convs.append(column_converter(meta.columns[name], dialect))
            defaults.append(None)
        elif info.default_factory is not None:
            sources.append(-2)
            convs.append(None)
            defaults.append(info.default_factory)
        else:
            default = info.default
            if default is PydanticUndefined:
                default = None
            if isinstance(default, (list, dict, set)):
                # pydantic copies mutable defaults per instance; so do we
                sources.append(-2)
                defaults.append(_copier(default))
            else:
                sources.append(-1)
                defaults.append(default)
            convs.append(None)
    private_attrs = getattr(model, "__private_attributes__", None) or None
    private = tuple(private_attrs.items()) if private_attrs else None
    plan = (
        tuple(names),
        tuple(sources),
        tuple(convs),
        tuple(defaults),
        frozenset(meta.columns).union(loaded),
        private,
        # The relations in ``loaded`` have their place in the copied dict from the start
        # (None until load_joined attaches them, which it does to every instance it
        # loads): added afterwards, the key one past a full dict of a 5-field model made
        # every joined row's dict grow into a new table.
        dict.fromkeys((*names, *loaded)),
    )
    # what a deferred instance of this plan holds as its fields set (rowload._settle)
    plan = (*plan, _impl.rowload.plan_fields_set(plan))
    _model_plans[key] = plan
    return plan


def _copier(value: Any) -> Callable[[], Any]:
    import copy

    def make() -> Any:
        return copy.deepcopy(value)

    return make


#: results at least this long are loaded with the cyclic GC paused (see load_models)
PAUSE_GC_ROWS = 100


def load_models(
    meta: ModelMeta,
    dialect: Dialect,
    rows: list[Any],
    offset: int = 0,
    loaded: tuple[str, ...] = (),
) -> list[Any]:
    """One ``meta.model`` instance per row, from the row's columns at ``offset`` on;
    ``loaded`` as in ``model_plan``."""
    if not rows:
        return []
    if meta.needs_validation:
        if offset:
            end = offset + len(meta.columns)
            rows = [row[offset:end] for row in rows]
        instances = _validated(meta, dialect, rows)
        if loaded:
            for instance in instances:
                instance.__pydantic_fields_set__.update(loaded)
        return instances
    plan = model_plan(meta, dialect, offset, loaded)
    if len(rows) < PAUSE_GC_ROWS or not gc.isenabled():
        return _impl.rowload.load_models(meta.model, plan, rows)
    # Every instance (and, loaded in pure Python, its fields set) is a new GC-tracked
    # object kept alive by the result: while a large result is built the collector would
    # keep traversing the growing young generation and set off full collections: about
    # 40% of the time to load the 20,000 joined rows of the benchmark's join_simple. None
    # of these objects can be garbage yet.
    gc.disable()
    try:
        return _impl.rowload.load_models(meta.model, plan, rows)
    finally:
        gc.enable()


def load_joined(
    meta: ModelMeta,
    related: Sequence[Join],
    dialect: Dialect,
    shared: dict[str, dict[Any, Any]],
    rows: list[Any],
) -> list[Any]:
    """``meta`` instances from joined rows, each with the models ``related`` joined in.

    Each model reads its own columns of the joined row in place (a plan with an offset)
    and is loaded with the relations joined below it already counted as set. A joined
    row is built once per primary key and shared by every row that refers to it, as a
    forward FK loaded by ``prefetch()`` is: ``shared`` maps each join path to the
    instances built so far, so that the slices of one result share them too.
    """
    if len(rows) < PAUSE_GC_ROWS or not gc.isenabled():
        return _load_joined(meta, related, dialect, shared, rows)
    # paused across the whole row, not model by model: see load_models
    gc.disable()
    try:
        return _load_joined(meta, related, dialect, shared, rows)
    finally:
        gc.enable()


def _load_joined(
    meta: ModelMeta,
    related: Sequence[Join],
    dialect: Dialect,
    shared: dict[str, dict[Any, Any]],
    rows: list[Any],
) -> list[Any]:
    rowload = _impl.rowload
    below: dict[str, tuple[str, ...]] = {}
    for join in related:
        parent_path, _, name = join.path.rpartition("__")
        below[parent_path] = (*below.get(parent_path, ()), name)
    base = load_models(meta, dialect, rows, 0, below.get("", ()))
    loaded: dict[str, list[Any]] = {"": base}
    start = len(meta.columns)
    for join in related:
        jm = join.meta
        inner = below.get(join.path, ())
        if jm.pk is not None:
            key = start + _column_index(jm, jm.pk.name)
            seen = shared.setdefault(join.path, {})
            fresh = rowload.unseen_keys(rows, key, seen)
            if fresh:
                instances = load_models(jm, dialect, fresh, start, inner)
                for row, instance in zip(fresh, instances, strict=True):
                    seen[row[key]] = instance
            column = rowload.by_key(rows, key, seen)
        else:
            # no key to tell rows apart: one instance per row, NULL where the join found none
            present = [row for row in rows if row[start] is not None]
            instances = load_models(jm, dialect, present, start, inner)
            if len(present) == len(rows):
                column = instances
            else:
                it = iter(instances)
                column = [next(it) if row[start] is not None else None for row in rows]
        loaded[join.path] = column
        parent_path, _, name = join.path.rpartition("__")
        rowload.attach(loaded[parent_path], name, column)
        start += len(jm.columns)
    return base


def _column_index(meta: ModelMeta, name: str) -> int:
    for i, column in enumerate(meta.columns):
        if column == name:
            return i
    raise ValueError(f"{meta.model.__name__} has no column {name!r}")


def _validated(meta: ModelMeta, dialect: Dialect, rows: list[Any]) -> list[Any]:
    names = tuple(meta.columns)
    convs = tuple(column_converter(c, dialect) for c in meta.columns.values())
    validate = meta.model.model_validate
    instances = [validate(d) for d in _impl.rowload.load_dicts(names, convs, rows)]
    forget_relations(meta, instances)
    return instances
