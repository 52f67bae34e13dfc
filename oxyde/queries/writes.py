"""Writes: INSERT of instances (one or many), UPDATE and DELETE of query results.

Which columns an INSERT carries is decided here, once per instance: the auto-numbered
primary key is left to the database while unset, and a column with a ``db_default`` is
left out while the user has not set it, so the database default applies. Rows of one
``bulk_create`` may therefore carry different columns; they are grouped by column set
and every group runs inside one transaction.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from oxyde import _impl
from oxyde._slicing import large, map_slices
from oxyde.backends.base import can_copy
from oxyde.backends.commit_point import finish_past_commit_point
from oxyde.exceptions import FieldError, IntegrityError, ManagerError, NotFoundError
from oxyde.meta.metadata import Column, ModelMeta
from oxyde.queries import executor as _ex
from oxyde.queries.expressions import Expression
from oxyde.queries.resolve import Scope, coerce, resolve_expr
from oxyde.queries.rowplan import column_converter, load_models
from oxyde.sql.compiler import compile_statement

if TYPE_CHECKING:
    from oxyde.backends.base import Executor
    from oxyde.queries.query import Query
    from oxyde.sql.dialects.base import Dialect

Node = tuple[Any, ...]

#: rows per INSERT statement unless the caller says otherwise, further capped so that
#: one statement stays under the dialect's ``max_params`` (``Dialect.per_statement``)
_DEFAULT_BATCH = 1000


def _insert_columns(meta: ModelMeta, instance: Any) -> list[Column]:
    """The columns an INSERT of ``instance`` sends: all but an unset auto-increment key
    and the columns with a database default the instance did not set."""
    data = instance.__dict__
    omissible = _omissible_columns(meta)
    if not omissible:
        return list(meta.columns.values())
    fields_set = instance.__pydantic_fields_set__
    cols = []
    for column in meta.columns.values():
        if column in omissible:
            if column.auto_increment and data.get(column.name) is None:
                continue
            if column.db_default is not None and column.name not in fields_set:
                continue
        cols.append(column)
    return cols


_omissible: dict[ModelMeta, frozenset[Column]] = {}
#: per model, (name, auto_increment, has a database default) of each omissible column
_omission_rules: dict[ModelMeta, tuple[tuple[str, bool, bool], ...]] = {}


def _omission_rules_of(meta: ModelMeta) -> tuple[tuple[str, bool, bool], ...]:
    found = _omission_rules.get(meta)
    if found is None:
        found = tuple(
            (c.name, c.auto_increment, c.db_default is not None)
            for c in meta.columns.values()
            if c in _omissible_columns(meta)
        )
        _omission_rules[meta] = found
    return found


def _columns_without(meta: ModelMeta, omitted: set[str]) -> list[Column]:
    return [c for c in meta.columns.values() if c.name not in omitted]


def _omissible_columns(meta: ModelMeta) -> frozenset[Column]:
    """The columns an INSERT may leave out (auto-increment or with a database default)."""
    found = _omissible.get(meta)
    if found is None:
        found = frozenset(
            c for c in meta.columns.values() if c.auto_increment or c.db_default is not None
        )
        _omissible[meta] = found
    return found


def _sync_fk_ids(meta: ModelMeta, instance: Any) -> None:
    """``post.author = author`` before saving also sets ``post.author_id``."""
    data = instance.__dict__
    for fk in meta.foreign_keys.values():
        related = data.get(fk.name)
        if related is not None and data.get(fk.field_name) is None:
            key = getattr(related, fk.target_field, None)
            if key is not None:
                data[fk.field_name] = key


def _insert_node(
    meta: ModelMeta, cols: list[Column], nrows: int, returning: tuple[str, ...] | None
) -> Node:
    return (
        "insert",
        meta.table_name,
        meta.schema,
        tuple(c.column for c in cols),
        tuple(c.kind for c in cols),
        nrows,
        returning,
        None,
    )


def _all_columns(meta: ModelMeta) -> tuple[str, ...]:
    return tuple(c.column for c in meta.columns.values())


def _apply_row(meta: ModelMeta, ex: Executor, instance: Any, row: Any) -> None:
    """Copy a RETURNING row (every column, in meta order) onto the instance."""
    _apply_one(meta, ex.dialect, instance, row, tuple(meta.columns.values()))


#: Kinds whose value reads back exactly as it was sent, on every backend, when the field
#: holds that very type and the column has the kind's own DDL type.
_EXACT_KINDS: dict[str, type] = {"int": int, "str": str, "bool": bool}
_returned: dict[tuple[ModelMeta, tuple[str, ...]], tuple[Column, ...]] = {}
#: kinds whose converted values may be mutable (each instance needs its own)
_MUTABLE_KINDS = frozenset({"json", "array", "any"})


def _returned_columns(meta: ModelMeta, cols: list[Column]) -> tuple[Column, ...]:
    """What a bulk INSERT sending ``cols`` reads back: every column, except sent ones
    whose value cannot come back different from what the instance holds (RETURNING a
    column is not free: on SQLite it costs about as much as inserting it)."""
    key = (meta, tuple(c.name for c in cols))
    found = _returned.get(key)
    if found is None:
        sent = set(key[1])
        found = tuple(
            c
            for c in meta.columns.values()
            if c.name not in sent
            or c.primary_key
            or c.db_type is not None
            or _EXACT_KINDS.get(c.kind) is not c.python_type
        )
        _returned[key] = found
    return found


def _apply_rows(
    meta: ModelMeta,
    ex: Executor,
    instances: list[Any],
    rows: list[Any],
    columns: tuple[Column, ...] | None = None,
) -> None:
    """``_apply_row`` for each instance and its row, converters looked up once; the rows
    hold ``columns`` (default: every column) in meta order. Every column counts as set."""
    if columns is None:
        columns = tuple(meta.columns.values())
    names, convs, shared = _returned_plan(meta, columns, ex.dialect)
    _impl.rowload.apply_returned(instances, names, convs, shared, rows, _column_names(meta))


_ReturnedPlan = tuple[tuple[str, ...], tuple[Any, ...], tuple[bool, ...]]
#: (model, columns, dialect) -> (names, converters, shared) for ``apply_returned``
_returned_plans: dict[tuple[Any, ...], _ReturnedPlan] = {}


def _returned_plan(meta: ModelMeta, columns: tuple[Column, ...], dialect: Dialect) -> _ReturnedPlan:
    key = (meta, columns, dialect)
    found = _returned_plans.get(key)
    if found is None:
        convs = tuple(column_converter(c, dialect) for c in columns)
        found = (
            tuple(c.name for c in columns),
            convs,
            tuple(
                conv is not None and c.kind not in _MUTABLE_KINDS
                for c, conv in zip(columns, convs, strict=True)
            ),
        )
        _returned_plans[key] = found
    return found


def _apply_one(
    meta: ModelMeta, dialect: Dialect, instance: Any, row: Any, columns: tuple[Column, ...]
) -> None:
    """``_apply_rows`` for a single row, without the set-up a batch amortises."""
    data = instance.__dict__
    for column, value in zip(columns, row, strict=True):
        if value is not None:
            conv = column_converter(column, dialect)
            if conv is not None:
                value = conv(value)
        data[column.name] = value
    instance.__pydantic_fields_set__.update(_column_names(meta))


#: per model, the names of its columns as a frozenset (a set merges one without hashing)
_column_name_sets: dict[ModelMeta, frozenset[str]] = {}


def _column_names(meta: ModelMeta) -> frozenset[str]:
    found = _column_name_sets.get(meta)
    if found is None:
        found = _column_name_sets[meta] = frozenset(meta.columns)
    return found


#: (model, columns sent) -> the one-row INSERT ... RETURNING and the columns it reads back
_single_inserts: dict[tuple[Any, ...], tuple[Node, tuple[Column, ...]]] = {}


def _single_insert(meta: ModelMeta, cols: list[Column]) -> tuple[Node, tuple[Column, ...]]:
    """The IR of a one-row INSERT sending ``cols`` with RETURNING, made once per column
    set. It reads back what a bulk insert does, for the same reason: the key, the
    database defaults and what may come back different from what was sent."""
    key = (meta, *cols)
    found = _single_inserts.get(key)
    if found is None:
        returned = _returned_columns(meta, cols)
        node = _insert_node(meta, cols, 1, tuple(c.column for c in returned))
        found = _single_inserts[key] = (node, returned)
    return found


async def insert_instance(ex: Executor, meta: ModelMeta, instance: Any) -> None:
    _sync_fk_ids(meta, instance)
    cols = _insert_columns(meta, instance)
    data = instance.__dict__
    values = [data[c.name] for c in cols]
    dialect = ex.dialect
    if dialect.supports_returning("insert"):
        node, returned = _single_insert(meta, cols)
        rows = await _ex.fetch(ex, node, values, write=True)
        _apply_one(meta, dialect, instance, rows[0], returned)
        return
    # no RETURNING: the backend reports the generated key as the statement's only row
    node = _insert_node(meta, cols, 1, None)
    rows = await _ex.fetch(ex, node, values, write=True)
    pk = meta.pk
    if pk is not None and data.get(pk.name) is None and rows and rows[0]:
        data[pk.name] = rows[0][0]
    if pk is not None and len(cols) + (pk not in cols) < len(meta.columns):
        # columns left to their database defaults: read what the database put there
        await _reread(ex, meta, [instance])


async def _reread(ex: Executor, meta: ModelMeta, instances: list[Any]) -> None:
    pk = meta.pk
    assert pk is not None
    keys = [i.__dict__[pk.name] for i in instances]
    key_col = ("col", meta.table_name, pk.column)
    cols = tuple((("col", meta.table_name, c.column), None) for c in meta.columns.values())
    where = ("in", key_col, pk.kind, 0, len(keys))
    node = ("select", ("table", meta.table_name, meta.schema, None, ()), cols, where, (), None,
            (), None, None, False, None)  # fmt: skip
    rows = await _ex.fetch(ex, node, [tuple(keys)])
    position = list(meta.columns).index(pk.name)
    by_key = {row[position]: row for row in rows}
    conv = column_converter(pk, ex.dialect)
    for instance in instances:
        key = instance.__dict__[pk.name]
        row = by_key.get(key)
        if row is None and conv is not None:
            row = next((r for r in rows if conv(r[position]) == key), None)
        if row is not None:
            _apply_row(meta, ex, instance, row)


async def bulk_insert(
    ex: Executor, meta: ModelMeta, instances: list[Any], batch_size: int | None
) -> None:
    # The columns of each instance as ``_insert_columns`` picks them, decided per
    # instance only on the omissible ones: which of those it leaves out is its group.
    if meta.foreign_keys:
        for instance in instances:
            _sync_fk_ids(meta, instance)
    rules = _omission_rules_of(meta)
    by_omission: dict[tuple[bool, ...], list[Any]] = {}
    if not rules or not instances:
        by_omission[()] = list(instances)
    else:
        keys = _impl.rowload.omission_keys(instances, rules)
        if keys.count(keys[0]) == len(keys):
            by_omission[keys[0]] = list(instances)  # the usual case: one column set
        else:
            for key, instance in zip(keys, instances, strict=True):
                members = by_omission.get(key)
                if members is None:
                    by_omission[key] = [instance]
                else:
                    members.append(instance)
    groups = [
        (
            _columns_without(meta, {rule[0] for rule, out in zip(rules, key, strict=True) if out}),
            members,
        )
        for key, members in by_omission.items()
    ]
    batches: list[tuple[list[Column], list[Any]]] = []
    copies: list[tuple[list[Column], list[Any]]] = []
    copy = ex.capabilities.copy
    per_statement = ex.dialect.per_statement
    for cols, members in groups:
        if copy and len(members) >= COPY_THRESHOLD and _copyable(meta, cols):
            copies.append((cols, members))
            continue
        size = min(batch_size or _DEFAULT_BATCH, per_statement(len(cols)))
        batches.extend((cols, members[i : i + size]) for i in range(0, len(members), size))
    if len(batches) + len(copies) == 1 and not in_transaction(ex):
        if copies:
            await _copy_batch(ex, meta, *copies[0])
        else:
            await _insert_batch(ex, meta, *batches[0])
        return
    async with ex.atomic_block() as tx:
        for cols, members in copies:
            await _copy_batch(tx, meta, cols, members)
        for cols, members in batches:
            await _insert_batch(tx, meta, cols, members)


#: rows of one column set from which ``bulk_create`` loads them with COPY, where the
#: backend has it (PostgreSQL); smaller sets are cheaper as multi-row INSERTs
COPY_THRESHOLD = 1000


def in_transaction(ex: Executor) -> bool:
    """Whether ``ex`` writes inside an open transaction. A bulk write there runs in a
    savepoint of its own on every path (one statement, COPY, batches), so that its
    failure undoes only itself: on PostgreSQL a failed statement would otherwise abort
    the caller's whole transaction, and the other backends follow the same rule."""
    return ex.in_transaction


