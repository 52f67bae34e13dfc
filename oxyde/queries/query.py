"""``Query``: the immutable, lazy query builder and its awaitable terminals.

Each builder call returns a new ``Query``; nothing touches a database until a terminal
is awaited. User-supplied names are resolved against the model when the builder is
called (``oxyde/queries/resolve.py``), so a typo fails at ``filter()``, not at the
database. A query keeps its IR parts and its bound values apart; a terminal assembles
the statement node, and ``oxyde/queries/executor.py`` compiles (cached by shape) and
runs it.
"""

from __future__ import annotations

import decimal
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from oxyde import _impl
from oxyde.exceptions import (
    FieldError,
    FieldLookupError,
    ManagerError,
    MultipleObjectsReturned,
    NotFoundError,
)
from oxyde.models.metadata import Column, ModelMeta
from oxyde.queries import executor as _ex
from oxyde.queries import writes
from oxyde.queries.expressions import Aggregate, F, Q
from oxyde.queries.resolve import (
    Join,
    Scope,
    expr_kind,
    field_expr,
    filter_condition,
    resolve_expr,
)
from oxyde.queries.rowplan import column_converter, kind_converter, load_models
from oxyde.sql.dialects.base import Dialect

if TYPE_CHECKING:
    from oxyde.backends.base import Executor

M = TypeVar("M")
Node = tuple[Any, ...]

Mode = Literal["models", "dict", "list", "msgpack"]

_RANDOM: Node = ("random",)


def _meta_of(model: Any) -> ModelMeta:
    from oxyde.models.registry import get_meta

    return get_meta(model)


