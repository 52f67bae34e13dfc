"""The advisor's hooks, called by the query layer when ``switch.on``.

Each hook finds the current scope, counts what it was told and, the first time a pattern
crosses its threshold, makes a finding. Nothing here raises into the caller or changes
what a query returns: a failure of the advisor is logged at DEBUG and forgotten.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import Any

from oxyde.advice import indexcheck, scopes
from oxyde.advice.findings import Finding, call_site, logger
from oxyde.meta.metadata import Column, ModelMeta
from oxyde.meta.registry import get_meta, registered_tables
from oxyde.sql.compiler import compile_statement

__all__ = ["created", "loaded", "read", "saving"]

Node = tuple[Any, ...]
NUMERIC_KINDS = frozenset({"int", "float", "decimal"})


def report(scope: scopes.Scope, key: Any, finding: Finding) -> None:
    """Keep ``finding`` in ``scope`` (once per ``key``) and log it."""
    scope.reported[key] = finding
    scope.findings.append(finding)
    settings = scopes.state.settings
    if logger.isEnabledFor(settings.log_level):
        logger.log(
            settings.log_level,
            "%s",
            finding.message,
            extra={"oxyde_finding": finding, "oxyde_finding_kind": finding.kind},
        )


def _alias(ex: Any) -> str:
    database = indexcheck.database_of(ex)
    return database.name if database is not None else "default"


# -- reads -------------------------------------------------------------------------------


def _key_terms(where: Node) -> list[tuple[str, int]]:
    """``(column, value index)`` of the ``column = value`` terms ANDed at the top."""
    tag = where[0]
    if tag == "cmp" and where[1] == "=" and where[2][0] == "col" and where[3][0] == "p":
        return [(where[2][2], where[3][2])]
    if tag == "and":
        return [term for cond in where[1] for term in _key_terms(cond)]
    return []


# shape hash -> its relation-key terms: a shape's are found once, not at every run. Shapes
# are keyed by their hash, computed once per statement: hashing a tuple tree walks all of
# it, every time (a collision would only merge two shapes' counts).
_keys_of: dict[int, list[tuple[Column, int]]] = {}


def _relation_keys(meta: ModelMeta, where: Node, memo: int) -> list[tuple[Column, int]]:
    found = _keys_of.get(memo)
    if found is not None:
        return found
    if len(_keys_of) >= scopes.MAX_ENTRIES:
        _keys_of.clear()
    keys = _keys_of[memo] = []
    for column_name, index in _key_terms(where):
        field = meta.field_by_column.get(column_name)
        column = meta.columns.get(field) if field is not None else None
        if column is not None and (column.fk is not None or column.primary_key):
            keys.append((column, index))
    return keys


def _n_plus_one_advice(meta: ModelMeta, column: Column) -> str:
    model = meta.model.__name__
    if column.fk is not None:
        fk = column.fk
        target = fk.target
        target_meta = get_meta(target)
        for rel in target_meta.reverse.values():
            if not rel.many_to_many and rel.target is meta.model and rel.fk_name == fk.name:
                return (
                    f'{target.__name__}.objects.prefetch("{rel.name}")  '
                    f"# every {model} of the {target.__name__} rows in one more query"
                )
        return (
            f"{model}.objects.filter({fk.field_name}__in=[...]).all()  "
            f"# one query for every parent, grouped by {fk.field_name} in Python"
        )
    joins = [
        f'{other.__name__}.objects.join("{fk.name}")'
        for other in registered_tables().values()
        for fk in get_meta(other).foreign_keys.values()
        if fk.target is meta.model
    ]
    if joins:
        return " or ".join(joins) + f"  # loads the {model} with each row"
    return f"{model}.objects.in_bulk([...])  # one query for every key"


def read(
    meta: ModelMeta, node: Node, values: Sequence[Any], nrows: int, ex: Any, limited: bool
) -> None:
    """A SELECT of ``meta``'s rows ran and returned ``nrows`` rows."""
    try:
        scope = scopes.current()
        if scope is None or node[0] != "select":
            return
        settings = scopes.state.settings
        detections = settings.detections
        where = node[3]
        shape = hash(node)
        if where is not None and "n_plus_one" in detections:
            _n_plus_one(scope, meta, node, shape, where, values, ex)
        if not limited and nrows > settings.unbounded_rows and "unbounded_read" in detections:
            _unbounded(scope, meta, node, shape, nrows, ex)
        if where is not None and "missing_index" in detections:
            indexcheck.sample(scope, meta, node, shape, values, ex)
    except Exception:
        logging.getLogger("oxyde.advice").debug("advisor: read hook failed", exc_info=True)


def _shape(node: Node, ex: Any) -> str:
    try:
        return compile_statement(node, ex.dialect).sql
    except Exception:
        return repr(node)