def _copyable(meta: ModelMeta, cols: list[Column]) -> bool:
    """COPY returns no rows: only the generated key can be known, so every other
    column must be one we send (none left to a ``db_default`` to read back)."""
    pk = meta.pk
    missing = [c for c in meta.columns.values() if c not in cols]
    return all(c is pk and c.auto_increment for c in missing)


async def _copy_batch(
    ex: Executor, meta: ModelMeta, cols: list[Column], members: list[Any]
) -> None:
    if not can_copy(ex):  # only groups chosen for COPY come here
        raise ManagerError(f"bulk_create() of {meta.model.__name__}: no COPY on this backend")
    adapters = ex.dialect.adapters
    adapt = [adapters.get(c.kind) for c in cols]
    names = [c.name for c in cols]
    rows = []
    for instance in members:
        data = instance.__dict__
        row = []
        for name, fn in zip(names, adapt, strict=True):
            value = data[name]
            row.append(fn(value) if fn is not None and value is not None else value)
        rows.append(row)
    pk = meta.pk
    generated = pk is not None and pk not in cols
    keys = await ex.copy_insert(
        meta.table_name,
        [c.column for c in cols],
        rows,
        schema=meta.schema,
        returning_pk=pk.column if generated and pk is not None else None,
    )
    if generated and pk is not None:
        for instance, key in zip(members, keys, strict=True):
            instance.__dict__[pk.name] = key
            instance.__pydantic_fields_set__.add(pk.name)


