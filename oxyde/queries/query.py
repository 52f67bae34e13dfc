"""``Query``: the immutable, lazy query builder and its awaitable terminals.

Each builder call returns a new ``Query``; nothing touches a database until a terminal
is awaited. User-supplied names are resolved against the model when the builder is
called (``oxyde/queries/resolve.py``), so a typo fails at ``filter()``, not at the
database. A query keeps its IR parts and its bound values apart; a terminal assembles
the statement node, and ``oxyde/queries/executor.py`` compiles (cached by shape) and
runs it.
"""

from __future__ import annotations

import contextlib
import decimal
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Literal, TypeVar, cast, overload

from oxyde import _impl, _protocol, _slicing
from oxyde._slicing import map_slices
from oxyde.advice import detect as _advice
from oxyde.advice import switch as _advice_switch
from oxyde.exceptions import (
    FieldError,
    FieldLookupError,
    ManagerError,
    MultipleObjectsReturned,
    NotFoundError,
)
from oxyde.meta.metadata import Column, ModelMeta
from oxyde.meta.registry import get_meta
from oxyde.queries import annotations as _annotated
from oxyde.queries import executor as _ex
from oxyde.queries import inbulk as _in_bulk
from oxyde.queries import lookupmemo as _lookup_memo
from oxyde.queries import prefetch as _prefetching
from oxyde.queries import upsert as _upsert
from oxyde.queries import writes
from oxyde.queries.expressions import Expression, F, OrderBy, Q
from oxyde.queries.relations import forget_relations
from oxyde.queries.resolve import (
    Join,
    Scope,
    field_expr,
    filter_condition,
    null_guarded,
)
from oxyde.queries.rowplan import column_converter, kind_converter, load_joined, load_models
from oxyde.sql.compiler import compile_statement, render
from oxyde.sql.dialects import get_dialect
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.dialects.explain import explain_sql, read_plan

if TYPE_CHECKING:
    from oxyde.backends.base import Executor

M = TypeVar("M")
Node = tuple[Any, ...]

Mode = Literal["models", "dict", "list", "msgpack"]

_RANDOM: Node = ("random",)


def _meta_of(model: Any) -> ModelMeta:
    # the common case without the registry's checks (a finalized table model)
    meta = model.__dict__.get("_db_meta") if isinstance(model, type) else None
    if meta is not None:
        return meta  # type: ignore[no-any-return]
    return get_meta(model)