class Query(Generic[M]):
    """A lazy, immutable query over one table model."""

    __slots__ = (
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
        "_related",
        "_values",
        "_where",
        "model",
    )

    def __init__(self, model: type[M]) -> None:
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
        #: "models", "dict", "list" or "flat"
        self._mode = "models"
        #: values()/values_list()/select(): tuple of (name, expr node, converter)
        self._fields: tuple[tuple[str, Node, Any], ...] | None = None
        self._flat = False
        self._empty = False
        #: join(): the FK paths whose related models are loaded with the rows
        self._related: tuple[Join, ...] = ()

    # -- cloning ----------------------------------------------------------------------

    def _clone(self) -> Query[M]:
        q: Query[M] = object.__new__(type(self))
        for slot in Query.__slots__:
            object.__setattr__(q, slot, getattr(self, slot))
        return q

    def _scope(self) -> Scope:
        return Scope(self._meta, self._values, self._joins)

    def _with(self, scope: Scope) -> Query[M]:
        q = self._clone()
        q._values = tuple(scope.values)
        q._joins = tuple(scope.joins.values())
        return q

    # -- builders ---------------------------------------------------------------------

    def filter(self, *args: Q, **lookups: Any) -> Query[M]:
        """Rows matching every lookup (``age__gte=18``) and ``Q`` tree."""
        scope = self._scope()
        cond = filter_condition(scope, args, lookups)
        q = self._with(scope)
        if cond is not None:
            q._where = (*self._where, cond)
        return q

    def exclude(self, *args: Q, **lookups: Any) -> Query[M]:
        """Rows that do not match the lookups taken together."""
        scope = self._scope()
        cond = filter_condition(scope, args, lookups)
        q = self._with(scope)
        if cond is not None:
            q._where = (*self._where, ("not", cond))
        return q

    def order_by(self, *fields: str) -> Query[M]:
        """Order by fields (``"-f"`` descending, ``"?"`` random); replaces earlier ordering."""
        scope = self._scope()
        order = tuple(_order_item(scope, f) for f in fields)
        q = self._with(scope)
        q._order = order
        return q

    def limit(self, n: int) -> Query[M]:
        scope = self._scope()
        node = scope.param("int", _non_negative("limit", n))
        q = self._with(scope)
        q._limit = node
        return q

    def offset(self, n: int) -> Query[M]:
        scope = self._scope()
        node = scope.param("int", _non_negative("offset", n))
        q = self._with(scope)
        q._offset = node
        return q

    def __getitem__(self, key: slice | int) -> Query[M]:
        if isinstance(key, int) and not isinstance(key, bool):
            if key < 0:
                raise ValueError("negative indexing is not supported")
            return self.offset(key).limit(1)
        if not isinstance(key, slice):
            raise TypeError(f"queries are sliced with ints, got {type(key).__name__}")
        if key.step not in (None, 1):
            raise ValueError("slicing with a step is not supported")
        start = key.start or 0
        if start < 0 or (key.stop is not None and key.stop < 0):
            raise ValueError("negative slicing is not supported")
        q = self.offset(start) if start else self
        if key.stop is not None:
            q = q.limit(max(0, key.stop - start))
        return q

    def distinct(self, distinct: bool = True) -> Query[M]:
        q = self._clone()
        q._distinct = bool(distinct)
        return q

    def values(self, *fields: str) -> Query[Any]:
        """Rows as dicts of the given fields (every column when none is given)."""
        return self._project("dict", fields)

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
            fields = tuple(self._meta.columns)
        for name in fields:
            if not isinstance(name, str):
                raise TypeError(f"field names must be strings, got {name!r}")
            node, column = field_expr(scope, name)
            if mode == "models" and "__" in name:
                raise FieldError(f"select() takes fields of {self._meta.model.__name__} only")
            dialect_free.append((name, node, column))
        q = self._with(scope)
        q._mode = mode
        q._fields = tuple(dialect_free)
        q._flat = False
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

    def none(self) -> Query[M]:
        """A query that matches nothing and never touches the database."""
        q = self._clone()
        q._empty = True
        return q

    # -- IR assembly --------------------------------------------------------------------

    def _where_node(self) -> Node | None:
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
        return tuple(_order_item(scope, f) for f in self._meta.ordering)

    def _select_ir(
        self,
        cols: tuple[tuple[Node, str | None], ...],
        *,
        order: bool = True,
        limit: Node | Literal[False] | None = False,
    ) -> tuple[Node, tuple[Any, ...]]:
        """The SELECT node with this query's filters, and the values it refers to."""
        scope = self._scope()
        order_nodes = self._order_nodes(scope) if order else ()
        lim = self._limit if limit is False else limit
        node = (
            "select",
            self._source(scope.joins.values()),
            cols,
            self._where_node(),
            (),
            None,
            order_nodes,
            lim,
            self._offset,
            self._distinct,
            self._lock,
        )
        return node, tuple(scope.values)

    def _model_cols(self) -> tuple[tuple[Node, str | None], ...]:
        cols = _model_columns(self._meta)
        for join in self._related:
            cols += tuple((("col", join.alias, c.column), None) for c in join.meta.columns.values())
        return cols

    # -- reading --------------------------------------------------------------------------

    async def all(
        self,
        *,
        mode: Mode | None = None,
        using: str | None = None,
        client: Any = None,
    ) -> list[Any] | Any:
        """Every matching row: models, or dicts/tuples after ``values()``/``values_list()``.

        ``mode`` overrides the result form: ``"models"``, ``"dict"``, ``"list"`` or
        ``"msgpack"`` (bytes of the rows as a list of maps).
        """
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return b"\x90" if mode == "msgpack" else []
        return await self._fetch_all(ex, mode)

    async def _fetch_all(self, ex: Executor, mode: str | None, limit: Any = False) -> Any:
        dialect = ex.dialect
        fields = self._fields
        if fields is None or (self._mode == "models" and mode in (None, "models")):
            if fields is None:
                cols = self._model_cols()
            else:
                cols = tuple((node, None) for _, node, _ in fields)
            node, values = self._select_ir(cols, limit=limit)
            rows = await _ex.fetch(ex, node, values)
            if mode in (None, "models"):
                if fields is None:
                    if self._related:
                        return _load_joined(self._meta, self._related, dialect, rows)
                    return load_models(self._meta, dialect, rows)
                return _load_partial(self._meta, dialect, fields, rows)
            names = tuple(self._meta.columns) if fields is None else tuple(f[0] for f in fields)
            columns = (
                list(self._meta.columns.values()) if fields is None else [f[2] for f in fields]
            )
            return _shape(mode, names, columns, dialect, rows, False)
        cols = tuple((node, None) for _, node, _ in fields)
        node, values = self._select_ir(cols, limit=limit)
        rows = await _ex.fetch(ex, node, values)
        names = tuple(f[0] for f in fields)
        columns = [f[2] for f in fields]
        effective = mode or self._mode
        return _shape(effective, names, columns, dialect, rows, self._flat and mode is None)

    async def get(self, *, using: str | None = None, client: Any = None, **lookups: Any) -> Any:
        """The one row matching; ``NotFoundError`` or ``MultipleObjectsReturned`` otherwise."""
        q = self.filter(**lookups) if lookups else self
        ex = _ex.resolve_executor(using, client)
        if q._empty:
            raise NotFoundError(f"{self._meta.model.__name__} matching query does not exist")
        scope = q._scope()
        two = scope.param("int", 2)
        q = q._with(scope)
        rows = await q._fetch_all(ex, None, limit=two)
        if not rows:
            raise NotFoundError(f"{self._meta.model.__name__} matching query does not exist")
        if len(rows) > 1:
            raise MultipleObjectsReturned(
                f"get() returned more than one {self._meta.model.__name__}"
            )
        return rows[0]

    async def get_or_none(
        self, *, using: str | None = None, client: Any = None, **lookups: Any
    ) -> Any:
        try:
            return await self.get(using=using, client=client, **lookups)
        except NotFoundError:
            return None

    async def first(self, *, using: str | None = None, client: Any = None) -> Any:
        """The first row in the query's ordering (the primary key when unordered)."""
        q = self
        if not q._order and not q._meta.ordering and q._meta.pk is not None:
            q = q.order_by(q._meta.pk.name)
        rows = await q.limit(1).all(using=using, client=client)
        return rows[0] if rows else None

    async def last(self, *, using: str | None = None, client: Any = None) -> Any:
        """The last row: the query's ordering reversed (descending primary key when none)."""
        scope = self._scope()
        order = self._order_nodes(scope)
        if not order:
            if self._meta.pk is None:
                raise ManagerError(
                    f"last() needs an ordering: {self._meta.model.__name__} has no pk"
                )
            order = (_order_item(scope, self._meta.pk.name),)
        q = self._with(scope)
        q._order = tuple((node, not desc) for node, desc in order)
        rows = await q.limit(1).all(using=using, client=client)
        return rows[0] if rows else None

    async def count(self, *, using: str | None = None, client: Any = None) -> int:
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return 0
        count_col: tuple[tuple[Node, str | None], ...] = ((("agg", "COUNT", None, False), "count"),)
        if self._distinct or self._limit is not None or self._offset is not None:
            cols = (
                tuple((n, f"c{i}") for i, (_, n, _) in enumerate(self._fields))
                if self._fields
                else self._model_cols()
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
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return False
        scope = self._scope()
        one = scope.param("int", 1)
        q = self._with(scope)
        node, values = q._select_ir(((("lit", "1"), "one"),), order=False, limit=one)
        return bool(await _ex.fetch(ex, node, values))

    async def _aggregate_one(
        self, function: str, field: str, using: str | None, client: Any
    ) -> Any:
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return None
        scope = self._scope()
        expr, column = field_expr(scope, field)
        q = self._with(scope)
        node, values = q._select_ir(((("agg", function, expr, False), "value"),), order=False)
        if self._limit is not None or self._offset is not None:
            inner, values = q._select_ir(((expr, "value"),))
            node = (
                "select", ("subquery", inner, "_sub"),
                ((("agg", function, ("col", "_sub", "value"), False), "value"),),
                None, (), None, (), None, None, False, None,
            )  # fmt: skip
        rows = await _ex.fetch(ex, node, values)
        value = rows[0][0] if rows else None
        return convert_aggregate(function, column.kind, column, ex.dialect, value)

    async def sum(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("SUM", field, using, client)

    async def avg(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("AVG", field, using, client)

    async def max(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("MAX", field, using, client)

    async def min(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await self._aggregate_one("MIN", field, using, client)

    async def aggregate(
        self, *, using: str | None = None, client: Any = None, **exprs: Aggregate
    ) -> dict[str, Any]:
        """Several aggregates over the matching rows in one query, as a dict."""
        if not exprs:
            raise TypeError("aggregate() needs at least one aggregate")
        ex = _ex.resolve_executor(using, client)
        scope = self._scope()
        cols: list[tuple[Node, str | None]] = []
        kinds: list[tuple[str, str, Column | None]] = []
        for alias, agg in exprs.items():
            if not isinstance(agg, Aggregate):
                raise TypeError(f"aggregate({alias}=...) takes Count/Sum/Avg/Max/Min")
            cols.append((resolve_expr(scope, agg), alias))
            column = None if agg.field == "*" else field_expr(scope, agg.field)[1]
            kinds.append((agg.function, expr_kind(scope, agg), column))
        q = self._with(scope)
        node, values = q._select_ir(tuple(cols), order=False)
        rows = await _ex.fetch(ex, node, values)
        row = rows[0] if rows else (None,) * len(cols)
        return {
            alias: convert_aggregate(fn, kind, column, ex.dialect, value)
            for (alias, _), (fn, kind, column), value in zip(exprs.items(), kinds, row, strict=True)
        }

    async def explain(
        self,
        *,
        analyze: bool = False,
        format: Literal["text", "json"] = "text",
        using: str | None = None,
        client: Any = None,
    ) -> Any:
        """The database's plan for this query."""
        from oxyde.sql.dialects.explain import explain_sql, read_plan

        ex = _ex.resolve_executor(using, client)
        cols = (
            self._model_cols()
            if self._fields is None
            else tuple((n, None) for _, n, _ in self._fields)
        )
        node, values = self._select_ir(cols)
        sql, params = _ex.prepare(node, values, ex.dialect)
        names, rows = await ex.fetch_described(
            explain_sql(sql, ex.dialect, analyze=analyze, format=format), params
        )
        return read_plan(ex.dialect, names, rows, format=format)

    async def iterator(
        self, *, chunk_size: int = 1000, using: str | None = None, client: Any = None
    ) -> AsyncIterator[Any]:
        """Stream the rows in chunks without loading the whole result."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return
        dialect = ex.dialect
        fields = self._fields
        cols = self._model_cols() if fields is None else tuple((n, None) for _, n, _ in fields)
        node, values = self._select_ir(cols)
        sql, params = _ex.prepare(node, values, dialect)
        async for chunk in ex.stream(sql, params, chunk_size=chunk_size):
            if fields is None and self._related:
                items = _load_joined(self._meta, self._related, dialect, chunk)
            elif fields is None:
                items = load_models(self._meta, dialect, chunk)
            elif self._mode == "models":
                items = _load_partial(self._meta, dialect, fields, chunk)
            else:
                items = _shape(
                    self._mode,
                    tuple(f[0] for f in fields),
                    [f[2] for f in fields],
                    dialect,
                    chunk,
                    self._flat,
                )
            for item in items:
                yield item

    # -- writing ---------------------------------------------------------------------------

    async def create(
        self, *, instance: Any = None, using: str | None = None, client: Any = None, **data: Any
    ) -> Any:
        """Validate, insert and return a new instance (``pre_save``/``post_save`` run)."""
        if instance is not None and data:
            raise ManagerError("create() takes instance= or field values, not both")
        if instance is None:
            instance = self.model(**data)
        ex = _ex.resolve_executor(using, client)
        await instance.pre_save(is_create=True, update_fields=None)
        await writes.insert_instance(ex, self._meta, instance)
        await instance.post_save(is_create=True, update_fields=None)
        return instance

    async def bulk_create(
        self,
        objects: Iterable[Any],
        *,
        batch_size: int | None = None,
        using: str | None = None,
        client: Any = None,
    ) -> list[Any]:
        """Insert many rows, all or nothing; primary keys are set on the instances."""
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError("batch_size must be a positive integer")
        instances = [_as_instance(self.model, o) for o in objects]
        if not instances:
            return []
        ex = _ex.resolve_executor(using, client)
        await writes.bulk_insert(ex, self._meta, instances, batch_size)
        return instances

    async def bulk_update(
        self,
        objects: Iterable[Any],
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
        ex = _ex.resolve_executor(using, client)
        return await writes.bulk_update(ex, self._meta, instances, columns)

    async def update(
        self, *, returning: bool = False, using: str | None = None, client: Any = None,
        **values: Any,
    ) -> Any:  # fmt: skip
        """Set fields on every matching row: the row count, or the rows with returning=True."""
        if not values:
            raise ManagerError("update() needs at least one field=value")
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return [] if returning else 0
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
        ex = _ex.resolve_executor(using, client)
        if self._empty:
            return 0
        return await writes.delete_rows(ex, self)

    async def get_or_create(
        self, *, defaults: dict[str, Any] | None = None, using: str | None = None,
        client: Any = None, **lookups: Any,
    ) -> tuple[Any, bool]:  # fmt: skip
        """The matching row, or a new one from the lookups plus ``defaults``; race-safe."""
        return await writes.get_or_create(self, defaults, using, client, lookups)

    async def update_or_create(
        self, *, defaults: dict[str, Any] | None = None, using: str | None = None,
        client: Any = None, **lookups: Any,
    ) -> tuple[Any, bool]:  # fmt: skip
        """Update the matching row with ``defaults``, or create it; race-safe."""
        return await writes.update_or_create(self, defaults, using, client, lookups)

    # -- introspection ----------------------------------------------------------------------

    def _statement(self) -> tuple[Node, tuple[Any, ...]]:
        cols = (
            self._model_cols()
            if self._fields is None
            else tuple((n, None) for _, n, _ in self._fields)
        )
        return self._select_ir(cols)

    def sql(self, dialect: str = "postgres", *, with_types: bool = False) -> tuple[str, list[Any]]:
        """The SQL text and parameters this query would run on ``dialect``."""
        from oxyde.sql.dialects import get_dialect

        d = get_dialect(dialect)
        node, values = self._statement()
        sql, params = _ex.prepare(node, values, d)
        if with_types:
            from oxyde.sql.compiler import compile_statement

            kinds = [entry[1] for entry in compile_statement(node, d).plan]
            return sql, list(zip(kinds, params, strict=False))
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


def _load_joined(
    meta: ModelMeta, related: tuple[Join, ...], dialect: Dialect, rows: list[Any]
) -> list[Any]:
    """Split each joined row into the model and its related models, and link them."""
    width = len(meta.columns)
    base = load_models(meta, dialect, [row[:width] for row in rows])
    loaded: dict[str, list[Any]] = {"": base}
    start = width
    for join in related:
        jm = join.meta
        end = start + len(jm.columns)
        pk_pos = start + list(jm.columns).index(jm.pk.name) if jm.pk is not None else start
        present = [row[pk_pos] is not None for row in rows]
        instances = load_models(
            jm, dialect, [row[start:end] for row, ok in zip(rows, present, strict=True) if ok]
        )
        it = iter(instances)
        column = [next(it) if ok else None for ok in present]
        loaded[join.path] = column
        parent_path, _, name = join.path.rpartition("__")
        for parent, child in zip(loaded[parent_path], column, strict=True):
            if parent is not None:
                parent.__dict__[name] = child
                parent.__pydantic_fields_set__.add(name)
        start = end
    return base


def _non_negative(what: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what}() takes an int, got {n!r}")
    if n < 0:
        raise ValueError(f"{what}() cannot be negative, got {n}")
    return n


def _order_item(scope: Scope, name: str) -> tuple[Node, bool]:
    if not isinstance(name, str) or not name:
        raise FieldError(f"order_by() takes field names, got {name!r}")
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


def _shape(
    mode: str,
    names: tuple[str, ...],
    columns: Sequence[Column],
    dialect: Dialect,
    rows: list[Any],
    flat: bool,
) -> Any:
    convs = tuple(column_converter(c, dialect) for c in columns)
    rowload = _impl.rowload
    if mode == "dict":
        return rowload.load_dicts(names, convs, rows)
    if mode == "list":
        if flat:
            return rowload.load_scalars(convs[0], rows)
        return rowload.load_tuples(convs, rows)
    if mode == "msgpack":
        from oxyde._protocol import pack_rows

        return pack_rows(rowload.load_dicts(names, convs, rows))
    if mode == "models":
        raise ManagerError("mode='models' needs a query without values()/values_list()")
    raise ValueError(f"unknown mode {mode!r}; valid modes: models, dict, list, msgpack")


def _load_partial(
    meta: ModelMeta, dialect: Dialect, fields: Sequence[tuple[str, Node, Column]], rows: list[Any]
) -> list[Any]:
    """Instances from a ``select()`` projection: unselected fields take their defaults."""
    names = tuple(f[2].name for f in fields)
    convs = tuple(column_converter(f[2], dialect) for f in fields)
    construct = meta.model.model_construct
    return [
        construct(_fields_set=set(d), **d) for d in _impl.rowload.load_dicts(names, convs, rows)
    ]


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