async def _insert_batch(
    ex: Executor, meta: ModelMeta, cols: list[Column], members: list[Any]
) -> None:
    names = tuple(c.name for c in cols)
    values = _impl.rowload.insert_values(members, names)
    dialect = ex.dialect
    if dialect.supports_returning("insert"):
        returned = _returned_columns(meta, cols)
        node = _insert_node(meta, cols, len(members), tuple(c.column for c in returned))
        rows = await _ex.fetch(ex, node, values, write=True)
        _apply_rows(meta, ex, members, rows, returned)
        return
    node = _insert_node(meta, cols, len(members), None)
    rows = await _ex.fetch(ex, node, values, write=True)
    pk = meta.pk
    if pk is None:
        return
    if pk.auto_increment and pk.name not in names and rows:
        # without RETURNING the backend reports the first generated key; the keys of one
        # multi-row INSERT follow it at the server's auto-increment step
        first = rows[0][0]
        step = dialect.insert_id_step
        for i, instance in enumerate(members):
            instance.__dict__[pk.name] = first + i * step
    if len(cols) + (pk not in cols) < len(meta.columns):
        await _reread(ex, meta, members)


def update_column(meta: ModelMeta, name: str) -> Column:
    """The column a field name (or FK relation name) writes to, for updates."""
    column = meta.columns.get(name)
    if column is None:
        fk = meta.foreign_keys.get(name)
        if fk is not None:
            column = meta.columns[fk.field_name]
    if column is None:
        valid = ", ".join(sorted({*meta.columns, *meta.foreign_keys}))
        raise FieldError(f"{meta.model.__name__} has no field {name!r}; valid fields: {valid}")
    if column.primary_key:
        raise FieldError(f"{meta.model.__name__}.{name} is the primary key and cannot be updated")
    return column