def _n_plus_one(
    scope: scopes.Scope,
    meta: ModelMeta,
    node: Node,
    shape: int,
    where: Node,
    values: Sequence[Any],
    ex: Any,
) -> None:
    keys = _relation_keys(meta, where, shape)
    if not keys:
        return
    pattern = ("n_plus_one", shape)
    found = scope.reported.get(pattern)
    if found is not None:
        found.count += 1
        return
    seen = scope.keys.get(shape)
    if seen is None:
        scope.bound(scope.keys)
        seen = scope.keys[shape] = set()
    seen.add(tuple(values[i] for _, i in keys))
    if len(seen) < scopes.state.settings.n_plus_one:
        return
    del scope.keys[shape]
    column = keys[0][0]
    report(
        scope,
        pattern,
        Finding(
            kind="n_plus_one",
            model=meta.model.__name__,
            fields=tuple(c.name for c, _ in keys),
            shape=_shape(node, ex),
            count=len(seen),
            call_site=call_site(),
            suggestion=_n_plus_one_advice(meta, column),
            alias=_alias(ex),
        ),
    )


def _unbounded(
    scope: scopes.Scope, meta: ModelMeta, node: Node, shape: int, nrows: int, ex: Any
) -> None:
    pattern = ("unbounded_read", shape)
    found = scope.reported.get(pattern)
    if found is not None:
        found.count = max(found.count, nrows)
        return
    model = meta.model.__name__
    report(
        scope,
        pattern,
        Finding(
            kind="unbounded_read",
            model=model,
            fields=(),
            shape=_shape(node, ex),
            count=nrows,
            call_site=call_site(),
            suggestion=(
                f"query.limit(N).all(), or `async for obj in query.iterator():`, or "
                f'query.values("field", ...) when a few fields are enough ({nrows} {model} rows '
                "loaded at once)"
            ),
            alias=_alias(ex),
        ),
    )


# -- writes ------------------------------------------------------------------------------


def created(meta: ModelMeta, operation: str) -> None:
    """One row written by ``create()`` or ``save()`` (``operation``: "create", "insert",
    "update")."""
    try:
        scope = scopes.current()
        if scope is None or "loop_writes" not in scopes.state.settings.detections:
            return
        site = call_site()
        key = (meta.model, operation, site)
        found = scope.reported.get(key)
        if found is not None:
            found.count += 1
            return
        scope.bound(scope.writes)
        count = scope.writes.get(key, 0) + 1
        scope.writes[key] = count
        if count < scopes.state.settings.loop_writes:
            return
        model = meta.model.__name__
        if operation == "update":
            call = "save()"
            instead = f'await {model}.objects.bulk_update(objects, ["field", ...])'
        else:
            call = "create()" if operation == "create" else "save()"
            instead = f"await {model}.objects.bulk_create([{model}(...), ...])"
        report(
            scope,
            key,
            Finding(
                kind="loop_writes",
                model=model,
                fields=(),
                shape=f"{model}.{call}",
                count=count,
                call_site=site,
                suggestion=instead,
            ),
        )
    except Exception:
        logger.debug("advisor: write hook failed", exc_info=True)


def loaded(meta: ModelMeta, instance: Any) -> None:
    """``get()`` returned ``instance``: remember its values for a later ``save()``."""
    try:
        scope = scopes.current()
        if scope is None or "read_modify_write" not in scopes.state.settings.detections:
            return
        if not any(c.kind in NUMERIC_KINDS for c in meta.columns.values()):
            return
        try:
            ref: Any = weakref.ref(instance)
        except TypeError:
            ref = None
        scope.bound(scope.loaded)
        scope.loaded[id(instance)] = (ref, dict(instance.__dict__))
    except Exception:
        logger.debug("advisor: load hook failed", exc_info=True)


def saving(meta: ModelMeta, instance: Any, update_fields: Any) -> None:
    """``save()`` is about to UPDATE ``instance``."""
    try:
        scope = scopes.current()
        if scope is None:
            return
        entry = scope.loaded.pop(id(instance), None)
        if entry is None or (entry[0] is not None and entry[0]() is not instance):
            return
        before = entry[1]
        now = instance.__dict__
        written = list(update_fields) if update_fields is not None else list(meta.columns)
        changed = [
            name
            for name in written
            if name in meta.columns
            and not meta.columns[name].primary_key
            and now.get(name) != before.get(name)
        ]
        if not changed or any(meta.columns[n].kind not in NUMERIC_KINDS for n in changed):
            return
        pk = meta.pk
        if pk is None:
            return
        site = call_site()
        key = ("read_modify_write", meta.model, tuple(changed), site)
        found = scope.reported.get(key)
        if found is not None:
            found.count += 1
            return
        terms = []
        for name in changed:
            old, new = before.get(name), now.get(name)
            try:
                delta = new - old
                terms.append(
                    f'{name}=F("{name}") + {delta!r}'
                    if delta >= 0
                    else f'{name}=F("{name}") - {-delta!r}'
                )
            except TypeError:
                terms.append(f'{name}=F("{name}") + ...')
        model = meta.model.__name__
        report(
            scope,
            key,
            Finding(
                kind="read_modify_write",
                model=model,
                fields=tuple(changed),
                shape=f"{model}.objects.get(...) then save()",
                count=1,
                call_site=site,
                suggestion=(
                    f"await {model}.objects.filter({pk.name}={now.get(pk.name)!r})"
                    f".update({', '.join(terms)})  # one atomic statement, no lost update"
                ),
            ),
        )
    except Exception:
        logger.debug("advisor: save hook failed", exc_info=True)
