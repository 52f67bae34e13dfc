"""``union()``/``union_all()``: a query combining the rows of others.

A combined query is a ``CompoundQuery``: the member SELECTs are assembled when
``union()`` is called (each member's values renumbered into one value list), and what
may follow applies to the combined rows: ``order_by`` (on the output columns), slicing,
``limit``/``offset``, more ``union``/``union_all``, and the read terminals (``all``,
``get``, ``first``, ``last``, ``count``, ``exists``, ``aggregate``, ``iterator``...).
``count()`` counts the combined rows. Filters, projections and writes belong to the
members, so they raise here rather than silently apply to one member or the whole table.

Members must have the same columns: model rows of the same model (same ``join()`` and
annotations), or ``values()``/``values_list()`` rows of the same width; the result
takes the first member's form. Every output column carries an explicit name (field
names, annotation aliases, ``values()`` names), which is what ``order_by()`` on the
union refers to. A member's own ordering is dropped unless it has a limit or offset
(which it then decides), and ``Meta.ordering`` applies to the whole union only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from oxyde.exceptions import FieldError, ManagerError
from oxyde.meta.metadata import Column
from oxyde.queries import annotations as _annotated
from oxyde.queries import executor as _ex
from oxyde.queries.annotations import Resolved
from oxyde.queries.expressions import Expression, OrderBy, Q
from oxyde.queries.query import Query

M = TypeVar("M")
Node = tuple[Any, ...]

_FALSE: Node = ("const", False)


def _unsupported(what: str) -> ManagerError:
    return ManagerError(
        f"{what}() cannot follow union()/union_all(): apply it to each query before combining them"
    )


class CompoundQuery(Query[M]):
    """The rows of several queries combined with UNION / UNION ALL."""

    __slots__ = ("_all_flags", "_names", "_outputs", "_parts")
    _compound = True

    #: the member SELECT nodes, their values renumbered into ``_values``
    _parts: tuple[Node, ...]
    #: ``_all_flags[i]``: member i + 1 joins with UNION ALL
    _all_flags: tuple[bool, ...]
    #: the output column names, and what each is in the first member
    _names: tuple[str, ...]
    _outputs: dict[str, Resolved]

    def _clone(self) -> CompoundQuery[M]:
        q = cast("CompoundQuery[M]", super()._clone())
        for slot in CompoundQuery.__slots__:
            object.__setattr__(q, slot, getattr(self, slot))
        return q

    # -- the statement ----------------------------------------------------------------------

    def _select_ir(
        self,
        cols: tuple[tuple[Node, str | None], ...],
        *,
        order: bool = True,
        limit: Node | Any = False,
    ) -> tuple[Node, tuple[Any, ...]]:
        """The UNION node (``cols`` is ignored: the members fix the columns)."""
        scope = self._scope()
        order_nodes: tuple[tuple[Node, bool], ...] = ()
        if order:
            if self._order is not None:
                order_nodes = tuple(
                    (self._output_ref(node, strict=True), desc) for node, desc in self._order
                )
            else:
                order_nodes = self._default_order(scope)
        lim = self._limit if limit is False else limit
        node = ("union", self._parts, self._all_flags, order_nodes, lim, self._offset)
        return node, tuple(scope.values)

    def _default_order(self, scope: Any) -> tuple[tuple[Node, bool], ...]:
        # Meta.ordering on the output columns; left out when it names something else
        # (a related field), as a union can only be ordered by what it returns
        items = []
        for node, desc in self._order_nodes(scope):
            ref = self._output_ref(node, strict=False)
            if ref is None:
                return ()
            items.append((ref, desc))
        return tuple(items)

    def _output_ref(self, node: Node, *, strict: bool) -> Any:
        """An ORDER BY expression of the members -> the output column it names."""
        if node[0] == "random" or (node[0] == "col" and node[1] is None and node[2] in self._names):
            return node
        for name, resolved in self._outputs.items():
            if resolved.node == node:
                return ("col", None, name)
        if strict:
            raise FieldError(
                f"order_by() on a union takes its output columns: {', '.join(self._names)}"
            )
        return None

    def _derived(self) -> tuple[Node, tuple[Any, ...], dict[str, Resolved]]:
        """The union as a derived table for aggregates: node, values, output columns."""
        node, values = self._select_ir((), order=self._limit is not None)
        outputs = {
            name: Resolved(("col", "_sub", name), r.kind, r.function, r.source, False)
            for name, r in self._outputs.items()
        }
        return node, values, outputs

    # -- builders that belong to the members -----------------------------------------------

    def filter(self, *args: Q, **lookups: Any) -> Query[M]:
        raise _unsupported("filter")

    def exclude(self, *args: Q, **lookups: Any) -> Query[M]:
        raise _unsupported("exclude")

    def annotate(self, **exprs: Any) -> Query[M]:
        raise _unsupported("annotate")

    def group_by(self, *fields: str) -> Query[M]:
        raise _unsupported("group_by")

    def having(self, *args: Q, **lookups: Any) -> Query[M]:
        raise _unsupported("having")

    def values(self, *fields: str) -> Query[Any]:
        raise _unsupported("values")

    def values_list(self, *fields: str, flat: bool = False) -> Query[Any]:
        raise _unsupported("values_list")

    def select(self, *fields: str) -> Query[M]:
        raise _unsupported("select")

    def join(self, *paths: str) -> Query[M]:
        raise _unsupported("join")

    def distinct(self, distinct: bool = True) -> Query[M]:
        raise _unsupported("distinct")

    async def in_bulk(
        self,
        ids: Iterable[Any],
        *,
        field: str = "pk",
        using: str | None = None,
        client: Any = None,
    ) -> dict[Any, M]:
        raise _unsupported("in_bulk")

    def _locked(self, mode: str, nowait: bool, skip_locked: bool, of: Sequence[str]) -> Query[M]:
        raise ManagerError("rows of a union cannot be locked (FOR UPDATE/FOR SHARE)")

    def order_by(self, *fields: str | Expression | OrderBy) -> Query[M]:
        """Order the combined rows by output columns (``"-name"``, ``"?"``)."""
        q = cast("CompoundQuery[M]", super().order_by(*fields))
        assert q._order is not None
        q._order = tuple((q._output_ref(node, strict=True), desc) for node, desc in q._order)
        # joins met while resolving the names belong to the members
        q._joins = ()
        return q

    # -- terminals -----------------------------------------------------------------------

    async def count(self, *, using: str | None = None, client: Any = None) -> int:
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return 0
        inner, values = self._select_ir((), order=False)
        node = _select(("subquery", inner, "_sub"), ((("agg", "COUNT", None, False), "count"),))
        rows = await _ex.fetch(ex, node, values)
        return int(rows[0][0])

    async def exists(self, *, using: str | None = None, client: Any = None) -> bool:
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return False
        scope = self._scope()
        one = scope.param("int", 1)
        q = self._with(scope)
        inner, values = q._select_ir((), order=False)
        node = _select(("subquery", inner, "_sub"), ((("lit", "1"), "one"),), limit=one)
        return bool(await _ex.fetch(ex, node, values))

    async def update(
        self, *, returning: bool = False, using: str | None = None, client: Any = None,
        **values: Any,
    ) -> Any:  # fmt: skip
        raise _unsupported("update")

    async def delete(self, *, using: str | None = None, client: Any = None) -> int:
        raise _unsupported("delete")


def _select(
    src: Node,
    cols: tuple[tuple[Node, str | None], ...],
    where: Node | None = None,
    *,
    limit: Node | None = None,
) -> Node:
    return ("select", src, cols, where, (), None, (), limit, None, False, None)


# -- assembling members -------------------------------------------------------------------------


def combine(first: Query[Any], other: Query[Any], *, all_rows: bool) -> CompoundQuery[Any]:
    """``first.union(other)`` / ``first.union_all(other)``."""
    if not isinstance(other, Query):
        raise TypeError(f"union() takes a query, got {type(other).__name__}")
    if (
        isinstance(first, CompoundQuery)
        and first._order is None
        and first._limit is None
        and first._offset is None
        and not first._empty
    ):
        # a.union(b).union(c): one flat UNION, evaluated left to right
        base = first
        parts = list(first._parts)
        flags = list(first._all_flags)
        values = list(first._values)
    else:
        node, member_values = _member(first)
        base = None
        parts = [node]
        flags = []
        values = list(member_values)
    names, outputs, signature = _shape_of(first if base is None else base)
    other_names, _, other_signature = _shape_of(other)
    if other_signature != signature:
        raise ManagerError(
            f"union() needs queries with the same columns: {_describe(signature, names)} "
            f"and {_describe(other_signature, other_names)}"
        )
    node, member_values = _member(other)
    parts.append(_shift(node, len(values)))
    values.extend(member_values)
    flags.append(all_rows)

    source = first if base is None else base
    q: CompoundQuery[Any] = object.__new__(CompoundQuery)
    for slot in Query.__slots__:
        object.__setattr__(q, slot, getattr(source, slot))
    q._values = tuple(values)
    q._joins = ()
    q._where = ()
    q._order = None
    q._limit = None
    q._offset = None
    q._distinct = False
    q._lock = None
    q._empty = False
    q._parts = tuple(parts)
    q._all_flags = tuple(flags)
    q._names = names
    q._outputs = outputs
    return q


def _member(query: Query[Any]) -> tuple[Node, tuple[Any, ...]]:
    """One member of a union as a SELECT node (its values numbered from 0)."""
    if isinstance(query, CompoundQuery):
        # a union inside a union: a derived table, so its own UNION/UNION ALL holds
        limited = query._limit is not None or query._offset is not None
        inner, values = query._select_ir((), order=limited)
        node = _select(("subquery", inner, "_c"), ())
        if query._empty:
            node = (*node[:3], _FALSE, *node[4:])
        return node, values
    if query._lock is not None:
        raise ManagerError("a query with for_update()/for_share() cannot be part of a union")
    cols = _member_columns(query)[0]
    limited = query._limit is not None or query._offset is not None
    node, values = query._select_ir(cols, order=limited)
    if query._empty:
        node = (*node[:3], _FALSE, *node[4:])
    return node, values


def _member_columns(
    query: Query[Any],
) -> tuple[tuple[tuple[Node, str | None], ...], dict[str, Resolved]]:
    """Every output column of a member, named (the layout the rows are loaded from)."""
    cols: list[tuple[Node, str | None]] = []
    outputs: dict[str, Resolved] = {}

    def add(name: str, node: Node, kind: str, function: str, source: Column | None) -> None:
        cols.append((node, name))
        outputs[name] = Resolved(node, kind, function, source, False)

    meta = query._meta
    fields = query._fields
    if fields is None or query._mode == "models":
        if fields is None:
            for column in meta.columns.values():
                add(column.name, ("col", meta.table_name, column.column), column.kind, "", column)
        else:
            for _, node, column in fields:
                add(column.name, node, column.kind, "", column)
        for join in query._related:
            for column in join.meta.columns.values():
                node = ("col", join.alias, column.column)
                add(f"{join.path}__{column.name}", node, column.kind, "", column)
        if query._agg is not None:
            for a in query._agg.annotations:
                add(a.alias, a.node, a.kind, a.function, a.source)
    else:
        for name, node, column in fields:
            if isinstance(column, _annotated.AnnotationColumn):
                a = column.annotation
                add(name, node, a.kind, a.function, a.source)
            else:
                add(name, node, column.kind, "", column)
    return tuple(cols), outputs


def _shape_of(query: Query[Any]) -> tuple[tuple[str, ...], dict[str, Resolved], tuple[Any, ...]]:
    """Output names, output columns, and what another member must match."""
    if isinstance(query, CompoundQuery):
        names = query._names
        outputs = query._outputs
        models = query._fields is None or query._mode == "models"
    else:
        _, outputs = _member_columns(query)
        names = tuple(outputs)
        models = query._fields is None or query._mode == "models"
    if models:
        signature: tuple[Any, ...] = ("models", query._meta.model, names)
    else:
        signature = ("values", len(names))
    return names, outputs, signature


def _describe(signature: tuple[Any, ...], names: tuple[str, ...]) -> str:
    if signature[0] == "models":
        return f"{signature[1].__name__} rows ({', '.join(names)})"
    return f"values rows ({', '.join(names)})"


def _shift(node: Any, offset: int) -> Any:
    """Renumber the value references of an IR tree by ``offset``.

    Value indexes live in ``("p", kind, idx)``, ``("in", expr, kind, idx, n)``,
    ``("json_get", expr, idx, kind)``, ``("json_has", expr, idx)`` and
    ``("json_cmp", op, expr, idx, jtype, rhs)``; everything else is walked through.
    """
    if offset == 0 or type(node) is not tuple or not node:
        return node
    tag = node[0]
    if tag == "p" and len(node) == 3 and type(node[2]) is int:
        return ("p", node[1], node[2] + offset)
    if tag == "in" and len(node) == 5 and type(node[3]) is int:
        return ("in", _shift(node[1], offset), node[2], node[3] + offset, node[4])
    if tag == "json_get" and len(node) == 4 and type(node[2]) is int:
        return ("json_get", _shift(node[1], offset), node[2] + offset, node[3])
    if tag == "json_has" and len(node) == 3 and type(node[2]) is int:
        return ("json_has", _shift(node[1], offset), node[2] + offset)
    if tag == "json_cmp" and len(node) == 6 and type(node[3]) is int:
        return (
            "json_cmp", node[1], _shift(node[2], offset), node[3] + offset, node[4],
            _shift(node[5], offset),
        )  # fmt: skip
    return tuple(_shift(item, offset) for item in node)


__all__ = ["CompoundQuery", "combine"]