async def bulk_update(
    ex: Executor, meta: ModelMeta, instances: list[Any], columns: list[Column]
) -> int:
    pk = meta.pk
    if pk is None:
        raise ManagerError(f"bulk_update() needs a primary key on {meta.model.__name__}")
    sets = tuple((c.column, ("p", c.kind, i)) for i, c in enumerate(columns))
    where = ("cmp", "=", ("col", meta.table_name, pk.column), ("p", pk.kind, len(columns)))
    node = ("update", meta.table_name, meta.schema, sets, where, None)
    dialect = ex.dialect
    compiled = compile_statement(node, dialect)
    bind = _impl.sqlbuild.bind
    adapters = dialect.adapters
    params_seq = []
    names = [c.name for c in columns]
    for instance in instances:
        _sync_fk_ids(meta, instance)
        data = instance.__dict__
        key = data.get(pk.name)
        if key is None:
            continue
        values = [data[n] for n in names]
        values.append(key)
        params_seq.append(bind(compiled.plan, values, adapters))
    if not params_seq:
        return 0
    if in_transaction(ex):
        async with ex.atomic_block() as tx:
            return await tx.execute_many(compiled.sql, params_seq)
    return await ex.execute_many(compiled.sql, params_seq)


_CHECKED_KINDS = frozenset({"int", "decimal"})