class Query(Generic[M]):
    """A lazy, immutable query over one table model."""

    #: True on ``CompoundQuery`` (a union, ``oxyde/queries/setops.py``)
    _compound: ClassVar[bool] = False

    __slots__ = (
        "_agg",
        "_distinct",
        "_empty",
        "_fields",
        "_flat",
        "_joins",
        "_limit",
        "_lock",
        "_meta",
        "_mode",
        "_offset",
        "_order",
        "_prefetch",
        "_primary",
        "_related",
        "_values",
        "_where",
        "model",
    )

    def __init__(self, model_class: type[M]) -> None:
        model = model_class
        self.model = model
        self._meta: ModelMeta = _meta_of(model)
        self._values: tuple[Any, ...] = ()
        self._joins: tuple[Join, ...] = ()
        self._where: tuple[Node, ...] = ()
        #: None: the model's default ordering (Meta.ordering) applies
        self._order: tuple[tuple[Node, bool], ...] | None = None
        self._limit: Node | None = None
        self._offset: Node | None = None
        self._distinct = False
        self._lock: Node | None = None
        #: using_primary(): read from the primary even when the database has replicas
        self._primary = False
        #: "models", "dict", "list" or "flat"
        self._mode = "models"
        #: values()/values_list()/select(): tuple of (name, expr node, converter)
        self._fields: tuple[tuple[str, Node, Any], ...] | None = None
        self._flat = False
        self._empty = False
        #: join(): the FK paths whose related models are loaded with the rows
        self._related: tuple[Join, ...] = ()
        #: prefetch(): relation paths loaded by extra queries (oxyde/queries/prefetch.py)
        self._prefetch: tuple[str, ...] = ()
        #: annotate()/group_by()/having(): oxyde/queries/annotations.py
        self._agg: _annotated.Grouping | None = None

    # -- cloning ----------------------------------------------------------------------

    def _clone(self) -> Query[M]:
        q: Query[M] = object.__new__(type(self))
        _copy_slots(self, q)
        return q

    def _scope(self) -> Scope:
        if self._agg is not None:
            return Scope(self._meta, self._values, self._joins, _annotated.scope_annotations(self))
        return Scope(self._meta, self._values, self._joins)

    def _with(self, scope: Scope) -> Query[M]:
        q = self._clone()
        q._values = tuple(scope.values)
        q._joins = tuple(scope.joins.values())
        return q

    def _over(self, model: type[Any]) -> Query[Any]:
        """A new query over all rows of ``model``: how the modules this one imports
        (``writes``, ``prefetch``) start a follow-up read without importing ``Query``."""
        return Query(model)

    # -- builders ---------------------------------------------------------------------

    def filter(self, *args: Q, **lookups: Any) -> Query[M]:
        """Rows matching every lookup (``age__gte=18``) and ``Q`` tree."""
        if lookups and not args and self._agg is None and not self._joins:
            # plain comparisons are resolved once per keys and value types
            return _lookup_memo.filtered(self, lookups, lambda: self._filter(args, lookups))
        return self._filter(args, lookups)

    def _filter(self, args: tuple[Q, ...], lookups: dict[str, Any]) -> Query[M]:
        scope = self._scope()
        cond = filter_condition(scope, args, lookups)
        q = self._with(scope)
        if cond is not None:
            if self._agg is not None:
                # a condition on an aggregate annotation goes to HAVING
                _annotated.add_condition(q, cond)
            else:
                q._where = (*self._where, cond)
        return q

    def exclude(self, *args: Q, **lookups: Any) -> Query[M]:
        """Rows that do not match the lookups taken together."""
        scope = self._scope()
        cond = filter_condition(scope, args, lookups)
        q = self._with(scope)
        if cond is not None:
            negated = ("not", null_guarded(cond, scope))
            if self._agg is not None:
                _annotated.add_condition(q, negated)
            else:
                q._where = (*self._where, negated)
        return q

    def order_by(self, *fields: str | Expression | OrderBy) -> Query[M]:
        """Order by fields (``"-f"`` descending, ``"?"`` random), annotation aliases or
        expressions (``F("a") + F("b")``, ``F("views").desc()``); replaces earlier
        ordering."""
        scope = self._scope()
        order = tuple(_order_item(scope, f) for f in fields)
        q = self._with(scope)
        q._order = order
        return q

    @property
    def model_class(self) -> type[M]:
        """The model (the public Oxyde's name for ``model``)."""
        return self.model

    def limit(self, value: int) -> Query[M]:
        scope = self._scope()
        node = scope.param("int", _non_negative("limit", value))
        q = self._with(scope)
        q._limit = node
        return q

    def offset(self, value: int) -> Query[M]:
        scope = self._scope()
        node = scope.param("int", _non_negative("offset", value))
        q = self._with(scope)
        q._offset = node
        return q

    def __getitem__(self, key: slice | int) -> Query[M]:
        """``qs[a:b]`` -> OFFSET/LIMIT; ``qs[i]`` -> the one-row query at ``i``. Slicing a
        sliced query slices within the first slice, as in Django."""
        if isinstance(key, int) and not isinstance(key, bool):
            if key < 0:
                raise ValueError("negative indexing is not supported")
            key = slice(key, key + 1)
        if not isinstance(key, slice):
            raise TypeError(f"queries are sliced with ints, got {type(key).__name__}")
        if key.step not in (None, 1):
            raise ValueError("slicing with a step is not supported")
        start = key.start or 0
        if start < 0 or (key.stop is not None and key.stop < 0):
            raise ValueError("negative slicing is not supported")
        base = self._values[self._offset[2]] if self._offset is not None else 0
        count: int | None = None if key.stop is None else max(0, key.stop - start)
        if self._limit is not None:
            available = max(0, self._values[self._limit[2]] - start)
            count = available if count is None else min(count, available)
        q = self.offset(base + start) if (start or self._offset is not None) else self
        return q.limit(count) if count is not None else q

    def distinct(self, distinct: bool = True) -> Query[M]:
        q = self._clone()
        q._distinct = bool(distinct)
        return q

    def values(self, *fields: str) -> Query[dict[str, Any]]:
        """Rows as dicts of the given fields (every column when none is given)."""
        return self._project("dict", fields)

    @overload
    def values_list(self, *fields: str, flat: Literal[False] = False) -> Query[tuple[Any, ...]]: ...
    @overload
    def values_list(self, *fields: str, flat: bool) -> Query[Any]: ...

    def values_list(self, *fields: str, flat: bool = False) -> Query[Any]:
        """Rows as tuples, or single values with ``flat=True`` (one field)."""
        if flat and len(fields) != 1:
            raise ValueError("values_list(flat=True) takes exactly one field")
        q = self._project("list", fields)
        q._flat = flat
        return q

    def select(self, *fields: str) -> Query[M]:
        """Load only these columns; the instances hold defaults for the others."""
        if not fields:
            raise ValueError("select() needs at least one field")
        q = self._project("models", fields)
        return q

    def _project(self, mode: str, fields: tuple[str, ...]) -> Query[Any]:
        scope = self._scope()
        dialect_free: list[tuple[str, Node, Any]] = []
        if not fields:
            fields = _annotated.default_fields(self)
        for name in fields:
            if not isinstance(name, str):
                raise TypeError(f"field names must be strings, got {name!r}")
            node, column = field_expr(scope, name)
            if mode == "models" and ("__" in name or name in scope.annotations):
                raise FieldError(f"select() takes fields of {self._meta.model.__name__} only")
            dialect_free.append((name, node, column))
        q = self._with(scope)
        q._mode = mode
        q._fields = tuple(dialect_free)
        q._flat = False
        return q

    def using_primary(self) -> Query[M]:
        """Read from the primary even when the database has read replicas (for a read
        that must see the latest writes of other tasks)."""
        q = self._clone()
        q._primary = True
        return q

    def for_update(
        self, *, nowait: bool = False, skip_locked: bool = False, of: Sequence[str] = ()
    ) -> Query[M]:
        """Lock the selected rows until the transaction ends (a no-op on SQLite)."""
        return self._locked("update", nowait, skip_locked, of)

    def for_share(
        self, *, nowait: bool = False, skip_locked: bool = False, of: Sequence[str] = ()
    ) -> Query[M]:
        return self._locked("share", nowait, skip_locked, of)

    def select_for_update(
        self, *, nowait: bool = False, skip_locked: bool = False, of: Sequence[str] = ()
    ) -> Query[M]:
        """``for_update()``: lock the rows until the transaction ends; ``nowait`` fails at
        once on a locked row, ``skip_locked`` leaves locked rows out, ``of`` names the
        tables to lock ("self" or joined relations; MySQL/MariaDB lock every joined table).
        A no-op on SQLite, whose writer locks the whole database."""
        return self._locked("update", nowait, skip_locked, of)

    def _locked(self, mode: str, nowait: bool, skip_locked: bool, of: Sequence[str]) -> Query[M]:
        if nowait and skip_locked:
            raise ValueError("nowait and skip_locked cannot be combined")
        tables = []
        for name in of:
            if name in ("self", self._meta.model.__name__):
                tables.append(self._meta.table_name)
                continue
            join = next((j for j in self._joins if j.path == name), None)
            if join is None:
                raise FieldError(
                    f"for_update(of=...): {name!r} is neither 'self' nor a joined relation"
                )
            tables.append(join.alias)
        q = self._clone()
        q._lock = (mode, bool(nowait), bool(skip_locked), tuple(tables))
        return q

    def join(self, *paths: str) -> Query[M]:
        """Load forward-FK relations (``"author"``, ``"author__company"``) in the same
        statement, with LEFT JOINs; ``post.author`` is then the related instance (or
        None when the key is NULL)."""
        scope = self._scope()
        related = list(self._related)
        for path in paths:
            if not isinstance(path, str) or not path:
                raise FieldError(f"join() takes relation paths, got {path!r}")
            for join in _join_path(scope, path):
                if join not in related:
                    related.append(join)
        q = self._with(scope)
        q._related = tuple(related)
        return q

    def prefetch(self, *paths: str) -> Query[M]:
        """Load reverse-FK and many-to-many relations (``"posts"``, nested
        ``"posts__tags"``, through forward FKs ``"author__posts"``) with one extra query
        per relation and level, onto the instances this query returns."""
        checked = _prefetching.check_paths(self._meta, paths)
        q = self._clone()
        q._prefetch = tuple(dict.fromkeys((*self._prefetch, *checked)))
        return q

    def none(self) -> Query[M]:
        """A query that matches nothing and never touches the database."""
        q = self._clone()
        q._empty = True
        return q

    def annotate(self, /, **exprs: Any) -> Query[M]:
        """Add computed values under aliases: ``F`` arithmetic, ``Count/Sum/Avg/Max/Min``
        (over fields or relations: ``Count("posts")``), ``Concat``, ``Coalesce``,
        ``RawSQL``. They become attributes of the instances (or keys of ``values()``
        rows) and can be used in ``filter``, ``order_by``, ``having`` and ``F``."""
        return _annotated.annotate(self, exprs)

    def group_by(self, *fields: str) -> Query[M]:
        """Group the rows by these fields; select the groups with ``values(...)``."""
        return _annotated.group_by(self, fields)

    def having(self, *args: Q, **lookups: Any) -> Query[M]:
        """Conditions on the groups, on annotation aliases (``total__gt=10``) or fields."""
        return _annotated.having(self, args, lookups)

    def union(self, other_query: Query[Any]) -> Query[M]:
        """The distinct rows of this query and ``other_query`` (same columns). Order,
        slice, count or chain the result; filter each query before combining."""
        return self._combine(other_query, all_rows=False)

    def union_all(self, other_query: Query[Any]) -> Query[M]:
        """Every row of this query and ``other_query``, duplicates kept."""
        return self._combine(other_query, all_rows=True)

    def _combine(self, other_query: Query[Any], *, all_rows: bool) -> Query[M]:
        # The one import in oxyde.queries that goes up a layer, hence inside the call:
        # the union's class (setops.CompoundQuery) subclasses Query, so setops imports
        # this module and cannot be imported from its top.
        from oxyde.queries import setops

        return setops.combine(self, other_query, all_rows=all_rows)

    # -- IR assembly --------------------------------------------------------------------

    def _where_node(self) -> Node | None:
        if self._empty:
            # none(): also what sql()/to_ir() and any statement embedding this query show
            return ("const", False)
        where = self._where
        if not where:
            return None
        return where[0] if len(where) == 1 else ("and", where)

    def _source(self, joins: Iterable[Join] | None = None) -> Node:
        meta = self._meta
        js = self._joins if joins is None else joins
        return ("table", meta.table_name, meta.schema, None, tuple(j.node() for j in js))

    def _order_nodes(self, scope: Scope) -> tuple[tuple[Node, bool], ...]:
        if self._order is not None:
            return self._order
        if self._agg is not None and _annotated.is_grouped(self):
            # Meta.ordering names columns a grouped query does not select
            return ()
        return tuple(_order_item(scope, f) for f in self._meta.ordering)

    def _select_ir(
        self,
        cols: tuple[tuple[Node, str | None], ...],
        *,
        order: bool = True,
        limit: Node | Literal[False] | None = False,
    ) -> tuple[Node, tuple[Any, ...]]:
        """The SELECT node with this query's filters, and the values it refers to."""
        joins: Iterable[Join]
        if self._agg is None and (not order or self._order is not None or not self._meta.ordering):
            # nothing left to resolve, so no Scope to build (the point-query hot path)
            order_nodes = (self._order or ()) if order else ()
            joins = self._joins
            values = self._values
        else:
            scope = self._scope()
            order_nodes = self._order_nodes(scope) if order else ()
            joins = scope.joins.values()
            values = tuple(scope.values)
        lim = self._limit if limit is False else limit
        group_by, having = _annotated.grouping(self, cols) if self._agg is not None else ((), None)
        lock = self._lock
        if lock is not None and not lock[3] and joins:
            # lock the model's own rows: PostgreSQL refuses to lock the nullable side of
            # the LEFT JOINs that relation filters and join() add
            lock = (lock[0], lock[1], lock[2], (self._meta.table_name,))
        node = (
            "select",
            self._source(joins),
            cols,
            self._where_node(),
            group_by,
            having,
            order_nodes,
            lim,
            self._offset,
            self._distinct,
            lock,
        )
        return node, values

    def _derived(self) -> tuple[Node, tuple[Any, ...], dict[str, _annotated.Resolved]]:
        """This query as a derived table for aggregates: node, values, output columns."""
        cols, outputs = _annotated.derived_columns(self)
        limited = self._limit is not None or self._offset is not None
        node, values = self._select_ir(cols, order=limited)
        return node, values, outputs

    def _model_cols(self) -> tuple[tuple[Node, str | None], ...]:
        cols = _model_columns(self._meta)
        for join in self._related:
            cols += tuple((("col", join.alias, c.column), None) for c in join.meta.columns.values())
        if self._agg is not None:
            cols += _annotated.output_columns(self)
        return cols

    # -- reading --------------------------------------------------------------------------

    # Typed per mode; the query's own form (models, or what values() chose) by default.
    @overload
    async def all(
        self, *, mode: None = None, using: str | None = None, client: Any = None
    ) -> list[M]: ...
    @overload
    async def all(
        self, *, mode: Literal["dict"], using: str | None = None, client: Any = None
    ) -> list[dict[str, Any]]: ...
    @overload
    async def all(
        self, *, mode: Literal["list"], using: str | None = None, client: Any = None
    ) -> list[tuple[Any, ...]]: ...
    @overload
    async def all(
        self, *, mode: Literal["msgpack"], using: str | None = None, client: Any = None
    ) -> bytes: ...
    @overload
    async def all(
        self, *, mode: Mode | None, using: str | None = None, client: Any = None
    ) -> Any: ...

    async def all(
        self,
        *,
        mode: Mode | None = None,
        using: str | None = None,
        client: Any = None,
    ) -> Any:
        """Every matching row: models, or dicts/tuples after ``values()``/``values_list()``.

        ``mode`` overrides the result form: ``"models"``, ``"dict"``, ``"list"`` or
        ``"msgpack"`` (bytes of the rows as a list of maps).
        """
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return b"\x90" if mode == "msgpack" else []
        return await self._fetch_all(ex, mode)

    async def _fetch_all(self, ex: Executor, mode: str | None, limit: Any = False) -> Any:
        dialect = ex.dialect
        fields = self._fields
        if self._prefetch:
            _prefetching.ensure_models(self._mode, mode)
        if fields is None or (self._mode == "models" and mode in (None, "models")):
            if fields is None:
                cols = self._model_cols()
            else:
                cols = tuple((node, None) for _, node, _ in fields)
                cols += _annotated.output_columns(self)
            node, values = self._select_ir(cols, limit=limit)
            rows = await _ex.fetch(ex, node, values)
            if _advice_switch.on:
                limited = limit is not False or self._limit is not None
                _advice.read(self._meta, node, values, len(rows), ex, limited)
            if mode in (None, "models"):
                items = await map_slices(self._model_loader(dialect), rows, consume=True)
                if self._prefetch:
                    await _prefetching.prefetch_related(ex, self, items)
                return items
            names = tuple(self._meta.columns) if fields is None else tuple(f[0] for f in fields)
            columns = (
                list(self._meta.columns.values()) if fields is None else [f[2] for f in fields]
            )
            if self._agg is not None:
                return await _shape_annotated(self, mode, names, columns, dialect, rows)
            return await _shape(mode, names, columns, dialect, rows, False)
        cols = tuple((node, None) for _, node, _ in fields)
        node, values = self._select_ir(cols, limit=limit)
        rows = await _ex.fetch(ex, node, values)
        if _advice_switch.on:
            limited = limit is not False or self._limit is not None
            _advice.read(self._meta, node, values, len(rows), ex, limited)
        names = tuple(f[0] for f in fields)
        columns = [f[2] for f in fields]
        effective = mode or self._mode
        return await _shape(effective, names, columns, dialect, rows, self._flat and mode is None)

    def _model_loader(self, dialect: Dialect) -> Callable[[list[Any]], list[Any]]:
        """rows -> instances for this query's columns (the whole model, its joins, or a
        ``select()`` projection), annotations included; each row independently of the
        others, so that a large result loads a slice at a time."""
        fields = self._fields
        load: Callable[[list[Any]], list[Any]]
        if fields is not None:
            load = functools.partial(_load_partial, self._meta, dialect, fields)
        elif self._related:
            # one dict of shared joined instances per result, kept across its slices
            load = functools.partial(load_joined, self._meta, self._related, dialect, {})
        else:
            load = functools.partial(load_models, self._meta, dialect)
        if self._agg is None:
            return load

        def load_annotated(rows: list[Any]) -> list[Any]:
            items = load(rows)
            _annotated.attach(self, items, rows, dialect)
            return items

        return load_annotated

    async def get(self, *, using: str | None = None, client: Any = None, **lookups: Any) -> M:
        """The one row matching; ``NotFoundError`` or ``MultipleObjectsReturned`` otherwise."""
        q = self.filter(**lookups) if lookups else self
        ex = _ex.resolve_executor(using, client, self)
        if q._empty:
            raise not_found(self._meta.model)
        # LIMIT 2 as one more value, on a copy this call owns (filter() has made one)
        if q is self:
            q = q._clone()
        two: Node = ("p", "int", len(q._values))
        q._values = (*q._values, 2)
        rows = await q._fetch_all(ex, None, limit=two)
        instance = only_row(self._meta.model, rows)
        if _advice_switch.on:
            _advice.loaded(self._meta, instance)
        return instance  # type: ignore[no-any-return]

    async def get_or_none(
        self, *, using: str | None = None, client: Any = None, **lookups: Any
    ) -> M | None:
        try:
            return await self.get(using=using, client=client, **lookups)
        except NotFoundError:
            return None

    # -- the public Oxyde's lower-level terminals (each takes its executor) -----------

    async def fetch_all(self, client: Any) -> list[Any]:
        """The rows on ``client`` (a database or transaction) as ``values()`` /
        ``values_list()`` give them; a query of models gives dicts of its columns."""
        rows: list[Any] = await self.all(
            client=client, mode=None if self._mode != "models" else "dict"
        )
        return rows

    async def fetch_one(self, client: Any) -> Any | None:
        """The first row of ``fetch_all`` (with LIMIT 1), or None."""
        rows = await self.limit(1).fetch_all(client)
        return rows[0] if rows else None

    async def fetch_rows(self, client: Any) -> list[dict[str, Any]]:
        """The rows on ``client`` as dicts."""
        return await self.all(client=client, mode="dict")

    async def fetch_models(self, client: Any) -> list[M]:
        """The rows on ``client`` as model instances."""
        return cast("list[M]", await self.all(client=client, mode="models"))

    async def fetch_msgpack(self, client: Any) -> bytes:
        """The rows on ``client`` encoded as msgpack (see ``all(mode="msgpack")``)."""
        return await self.all(client=client, mode="msgpack")

    async def first(self, *, using: str | None = None, client: Any = None) -> M | None:
        """The first row in the query's ordering (the primary key when unordered)."""
        q = self
        if (
            not q._order
            and not q._meta.ordering
            and q._meta.pk is not None
            and not (q._agg is not None and _annotated.is_grouped(q))
        ):
            q = q.order_by(q._meta.pk.name)
        rows = await q.limit(1).all(using=using, client=client)
        return rows[0] if rows else None

    async def last(self, *, using: str | None = None, client: Any = None) -> M | None:
        """The last row: the query's ordering reversed (descending primary key when none)."""
        scope = self._scope()
        order = self._order_nodes(scope)
        if not order:
            if self._meta.pk is None or (self._agg is not None and _annotated.is_grouped(self)):
                raise ManagerError(
                    f"last() needs an ordering: {self._meta.model.__name__} has no pk, or "
                    "the query is grouped; call order_by() first"
                )
            order = (_order_item(scope, self._meta.pk.name),)
        q = self._with(scope)
        q._order = tuple((node, not desc) for node, desc in order)
        rows = await q.limit(1).all(using=using, client=client)
        return rows[0] if rows else None

    async def count(self, *, using: str | None = None, client: Any = None) -> int:
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return 0
        count_col: tuple[tuple[Node, str | None], ...] = ((("agg", "COUNT", None, False), "count"),)
        if (
            self._distinct
            or self._limit is not None
            or self._offset is not None
            or (self._agg is not None and _annotated.is_grouped(self))
        ):
            cols = (
                tuple((n, f"c{i}") for i, (_, n, _) in enumerate(self._fields))
                if self._fields
                else tuple((n, f"c{i}") for i, (n, _) in enumerate(self._model_cols()))
            )
            inner, values = self._select_ir(cols, order=False)
            node: Node = (
                "select", ("subquery", inner, "_sub"), count_col, None, (), None, (),
                None, None, False, None,
            )  # fmt: skip
        else:
            node, values = self._select_ir(count_col, order=False)
        rows = await _ex.fetch(ex, node, values)
        return int(rows[0][0])

    async def exists(self, *, using: str | None = None, client: Any = None) -> bool:
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return False
        scope = self._scope()
        one = scope.param("int", 1)
        q = self._with(scope)
        if self._agg is not None and _annotated.is_grouped(self):
            # whether any group passes HAVING: the groups are the rows of a derived table
            cols, _ = _annotated.derived_columns(q)
            inner, values = q._select_ir(cols, order=False)
            node: Node = (
                "select", ("subquery", inner, "_sub"), ((("lit", "1"), "one"),), None, (),
                None, (), one, None, False, None,
            )  # fmt: skip
            return bool(await _ex.fetch(ex, node, values))
        node, values = q._select_ir(((("lit", "1"), "one"),), order=False, limit=one)
        return bool(await _ex.fetch(ex, node, values))

    async def _aggregate_one(
        self, function: str, field: str, using: str | None, client: Any
    ) -> Any:
        # the aggregate() path: typed results, and it handles slices, groups, annotations
        # and unions
        expression = _annotated.aggregate_one(function, field)
        result = await self.aggregate(using=using, client=client, value=expression)
        return result["value"]

    async def sum(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("SUM", field, using, client)

    async def avg(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("AVG", field, using, client)

    async def max(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("MAX", field, using, client)

    async def min(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("MIN", field, using, client)

    async def aggregate(
        self, *, using: str | None = None, client: Any = None, **exprs: Expression
    ) -> dict[str, Any]:
        """Several aggregates over the matching rows in one statement, as a dict: over
        fields, relations (``Count("posts")``: the related rows of every matching row),
        annotations, or the groups of a grouped query."""
        if not exprs:
            raise TypeError("aggregate() needs at least one aggregate")
        ex = _ex.resolve_executor(using, client, self)
        return await _annotated.run_aggregate(self, ex, exprs)

    async def in_bulk(
        self,
        ids: Iterable[Any],
        *,
        field: str = "pk",
        using: str | None = None,
        client: Any = None,
    ) -> dict[Any, M]:
        """The matching rows whose unique ``field`` is in ``ids``, keyed by that value."""
        return await _in_bulk.in_bulk(self, ids, field, using, client)

    async def explain(
        self,
        *,
        analyze: bool = False,
        format: Literal["text", "json"] = "text",
        using: str | None = None,
        client: Any = None,
    ) -> Any:
        """The database's plan for this query."""
        ex = _ex.resolve_executor(using, client, self)
        cols = (
            self._model_cols()
            if self._fields is None
            else tuple((n, None) for _, n, _ in self._fields)
        )
        node, values = self._select_ir(cols)
        sql, params = render(node, values, ex.dialect)
        names, rows = await ex.fetch_described(
            explain_sql(sql, ex.dialect, analyze=analyze, format=format), params
        )
        return read_plan(ex.dialect, names, rows, format=format)

    async def iterator(
        self, *, chunk_size: int = 1000, using: str | None = None, client: Any = None
    ) -> AsyncIterator[M]:
        """Stream the rows in chunks without loading the whole result."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return
        if self._prefetch:
            _prefetching.ensure_models(self._mode, None)
        dialect = ex.dialect
        fields = self._fields
        cols = self._model_cols() if fields is None else tuple((n, None) for _, n, _ in fields)
        if fields is not None and self._mode == "models":
            cols += _annotated.output_columns(self)
        node, values = self._select_ir(cols)
        sql, params = render(node, values, dialect)
        # closed here, not whenever the garbage collector gets to it: a stream left open
        # keeps its connection busy (a prefetch that failed mid-stream, a break)
        stream = ex.stream(sql, params, chunk_size=chunk_size)
        async with contextlib.aclosing(cast("AsyncGenerator[list[Any], None]", stream)) as chunks:
            async for chunk in chunks:
                if fields is None or self._mode == "models":
                    items = await map_slices(self._model_loader(dialect), chunk)
                else:
                    items = await _shape(
                        self._mode,
                        tuple(f[0] for f in fields),
                        [f[2] for f in fields],
                        dialect,
                        chunk,
                        self._flat,
                    )
                if self._prefetch:
                    # per chunk: memory stays bounded by the chunk and its relations
                    await _prefetching.prefetch_related(ex, self, items)
                for item in items:
                    yield item

    # -- writing ---------------------------------------------------------------------------

    async def create(
        self, *, instance: M | None = None, using: str | None = None, client: Any = None,
        **data: Any,
    ) -> M:  # fmt: skip
        """Validate, insert and return a new instance (``pre_save``/``post_save`` run)."""
        if instance is not None and data:
            raise ManagerError("create() takes instance= or field values, not both")
        obj: Any = self.model(**data) if instance is None else instance
        ex = _ex.resolve_executor(using, client, self)
        if _advice_switch.on:
            _advice.created(self._meta, "create")
        await obj.pre_save(is_create=True, update_fields=None)
        await writes.insert_instance(ex, self._meta, obj)
        await obj.post_save(is_create=True, update_fields=None)
        return obj  # type: ignore[no-any-return]

    async def bulk_create(
        self,
        objects: Iterable[M | dict[str, Any]],
        *,
        batch_size: int | None = None,
        on_conflict: Sequence[str] | str | None = None,
        update_fields: Sequence[str] | None = None,
        ignore_conflicts: bool = False,
        using: str | None = None,
        client: Any = None,
    ) -> list[M]:
        """Insert many rows, all or nothing; primary keys are set on the instances.

        ``on_conflict`` (a unique key's fields) turns a conflicting row into an update of
        ``update_fields`` (default: every other inserted field); ``ignore_conflicts``
        leaves conflicting rows as they are. See ``oxyde/queries/upsert.py``.
        """
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError("batch_size must be a positive integer")
        meta = self._meta
        target = None
        if on_conflict is not None:
            target = _upsert.conflict_columns(meta, on_conflict, "on_conflict")
        update = None
        if update_fields is not None:
            if ignore_conflicts:
                raise ValueError("ignore_conflicts=True and update_fields cannot be combined")
            if target is None:
                raise ValueError(
                    "update_fields needs on_conflict=(the fields of the unique key that "
                    "decides a conflict)"
                )
            update = _upsert.update_columns(meta, update_fields, "update_fields")
        model = self.model
        # the exact class needs no call: the usual case, one check per object
        instances = [o if type(o) is model else _as_instance(model, o) for o in objects]
        if not instances:
            return []
        ex = _ex.resolve_executor(using, client, self)
        if target is None and not ignore_conflicts:
            await writes.bulk_insert(ex, meta, instances, batch_size)
        else:
            await _upsert.upsert_instances(
                ex, meta, instances, target=target, update=update,
                ignore=bool(ignore_conflicts), batch_size=batch_size,
            )  # fmt: skip
        return instances

    async def upsert(
        self,
        objects: Any,
        *,
        conflict: Sequence[str] | str | None = None,
        update: Sequence[str] | None = None,
        batch_size: int | None = None,
        using: str | None = None,
        client: Any = None,
    ) -> Any:
        """Insert, or update on a conflict: one instance (or dict), or an iterable of them.

        ``conflict`` names the unique key that decides a conflict (default: the primary
        key); ``update`` the fields a conflicting row takes from the new values (default:
        every inserted field but the key). Returns the instance, or the list; each holds
        the row that has its key in the database afterwards.
        """
        single = isinstance(objects, (self.model, dict))
        items = [objects] if single else list(objects)
        if conflict is None:
            if self._meta.pk is None:
                raise ManagerError(
                    f"upsert() needs conflict=...: {self._meta.model.__name__} has no primary key"
                )
            conflict = (self._meta.pk.name,)
        if update is None:
            result = await self.bulk_create(
                items, batch_size=batch_size, on_conflict=conflict, using=using, client=client
            )
        else:
            result = await self.bulk_create(
                items, batch_size=batch_size, on_conflict=conflict, update_fields=update,
                using=using, client=client,
            )  # fmt: skip
        return result[0] if single else result

    async def bulk_update(
        self,
        objects: Iterable[M],
        fields: Sequence[str],
        *,
        using: str | None = None,
        client: Any = None,
    ) -> int:
        """Write the given fields of every instance, all or nothing; returns rows changed."""
        instances = list(objects)
        if not fields:
            raise ValueError("bulk_update() needs at least one field")
        columns = [writes.update_column(self._meta, name) for name in fields]
        if not instances:
            return 0
        ex = _ex.resolve_executor(using, client, self)
        return await writes.bulk_update(ex, self._meta, instances, columns)

    @overload
    async def update(
        self, *, returning: Literal[False] = False, using: str | None = None,
        client: Any = None, **values: Any,
    ) -> int: ...  # fmt: skip
    @overload
    async def update(
        self, *, returning: Literal[True], using: str | None = None, client: Any = None,
        **values: Any,
    ) -> list[M]: ...  # fmt: skip
    @overload
    async def update(
        self, *, returning: bool, using: str | None = None, client: Any = None,
        **values: Any,
    ) -> int | list[M]: ...  # fmt: skip

    async def update(
        self, *, returning: bool = False, using: str | None = None, client: Any = None,
        **values: Any,
    ) -> Any:  # fmt: skip
        """Set fields on every matching row: the row count, or the rows with returning=True."""
        if not values:
            raise ManagerError("update() needs at least one field=value")
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return [] if returning else 0
        if self._agg is not None:
            _annotated.check_writable(self, "update")
        scope = self._scope()
        sets = writes.set_items(scope, self._meta, values)
        return await writes.update_rows(ex, self, scope, sets, returning=returning)

    async def increment(
        self, field: str, by: int | float | decimal.Decimal = 1, *, using: str | None = None,
        client: Any = None,
    ) -> int:  # fmt: skip
        """Add ``by`` to a numeric field of every matching row, in the database."""
        values: dict[str, Any] = {field: F(field) + by}
        return int(await self.update(using=using, client=client, **values))

    async def delete(self, *, using: str | None = None, client: Any = None) -> int:
        """Delete every matching row; returns how many."""
        ex = _ex.resolve_executor(using, client, self)
        if self._empty:
            return 0
        if self._agg is not None:
            _annotated.check_writable(self, "delete")
        return await writes.delete_rows(ex, self)

    async def get_or_create(
        self, *, defaults: dict[str, Any] | None = None, using: str | None = None,
        client: Any = None, **lookups: Any,
    ) -> tuple[M, bool]:  # fmt: skip
        """The matching row, or a new one from the lookups plus ``defaults``; race-safe."""
        return await writes.get_or_create(self, defaults, using, client, lookups)

    async def update_or_create(
        self, *, defaults: dict[str, Any] | None = None, using: str | None = None,
        client: Any = None, **lookups: Any,
    ) -> tuple[M, bool]:  # fmt: skip
        """Update the matching row with ``defaults``, or create it; race-safe."""
        return await writes.update_or_create(self, defaults, using, client, lookups)

    # -- introspection ----------------------------------------------------------------------

    def _statement(self) -> tuple[Node, tuple[Any, ...]]:
        cols = (
            self._model_cols()
            if self._fields is None
            else tuple((n, None) for _, n, _ in self._fields)
        )
        if self._fields is not None and self._mode == "models":
            cols += _annotated.output_columns(self)
        return self._select_ir(cols)

    def sql(self, dialect: str = "postgres", *, with_types: bool = False) -> tuple[str, list[Any]]:
        """The SQL text and parameters this query would run on ``dialect``."""
        d = get_dialect(dialect)
        node, values = self._statement()
        sql, params = render(node, values, d)
        if with_types:
            kinds: list[str] = []
            for idx, kind, mode in compile_statement(node, d).plan:
                # an expanded IN list (mode 1) binds one parameter per item
                kinds.extend([kind] * (len(values[idx]) if mode == 1 else 1))
            return sql, list(zip(kinds, params, strict=True))
        return sql, params

    def to_ir(self) -> dict[str, Any]:
        """The query as plain data: its statement tree and its values."""
        node, values = self._statement()
        model = self._meta.model
        return {
            "proto": 1,
            "model": f"{model.__module__}.{model.__qualname__}",
            "table": self._meta.table_name,
            "mode": self._mode,
            "ir": node,
            "values": list(values),
        }

    def query(self) -> dict[str, Any]:
        return self.to_ir()

    def __repr__(self) -> str:
        sql, _ = self.sql("sqlite")
        return f"<Query {self._meta.model.__name__}: {sql}>"


# -- helpers ---------------------------------------------------------------------------------


def _slot_copier(cls: type[Query[Any]]) -> Any:
    """``copy(src, dst)`` assigning every slot of ``cls``, as straight-line code: a loop of
    getattr/setattr costs several times more, and every builder call clones."""
    body = "".join(f"    dst.{name} = src.{name}\n" for name in cls.__slots__)
    namespace: dict[str, Any] = {}
    exec(f"def copy(src, dst):\n{body}", namespace)
    return namespace["copy"]


_copy_slots = _slot_copier(Query)

_model_cols_cache: dict[ModelMeta, tuple[tuple[Node, str | None], ...]] = {}


def _model_columns(meta: ModelMeta) -> tuple[tuple[Node, str | None], ...]:
    cols = _model_cols_cache.get(meta)
    if cols is None:
        table = meta.table_name
        cols = tuple((("col", table, c.column), None) for c in meta.columns.values())
        _model_cols_cache[meta] = cols
    return cols


def _join_path(scope: Scope, path: str) -> list[Join]:
    """The joins along ``a__b__c``, each a forward foreign key."""
    meta = scope.meta
    alias = scope.alias
    prefix = ""
    joins: list[Join] = []
    for name in path.split("__"):
        fk = meta.foreign_keys.get(name)
        if fk is None:
            if name in meta.reverse:
                raise FieldLookupError(
                    f"join() follows forward foreign keys; {meta.model.__name__}.{name} is a "
                    "reverse or many-to-many relation: load it with prefetch()"
                )
            valid = ", ".join(sorted(meta.foreign_keys)) or "none"
            raise FieldLookupError(
                f"{meta.model.__name__} has no foreign key {name!r} (in join({path!r})); "
                f"foreign keys: {valid}"
            )
        join = scope.join_for(alias, prefix, fk)
        joins.append(join)
        meta, alias, prefix = join.meta, join.alias, join.path
    return joins


def _non_negative(what: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what}() takes an int, got {n!r}")
    if n < 0:
        raise ValueError(f"{what}() cannot be negative, got {n}")
    return n


def _order_item(scope: Scope, name: str | Expression | OrderBy) -> tuple[Node, bool]:
    if isinstance(name, (Expression, OrderBy)):
        return _annotated.order_expression(scope, name)
    if not isinstance(name, str) or not name:
        raise FieldError(f"order_by() takes field names or expressions, got {name!r}")
    if name == "?":
        return _RANDOM, False
    desc = name.startswith("-")
    node, _ = field_expr(scope, name[1:] if desc else name)
    return node, desc


def _as_instance(model: Any, obj: Any) -> Any:
    if isinstance(obj, model):
        return obj
    if isinstance(obj, dict):
        return model(**obj)
    raise TypeError(
        f"bulk_create() takes {model.__name__} instances or dicts, got {type(obj).__name__}"
    )


def not_found(model: type[Any]) -> NotFoundError:
    return NotFoundError(f"{model.__name__} matching query does not exist")


def only_row(model: type[Any], rows: list[Any]) -> Any:
    """The one row ``get()`` found (fetched with LIMIT 2): ``NotFoundError`` when there is
    none, ``MultipleObjectsReturned`` when there are more."""
    if not rows:
        raise not_found(model)
    if len(rows) > 1:
        raise MultipleObjectsReturned(f"get() returned more than one {model.__name__}")
    return rows[0]


def _shaper(
    mode: str,
    names: tuple[str, ...],
    columns: Sequence[Column],
    dialect: Dialect,
    flat: bool,
) -> Callable[[list[Any]], Any]:
    """rows -> the result in ``mode`` (dicts, tuples or scalars: one item per row;
    msgpack: the bytes of the rows as one array)."""
    convs = tuple(_annotated.result_converter(c, dialect) for c in columns)
    rowload = _impl.rowload
    if mode == "dict":
        return functools.partial(rowload.load_dicts, names, convs)
    if mode == "list":
        if flat:
            return functools.partial(rowload.load_scalars, convs[0])
        return functools.partial(rowload.load_tuples, convs)
    if mode == "msgpack":
        # msgpack's own encoder: a hand-written one in rowload saved under 20% of this
        # path's instructions compiled and cost more pure (docs/speedups.md)
        load_dicts = rowload.load_dicts
        pack_rows = _protocol.pack_rows
        return lambda part: pack_rows(load_dicts(names, convs, part))
    if mode == "models":
        raise ManagerError("mode='models' needs a query without values()/values_list()")
    raise ValueError(f"unknown mode {mode!r}; valid modes: models, dict, list, msgpack")


async def _shape(
    mode: str,
    names: tuple[str, ...],
    columns: Sequence[Column],
    dialect: Dialect,
    rows: list[Any],
    flat: bool,
) -> Any:
    shape = _shaper(mode, names, columns, dialect, flat)
    if mode == "msgpack":
        return await _packed_in_slices(shape, rows)
    return await map_slices(shape, rows)


async def _shape_annotated(
    query: Query[Any],
    mode: str,
    names: tuple[str, ...],
    columns: list[Any],
    dialect: Dialect,
    rows: list[Any],
) -> Any:
    """``_shape`` for model rows with annotations (``all(mode="dict")`` after
    ``annotate()``): the annotation columns are picked out of each slice of rows."""
    all_names, all_columns, _ = _annotated.with_annotations(query, names, columns, [])
    shape = _shaper(mode, all_names, all_columns, dialect, False)

    def picked(part: list[Any]) -> Any:
        return shape(_annotated.with_annotations(query, names, columns, part)[2])

    if mode == "msgpack":
        return await _packed_in_slices(picked, rows)
    return await map_slices(picked, rows)


async def _packed_in_slices(pack: Callable[[list[Any]], bytes], rows: list[Any]) -> bytes:
    """msgpack bytes of all ``rows`` as one array, packed a slice at a time: each slice's
    array header is dropped and one for the whole result put in front."""
    n = len(rows)
    if not _slicing.large(n):
        return pack(rows)
    parts: list[bytes | memoryview] = [_msgpack_array_header(n)]

    def step(start: int, stop: int) -> None:
        part = pack(rows[start:stop])
        parts.append(memoryview(part)[_MSGPACK_ARRAY_HEADER[part[0]] :])

    await _slicing.run_slices(n, step)
    return b"".join(parts)


#: the size of a msgpack array header by its first byte (fixarray, array 16, array 32)
_MSGPACK_ARRAY_HEADER: Final = {**{0x90 + i: 1 for i in range(16)}, 0xDC: 3, 0xDD: 5}


def _msgpack_array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 + n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _load_partial(
    meta: ModelMeta, dialect: Dialect, fields: Sequence[tuple[str, Node, Column]], rows: list[Any]
) -> list[Any]:
    """Instances from a ``select()`` projection: unselected fields take their defaults."""
    names = tuple(f[2].name for f in fields)
    convs = tuple(column_converter(f[2], dialect) for f in fields)
    construct = meta.model.model_construct
    instances = [
        construct(_fields_set=set(d), **d) for d in _impl.rowload.load_dicts(names, convs, rows)
    ]
    forget_relations(meta, instances)
    return instances


def convert_aggregate(
    function: str, kind: str, column: Column | None, dialect: Dialect, value: Any
) -> Any:
    """Aggregates come back as the Python type a user expects (never NUMERIC strings)."""
    if value is None:
        return None
    if function == "COUNT":
        return int(value)
    if function == "AVG":
        if column is not None and column.kind == "decimal":
            return _to_decimal(value)
        return float(value)
    if function == "SUM":
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "decimal":
            return _to_decimal(value)
    if column is not None:
        conv = column_converter(column, dialect)
    else:
        conv = kind_converter(kind, dialect)
    return conv(value) if conv is not None else value


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    return decimal.Decimal(str(value))


__all__ = ["Query"]
