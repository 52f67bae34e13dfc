"""``prefetch()``: relations loaded by extra queries and put on the rows already loaded.

A path names relations from the queried model, ``__``-separated: reverse FKs
(``db_reverse_fk``), many-to-many (``db_m2m`` + ``db_through``) and forward FKs, nested
to any depth (``"posts__tags"``, ``"author__posts"``). Each relation of each level costs
one statement over the keys of the level above (split in batches only where the dialect
expands ``IN`` lists into one placeholder per key); a many-to-many reads its through
rows and its targets in one joined statement. A forward FK that ``join()`` already
loaded costs nothing. The lists come in the target's ``Meta.ordering``, ties (and
models without one) broken by primary key, so the result is stable. Keys, grouping and
assignment over large levels run in slices with the event loop let in (``oxyde._slicing``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from oxyde import _impl
from oxyde._slicing import each_timed, map_slices, run_slices
from oxyde.exceptions import FieldLookupError, ManagerError
from oxyde.meta.metadata import ForeignKey, ModelMeta, ReverseRelation
from oxyde.meta.registry import get_meta
from oxyde.queries.relations import set_relations

if TYPE_CHECKING:
    from oxyde.backends.base import Executor
    from oxyde.queries.query import Query


@dataclass(eq=False)
class PrefetchNode:
    """One relation to load on every instance of ``owner``, and what to load below it."""

    name: str
    path: str
    owner: ModelMeta
    target: ModelMeta
    #: set for a forward FK
    fk: ForeignKey | None = None
    #: set for a reverse FK or a many-to-many
    relation: ReverseRelation | None = None
    children: dict[str, PrefetchNode] = field(default_factory=dict)


def _step(owner: ModelMeta, name: str, path: str) -> PrefetchNode:
    fk = owner.foreign_keys.get(name)
    if fk is not None:
        return PrefetchNode(name, path, owner, get_meta(fk.target), fk=fk)
    relation = owner.reverse.get(name)
    if relation is not None:
        return PrefetchNode(name, path, owner, get_meta(relation.target), relation=relation)
    model = owner.model.__name__
    choices = ", ".join(sorted({*owner.reverse, *owner.foreign_keys})) or "none"
    what = "is not a relation" if name in owner.columns else "has no relation"
    subject = f"{model}.{name} {what}" if name in owner.columns else f"{model} {what} {name!r}"
    raise FieldLookupError(f"{subject} (in prefetch({path!r})); relations: {choices}")


def check_paths(meta: ModelMeta, paths: Iterable[Any]) -> tuple[str, ...]:
    """Validate ``prefetch()`` paths against the models before any SQL exists."""
    checked: list[str] = []
    for path in paths:
        if not isinstance(path, str) or not path:
            raise FieldLookupError(f"prefetch() takes relation paths, got {path!r}")
        owner = meta
        for name in path.split("__"):
            owner = _step(owner, name, path).target
        checked.append(path)
    return tuple(checked)


@lru_cache(maxsize=256)
def plan(meta: ModelMeta, paths: tuple[str, ...]) -> dict[str, PrefetchNode]:
    """The relations to load, as a tree: shared prefixes load once."""
    root: dict[str, PrefetchNode] = {}
    for path in paths:
        level, owner, prefix = root, meta, ""
        for name in path.split("__"):
            prefix = f"{prefix}__{name}" if prefix else name
            node = level.get(name)
            if node is None:
                node = level[name] = _step(owner, name, prefix)
            level, owner = node.children, node.target
    return root


def ensure_models(query_mode: str, mode: str | None) -> None:
    """prefetch() fills model instances; other result forms have nowhere to put it."""
    if query_mode != "models" or mode not in (None, "models"):
        raise ManagerError(
            "prefetch() loads relations onto model instances; it cannot be combined with "
            "values(), values_list() or a mode other than 'models'"
        )


async def prefetch_related(ex: Executor, query: Query[Any], instances: Sequence[Any]) -> None:
    """Load the ``prefetch()`` paths of ``query`` onto ``instances`` (its rows, just read
    through ``ex``). The extra reads start from ``query._over(model)``."""
    if instances and query._prefetch:
        nodes = plan(query._meta, query._prefetch)
        await _load_level(ex, query, list(instances), nodes)


async def _load_level(
    ex: Executor, query: Query[Any], parents: list[Any], nodes: dict[str, PrefetchNode]
) -> None:
    for node in nodes.values():
        if node.fk is not None:
            children = await _load_forward(ex, query, parents, node, node.fk)
        elif node.relation is not None and node.relation.many_to_many:
            children = await _load_m2m(ex, query, parents, node, node.relation)
        else:
            assert node.relation is not None
            children = await _load_reverse(ex, query, parents, node, node.relation)
        if node.children and children:
            await _load_level(ex, query, children, node.children)


async def _keys(parents: list[Any], node: PrefetchNode, field_name: str) -> list[Any]:
    """The distinct non-NULL values of ``field_name`` over ``parents``, in first-seen order."""
    if field_name not in parents[0].__pydantic_fields_set__:
        raise ManagerError(
            f"prefetch({node.path!r}) needs {node.owner.model.__name__}.{field_name}, "
            "which this query did not load (select())"
        )
    seen: dict[Any, None] = {}
    collect_keys = _impl.rowload.collect_keys
    await run_slices(
        len(parents), lambda start, stop: collect_keys(seen, parents[start:stop], field_name)
    )
    return list(seen)


def _ordering(target: ModelMeta, prefix: str = "") -> list[str]:
    """``Meta.ordering`` of the target, then its primary key, as ``order_by`` names."""
    order = [o for o in target.ordering if o != "?"]
    pk = target.pk
    if pk is not None and not any(o.lstrip("-") in (pk.name, "pk") for o in order):
        order.append(pk.name)
    return [f"-{prefix}{o[1:]}" if o.startswith("-") else f"{prefix}{o}" for o in order]


def _key_order(target: ModelMeta, order: list[str]) -> str | None:
    """The integer primary key when ``order`` is that key alone, else None.

    Such children are put in order here rather than by an ORDER BY: the rows of an
    ``IN``/``= ANY`` come from the index on the FK column, and a sort of all of them by
    key is where the database's time went (PostgreSQL sorted the benchmark's 20,000
    posts on disk, past the default ``work_mem``: 57 ms, against 14 ms without the ORDER
    BY). Each parent's list is sorted instead (``rowload.sort_group``), which costs a
    check per child, made as the lists are built, when the rows came in key order.
    Integers compare the same in Python as in SQL; other keys (text under a collation)
    may not.
    """
    pk = target.pk
    if pk is None or pk.kind != "int" or order != [pk.name]:
        return None
    return pk.name


async def _fetch_in(
    ex: Executor,
    query: Query[Any],
    model: Any,
    key_field: str,
    keys: list[Any],
    order: list[str],
    join: str | None = None,
) -> list[Any]:
    """Rows of ``model`` whose ``key_field`` is one of ``keys``, in ``order``."""
    base = query._over(model)
    if join is not None:
        base = base.join(join)
    # one array parameter for all the keys, or one placeholder per key: as many keys
    # per statement as the dialect's IN-list batch (Dialect.in_list_size), besides the
    # values the query binds itself
    dialect = ex.dialect
    size = len(keys) if dialect.array_in else dialect.in_list_size(bound=len(base._values))
    rows: list[Any] = []
    for start in range(0, len(keys), size):
        q = base.filter(**{f"{key_field}__in": keys[start : start + size]}).order_by(*order)
        rows.extend(await q.all(client=ex))
    return rows


async def _load_forward(
    ex: Executor, query: Query[Any], parents: list[Any], node: PrefetchNode, fk: ForeignKey
) -> list[Any]:
    # join() may have loaded it already; only the others cost a query
    name = fk.name
    missing = await map_slices(lambda part: [p for p in part if name not in p.__dict__], parents)
    if missing:
        keys = await _keys(missing, node, fk.field_name)
        found: dict[Any, Any] = {}
        if keys:
            rows = await _fetch_in(ex, query, node.target.model, fk.target_field, keys, [])
            target_field = fk.target_field
            await run_slices(
                len(rows),
                lambda start, stop: found.update(
                    {row.__dict__[target_field]: row for row in rows[start:stop]}
                ),
            )
        field_name = fk.field_name

        def pick(part: list[Any]) -> list[Any]:
            values = []
            for parent in part:
                key = parent.__dict__.get(field_name)
                values.append(None if key is None else found.get(key))
            return values

        await _set_relations(missing, name, await map_slices(pick, missing))
    related: dict[int, Any] = {}

    def collect(start: int, stop: int) -> None:
        for parent in parents[start:stop]:
            value = parent.__dict__[name]
            if value is not None:
                related.setdefault(id(value), value)

    await run_slices(len(parents), collect)
    return list(related.values())


async def _load_reverse(
    ex: Executor,
    query: Query[Any],
    parents: list[Any],
    node: PrefetchNode,
    relation: ReverseRelation,
) -> list[Any]:
    assert relation.fk_name is not None
    fk = node.target.foreign_keys[relation.fk_name]
    keys = await _keys(parents, node, fk.target_field)
    rows: list[Any] = []
    groups: dict[Any, list[Any]] = {}
    if keys:
        order = _ordering(node.target)
        by_key = _key_order(node.target, order)
        rows = await _fetch_in(
            ex, query, node.target.model, fk.field_name, keys, [] if by_key else order
        )
        field_name = fk.field_name
        group_into = _impl.rowload.group_into
        # with no ORDER BY, each list's order is checked as it is built (``tails``: the
        # last key per list) and only the lists found out of order are sorted
        tails: dict[Any, Any] | None = None if by_key is None else {}
        unordered: set[Any] = set()
        await run_slices(
            len(rows),
            lambda start, stop: group_into(
                groups, rows[start:stop], field_name, by_key, tails, unordered
            ),
        )
        if unordered and by_key is not None:
            sort_group, key = _impl.rowload.sort_group, by_key
            await each_timed([groups[k] for k in unordered], lambda g: sort_group(g, key))
    await _set_relations(parents, relation.name, await _grouped(parents, fk.target_field, groups))
    return rows


async def _load_m2m(
    ex: Executor,
    query: Query[Any],
    parents: list[Any],
    node: PrefetchNode,
    relation: ReverseRelation,
) -> list[Any]:
    assert relation.through_source is not None and relation.through_target is not None
    through = get_meta(relation.through)
    source = through.foreign_keys[relation.through_source]
    target = through.foreign_keys[relation.through_target]
    keys = await _keys(parents, node, source.target_field)
    groups: dict[Any, list[Any]] = {}
    # one instance per target row, shared by every parent linked to it
    targets: dict[Any, Any] = {}
    if keys:
        links = await _fetch_in(
            ex,
            query,
            through.model,
            source.field_name,
            keys,
            _ordering(node.target, f"{target.name}__"),
            join=target.name,
        )

        def group(start: int, stop: int) -> None:
            for link in links[start:stop]:
                item = link.__dict__[target.name]
                if item is None:
                    continue
                item = targets.setdefault(item.__dict__[target.target_field], item)
                groups.setdefault(link.__dict__[source.field_name], []).append(item)

        await run_slices(len(links), group)
    await _set_relations(
        parents, relation.name, await _grouped(parents, source.target_field, groups)
    )
    return list(targets.values())


async def _grouped(parents: list[Any], field: str, groups: dict[Any, list[Any]]) -> list[Any]:
    """Each parent's own list of its group (by its ``field``), in order."""
    groups_of = _impl.rowload.groups_of
    return await map_slices(lambda part: groups_of(part, field, groups), parents)


async def _set_relations(parents: list[Any], name: str, values: list[Any]) -> None:
    await run_slices(
        len(parents),
        lambda start, stop: set_relations(parents[start:stop], name, values[start:stop]),
    )


__all__ = ["PrefetchNode", "check_paths", "ensure_models", "plan", "prefetch_related"]