def set_items(
    scope: Scope, meta: ModelMeta, values: dict[str, Any]
) -> tuple[tuple[str, Node], ...]:
    sets = []
    for name, value in values.items():
        column = update_column(meta, name)
        if isinstance(value, Expression):
            node = resolve_expr(scope, value, column.kind)
            if column.kind in _CHECKED_KINDS and node[0] in ("op", "neg"):
                # arithmetic into an int/decimal column: exact or an error on every
                # backend (SQLite renders it through its checking functions)
                node = ("checked", column.kind, node, column.max_digits, column.decimal_places)
        elif value is None:
            node = scope.param(column.kind, None)
        else:
            node = scope.param(column.kind, coerce(meta, column, value, "update"))
        sets.append((column.column, node))
    return tuple(sets)


def _restricted_where(query: Query[Any]) -> Node | None:
    """The WHERE of an UPDATE/DELETE. Filters that follow FKs need joins, which UPDATE
    and DELETE cannot take portably: they become ``pk IN (SELECT pk ...)``. So do
    filters on annotations, whose subqueries may read the table being changed (which
    MySQL refuses unless it is a derived table)."""
    where = query._where_node()
    if not query._joins and query._limit is None and query._offset is None and query._agg is None:
        return where
    meta = query._meta
    if meta.pk is None:
        raise ManagerError(
            f"{meta.model.__name__} has no primary key: update()/delete() cannot follow "
            "relations or use limit/offset"
        )
    pk_col = ("col", meta.table_name, meta.pk.column)
    inner, _ = query._select_ir(((pk_col, "pk"),), order=query._limit is not None)
    # the extra derived table lets MySQL select from the table it updates
    wrapped = (
        "select", ("subquery", inner, "_pks"), ((("col", "_pks", "pk"), None),), None, (),
        None, (), None, None, False, None,
    )  # fmt: skip
    return ("in_query", pk_col, wrapped)


async def update_rows(
    ex: Executor,
    query: Query[Any],
    scope: Scope,
    sets: tuple[tuple[str, Node], ...],
    *,
    returning: bool,
) -> Any:
    meta = query._meta
    values = tuple(scope.values)
    node: Node
    if (
        not returning
        and not scope.joins
        and query._limit is None
        and query._offset is None
        and query._agg is None
    ):
        # The usual update(): its WHERE is the query's own (the scope holds no join, the
        # query's nor one the values added), so no clone of the query is needed.
        node = ("update", meta.table_name, meta.schema, sets, query._where_node(), None)
        return await _ex.execute(ex, node, values)
    q = query._with(scope)
    where = _restricted_where(q)
    if not returning:
        node = ("update", meta.table_name, meta.schema, sets, where, None)
        return await _ex.execute(ex, node, values)
    # Outside a transaction the UPDATE has committed by the time its rows are here, so
    # building them (in slices, with awaits between) is past the commit point: it
    # finishes, and a cancellation meanwhile is delivered after (``commit_point``), as
    # atomic() does once its COMMIT is sent. Inside a transaction nothing is committed
    # yet: the cancellation is raised at once and the transaction's owner decides
    # (atomic() rolls back on it), so the caller is told the truth either way.
    committed = not in_transaction(ex)
    build = partial(load_models, meta, ex.dialect)
    if ex.dialect.supports_returning("update"):
        node = ("update", meta.table_name, meta.schema, sets, where, _all_columns(meta))
        rows = await _ex.fetch(ex, node, values, write=True)
        # a large update returns as many rows as a large read: built in slices alike
        if committed and large(len(rows)):
            return await finish_past_commit_point(map_slices(build, rows, consume=True))
        return await map_slices(build, rows, consume=True)
    # no UPDATE ... RETURNING: lock the rows, update them, read them back, in one
    # transaction so nobody changes them in between
    pk = meta.pk
    if pk is None:
        raise ManagerError(f"update(returning=True) needs a primary key on {meta.model.__name__}")
    async with ex.atomic_block() as tx:
        keys = await q.for_update().values_list(pk.name, flat=True).all(client=tx)
        if not keys:
            return []
        node = ("update", meta.table_name, meta.schema, sets, where, None)
        await _ex.execute(tx, node, values)
        # the rows as tuples only: they become models once the transaction is over
        read = query._over(meta.model).filter(**{f"{pk.name}__in": keys}).order_by(pk.name)
        read_node, read_values = read._select_ir(read._model_cols())
        rows = await _ex.fetch(tx, read_node, read_values)
    if committed and large(len(rows)):
        return await finish_past_commit_point(map_slices(build, rows, consume=True))
    return await map_slices(build, rows, consume=True)


async def delete_rows(ex: Executor, query: Query[Any]) -> int:
    meta = query._meta
    node = ("delete", meta.table_name, meta.schema, _restricted_where(query), None)
    return await _ex.execute(ex, node, query._values)


def _create_data(lookups: dict[str, Any], defaults: dict[str, Any] | None) -> dict[str, Any]:
    data = {k: v for k, v in lookups.items() if "__" not in k}
    if defaults:
        data.update(defaults)
    return data


async def get_or_create(
    query: Query[Any],
    defaults: dict[str, Any] | None,
    using: str | None,
    client: Any,
    lookups: dict[str, Any],
) -> tuple[Any, bool]:
    ex = _ex.resolve_executor(using, client, query)
    try:
        return await query.get(client=ex, **lookups), False
    except NotFoundError:
        pass
    try:
        # a savepoint, so a concurrent insert that wins the race does not abort an
        # enclosing transaction
        async with ex.atomic_block() as tx:
            obj = await query.create(client=tx, **_create_data(lookups, defaults))
        return obj, True
    except IntegrityError:
        try:
            return await query.get(client=ex, **lookups), False
        except NotFoundError:
            raise


async def update_or_create(
    query: Query[Any],
    defaults: dict[str, Any] | None,
    using: str | None,
    client: Any,
    lookups: dict[str, Any],
) -> tuple[Any, bool]:
    ex = _ex.resolve_executor(using, client, query)
    async with ex.atomic_block() as tx:
        obj = await query.for_update().get_or_none(client=tx, **lookups)
        if obj is not None:
            if defaults:
                for key, value in defaults.items():
                    setattr(obj, key, value)
                await obj.save(update_fields=list(defaults), client=tx)
            return obj, False
    return await get_or_create(query, defaults, None, ex, lookups)
