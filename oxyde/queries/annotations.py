"""``annotate()``, ``group_by()``, ``having()`` and ``aggregate()``: named expressions,
grouping, filters on aggregates, and aggregates over relations.

An annotation is an expression under a user-chosen alias. The alias is checked when
``annotate()`` is called (a strict identifier, no clash with a field, a relation or a
model attribute), before any SQL exists. Wherever the alias is used afterwards
(``filter``, ``exclude``, ``order_by``, ``having``, ``values``, ``F("alias")``), its
expression is inlined: PostgreSQL accepts output aliases in neither WHERE nor HAVING.

Grouping. An aggregate over the query's own rows (``Count("id")``,
``Sum("author__age")``) groups the query: by the fields given to ``group_by()``, else by
every other selected column (``values("status").annotate(n=Count("id"))`` groups by
``status``; model rows group by all their columns). A filter that refers to such an
aggregate becomes a HAVING condition. ``Meta.ordering`` does not apply to a grouped
query (it would have to be grouped too); an explicit ``order_by()`` does.

Relations. An aggregate over a reverse foreign key or a many-to-many relation
(``Count("posts")``, ``Sum("posts__views")``, ``Avg("tags__weight")``, nested
``Count("posts__comments")``) is a correlated scalar subquery, one per annotation,
rather than LEFT JOIN + GROUP BY: two relation aggregates never multiply each other's
rows, the query stays ungrouped (its filters, ``Meta.ordering`` and other columns are
untouched), and a filter on it is a plain WHERE condition. ``Count`` of an empty
relation is 0; ``Sum``/``Avg``/``Max``/``Min`` of one are None. In ``aggregate()`` a
relation aggregate covers the related rows of every matching row
(``related.fk IN (SELECT pk ... matching rows)``).

Results. Annotation values are converted to the Python type of the expression on every
backend (an int ``Sum`` is an ``int``, a decimal ``Avg`` a ``Decimal``; never a NUMERIC
string). On model instances they are plain attributes kept in the instance's
``__dict__`` beside the fields: Pydantic's ``model_dump``, equality and ``repr`` only
look at fields, so they leave annotations out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from oxyde.exceptions import FieldError, ManagerError
from oxyde.meta.metadata import (
    COMMON_LOOKUPS,
    ORDERED_LOOKUPS,
    STRING_LOOKUPS,
    Column,
    ForeignKey,
    ModelMeta,
    ReverseRelation,
)
from oxyde.meta.registry import get_meta
from oxyde.meta.types import lookups_for
from oxyde.queries import executor as _ex
from oxyde.queries.expressions import (
    Aggregate,
    Avg,
    Coalesce,
    Combined,
    Concat,
    Expression,
    F,
    Max,
    Min,
    Negated,
    OrderBy,
    RawSQL,
    Sum,
)
from oxyde.queries.resolve import (
    ALL_LOOKUPS,
    Join,
    Scope,
    field_expr,
    filter_condition,
    kind_of,
    resolve_expr,
)
from oxyde.queries.rowplan import Converter, column_converter, kind_converter
from oxyde.sql.dialects.base import Dialect

if TYPE_CHECKING:
    from oxyde.backends.base import Executor
    from oxyde.queries.query import Query

Node = tuple[Any, ...]

#: what an alias may look like: ASCII letters, digits and single underscores, starting
#: with a letter (``__`` separates lookups), at most PostgreSQL's identifier length
ALIAS_PATTERN = re.compile(r"[A-Za-z](?:_?[A-Za-z0-9])*_?")
MAX_ALIAS_LENGTH = 63

_NUMERIC = frozenset({"int", "float", "decimal"})
_ANY_LOOKUPS = (*COMMON_LOOKUPS, *ORDERED_LOOKUPS, *STRING_LOOKUPS)
_PY_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "bytes": bytes,
    "datetime": dt.datetime,
    "date": dt.date,
    "time": dt.time,
    "timedelta": dt.timedelta,
    "uuid": uuid.UUID,
    "decimal": decimal.Decimal,
    "json": Any,
    "array": list,
    "any": Any,
}


# -- annotations ------------------------------------------------------------------------------


@dataclass(eq=False)
class AnnotationColumn(Column):
    """The column-like face of an annotation (its kind and lookups), so that filters,
    ``values()`` and ``F()`` treat an alias like a field."""

    annotation: Any = None


@dataclass(frozen=True, eq=False)
class Annotation:
    """One ``alias=expression`` of ``annotate()``, resolved against the model."""

    alias: str
    node: Node
    kind: str
    #: the outermost aggregate function ("COUNT", ...), "" when the value is none
    function: str
    #: the column the value comes from (``Max("created")``, ``F("price")``), if any
    source: Column | None
    #: an aggregate over the query's own rows: selecting it groups the query
    grouped: bool
    column: AnnotationColumn
    _converters: dict[Dialect, Converter] = field(default_factory=dict, repr=False)

    def converter(self, dialect: Dialect) -> Converter:
        conv = self._converters.get(dialect)
        if conv is None:
            conv = value_converter(self.function, self.kind, self.source, dialect)
            self._converters[dialect] = conv
        return conv


@dataclass(frozen=True, eq=False)
class Grouping:
    """The annotate/group_by/having state of a query (``Query._agg``)."""

    annotations: tuple[Annotation, ...] = ()
    #: explicit ``group_by()``: (name, expr) pairs; None groups implicitly
    group_by: tuple[tuple[str, Node], ...] | None = None
    having: tuple[Node, ...] = ()
    by_alias: dict[str, Annotation] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_alias.update((a.alias, a) for a in self.annotations)


def scope_annotations(query: Query[Any]) -> dict[str, Any] | None:
    """The alias map a new ``Scope`` of ``query`` resolves names against."""
    agg = query._agg
    return None if agg is None else dict(agg.by_alias)


class Resolved(NamedTuple):
    node: Node
    kind: str
    function: str
    source: Column | None
    grouped: bool


#: aliases that passed the pattern (a set, bounded: aliases come from code)
_valid_aliases: set[str] = set()
_MAX_VALID_ALIASES = 4096


def check_alias(
    meta: ModelMeta, alias: Any, taken: Iterable[str] = (), *, fields: bool = True
) -> str:
    """An ``annotate()``/``aggregate()`` alias, or a ``FieldError`` before any SQL exists.

    ``fields``: also refuse names of the model's fields and attributes (an annotation
    becomes an attribute of the instances; an ``aggregate()`` key does not)."""
    if type(alias) is str and alias in _valid_aliases:
        # checked before: the pattern need not run on every call of the same query
        pass
    elif (
        not isinstance(alias, str)
        or len(alias) > MAX_ALIAS_LENGTH
        or not ALIAS_PATTERN.fullmatch(alias)
    ):
        model = meta.model.__name__
        raise FieldError(
            f"{model}: invalid alias {alias!r}: an alias is a letter followed by letters, "
            f"digits and single underscores, at most {MAX_ALIAS_LENGTH} characters"
        )
    else:
        if len(_valid_aliases) >= _MAX_VALID_ALIASES:
            _valid_aliases.clear()
        _valid_aliases.add(alias)
    if not fields:
        return alias
    model = meta.model.__name__
    if (
        alias == "pk"
        or alias in meta.columns
        or alias in meta.foreign_keys
        or alias in meta.reverse
        or alias in meta.model.model_fields
    ):
        raise FieldError(f"{model}: the alias {alias!r} conflicts with the field {alias!r}")
    if hasattr(meta.model, alias):
        raise FieldError(
            f"{model}: the alias {alias!r} conflicts with the attribute {model}.{alias}"
        )
    if alias in taken:
        raise FieldError(f"{model}: {alias!r} is already an annotation of this query")
    return alias


def _annotation(alias: str, resolved: Resolved) -> Annotation:
    kind = resolved.kind
    source = resolved.source
    if source is not None and source.kind == kind:
        # keep what the source column knows (enum class, item kind, time zone)
        base = {f.name: getattr(source, f.name) for f in dataclasses.fields(Column)}
    else:
        base = {"kind": kind, "python_type": _PY_TYPES.get(kind, Any)}
    base.update(
        name=alias,
        column=alias,
        nullable=True,
        primary_key=False,
        auto_increment=False,
        unique=False,
        index=False,
        fk=None,
        has_default=False,
        db_default=None,
        # what a RawSQL expression holds is unknown: every comparison is allowed
        lookups=_ANY_LOOKUPS if kind == "any" else lookups_for(kind),
    )
    column = AnnotationColumn(**base)
    annotation = Annotation(
        alias, resolved.node, kind, resolved.function, source, resolved.grouped, column
    )
    column.annotation = annotation
    return annotation


# -- builders ---------------------------------------------------------------------------------


def annotate(query: Query[Any], exprs: dict[str, Any]) -> Query[Any]:
    """``query.annotate(alias=expression, ...)``."""
    if not exprs:
        raise TypeError("annotate() needs at least one alias=expression")
    meta = query._meta
    agg = query._agg or Grouping()
    scope = query._scope()
    added: list[Annotation] = []
    for alias, value in exprs.items():
        check_alias(meta, alias, scope.annotations)
        if not isinstance(value, Expression):
            raise TypeError(
                f"annotate({alias}=...) takes an expression (F, Count, Sum, Avg, Max, Min, "
                f"Concat, Coalesce, RawSQL), got {value!r}"
            )
        annotation = _annotation(alias, resolve(scope, value))
        # later keyword arguments of the same call may refer to earlier ones
        scope.annotations[alias] = annotation
        added.append(annotation)
    q = query._with(scope)
    q._agg = dataclasses.replace(agg, annotations=agg.annotations + tuple(added), by_alias={})
    if q._fields is not None and q._mode != "models":
        if q._flat:
            raise ManagerError(
                "annotate() after values_list(flat=True) would add columns to a flat list; "
                "use values_list() without flat"
            )
        # as in Django: annotations made after values() join its output
        q._fields = q._fields + tuple((a.alias, a.node, a.column) for a in added)
    return q


def group_by(query: Query[Any], names: Sequence[str]) -> Query[Any]:
    """``query.group_by(*fields)``: explicit GROUP BY (fields, FK paths or plain aliases)."""
    if not names:
        raise TypeError("group_by() needs at least one field")
    agg = query._agg or Grouping()
    scope = query._scope()
    items = list(agg.group_by or ())
    for name in names:
        if not isinstance(name, str) or not name:
            raise FieldError(f"group_by() takes field names, got {name!r}")
        annotation = scope.annotations.get(name)
        if annotation is not None and annotation.grouped:
            raise FieldError(
                f"{query._meta.model.__name__}: group_by({name!r}) names an aggregate; "
                "group by the fields it is computed per"
            )
        node, _ = field_expr(scope, name)
        if all(node != existing for _, existing in items):
            items.append((name, node))
    q = query._with(scope)
    q._agg = dataclasses.replace(agg, group_by=tuple(items), by_alias={})
    return q


def having(query: Query[Any], args: tuple[Any, ...], lookups: dict[str, Any]) -> Query[Any]:
    """``query.having(*q, **lookups)``: conditions on the groups (aliases and fields)."""
    agg = query._agg or Grouping()
    scope = query._scope()
    cond = filter_condition(scope, args, lookups)
    q = query._with(scope)
    if cond is not None:
        q._agg = dataclasses.replace(agg, having=(*agg.having, cond), by_alias={})
    return q


def add_condition(query: Query[Any], cond: Node) -> None:
    """Put a ``filter()``/``exclude()`` condition of a fresh clone where it belongs:
    WHERE, or HAVING when it refers to an aggregate of the query's own rows."""
    agg = query._agg
    parts = cond[1] if cond[0] == "and" else (cond,)
    where = [c for c in parts if not contains_aggregate(c)]
    grouped = [c for c in parts if contains_aggregate(c)]
    if where:
        query._where = (*query._where, *where)
    if grouped:
        agg = agg or Grouping()
        query._agg = dataclasses.replace(agg, having=(*agg.having, *grouped), by_alias={})


def order_expression(scope: Scope, item: Any) -> tuple[Node, bool]:
    """An ``order_by()`` item that is an expression (``F("a") + F("b")``,
    ``F("views").desc()``, ``Count("posts")``)."""
    descending = False
    if isinstance(item, OrderBy):
        descending = item.descending
        item = item.expression
    if not isinstance(item, Expression):
        raise FieldError(
            f"order_by() takes field names or expressions (F(...), F(...).desc()), got {item!r}"
        )
    return resolve(scope, item).node, descending


# -- reading the state ------------------------------------------------------------------------


def selected(query: Query[Any]) -> tuple[Annotation, ...]:
    """The annotations the query's rows carry: every one on model rows, the named ones
    in ``values()`` rows."""
    agg = query._agg
    if agg is None:
        return ()
    if query._fields is None or query._mode == "models":
        return agg.annotations
    return tuple(f[2].annotation for f in query._fields if isinstance(f[2], AnnotationColumn))


def is_grouped(query: Query[Any]) -> bool:
    """Whether the query's SELECT has a GROUP BY (or a HAVING)."""
    agg = query._agg
    if agg is None:
        return False
    if agg.group_by is not None or agg.having:
        return True
    return any(a.grouped for a in selected(query))


def output_columns(query: Query[Any]) -> tuple[tuple[Node, str | None], ...]:
    """The select-list entries of the annotations a model row carries (after its columns)."""
    if query._agg is None or (query._fields is not None and query._mode != "models"):
        return ()
    return tuple((a.node, a.alias) for a in query._agg.annotations)


def default_fields(query: Query[Any]) -> tuple[str, ...]:
    """``values()`` with no names: every column, then every annotation."""
    names = tuple(query._meta.columns)
    if query._agg is not None:
        names += tuple(a.alias for a in query._agg.annotations)
    return names


def grouping(
    query: Query[Any], cols: tuple[tuple[Node, str | None], ...]
) -> tuple[tuple[Node, ...], Node | None]:
    """The GROUP BY and HAVING of a SELECT of ``query`` with the select list ``cols``."""
    agg = query._agg
    if agg is None:
        return (), None
    having_node: Node | None = None
    if agg.having:
        having_node = agg.having[0] if len(agg.having) == 1 else ("and", agg.having)
    if agg.group_by is not None:
        keys = tuple(node for _, node in agg.group_by)
        for node, name in cols:
            if node not in keys and _groupable(node):
                model = query._meta.model.__name__
                if query._mode == "models":
                    # The public Oxyde's error (and type) for grouped rows loaded as models.
                    raise TypeError(
                        f"{model}: group_by() gives one row per group, which cannot be "
                        f"loaded as {model} instances; select the groups and aggregates "
                        "with values() instead, e.g. "
                        ".group_by('field').values('field').annotate(n=Count('id')).all()"
                    )
                shown = name or (node[2] if node[0] == "col" else repr(node))
                raise ManagerError(
                    f"{query._meta.model.__name__}: the query is grouped by "
                    f"{', '.join(n for n, _ in agg.group_by)} but selects {shown!r}, which "
                    "is neither grouped nor an aggregate: select the groups with values(...)"
                )
        return keys, having_node
    if having_node is None and not any(contains_aggregate(node) for node, _ in cols):
        return (), None
    return tuple(node for node, _ in cols if _groupable(node)), having_node


def contains_aggregate(node: Any) -> bool:
    """Whether an expression or condition aggregates the rows of its own SELECT
    (aggregates inside subqueries belong to those)."""
    if type(node) is not tuple or not node:
        return False
    tag = node[0]
    if tag == "agg":
        return True
    if tag in ("subq", "select", "union"):
        return False
    if tag == "in_query":
        return contains_aggregate(node[1])
    return any(contains_aggregate(item) for item in node[1:])


def _references_column(node: Any) -> bool:
    if type(node) is not tuple or not node:
        return False
    tag = node[0]
    if tag in ("col", "raw"):
        return True
    if tag in ("subq", "select", "union"):
        # a correlated subquery depends on columns that are grouped themselves
        return False
    return any(_references_column(item) for item in node[1:])


def _groupable(node: Node) -> bool:
    return not contains_aggregate(node) and _references_column(node)


def check_writable(query: Query[Any], what: str) -> None:
    """update()/delete() act on rows, not on groups."""
    agg = query._agg
    if agg is not None and (agg.group_by is not None or agg.having):
        raise ManagerError(
            f"{what}() cannot run on a grouped query (group_by()/having() or a filter on an "
            "aggregate): filter the rows with filter() instead"
        )


# -- results ----------------------------------------------------------------------------------


def result_converter(column: Column, dialect: Dialect) -> Converter:
    """The converter of a result column: a field's, or an annotation's."""
    if isinstance(column, AnnotationColumn):
        annotation: Annotation = column.annotation
        return annotation.converter(dialect)
    return column_converter(column, dialect)


def value_converter(
    function: str, kind: str, source: Column | None, dialect: Dialect
) -> Callable[[Any], Any]:
    """driver value -> the Python value of an expression of ``kind`` (made once per
    function, kind, source column and dialect: every ``aggregate()`` call asks)."""
    key = (function, kind, source, dialect)
    found = _value_converters.get(key)
    if found is not None:
        return found
    if source is not None and source.kind == kind:
        base = column_converter(source, dialect)
    else:
        base = kind_converter(kind, dialect)
    count = function == "COUNT"

    def convert(value: Any) -> Any:
        if value is None:
            return 0 if count else None
        return to_python(kind, base, value)

    _value_converters[key] = convert
    return convert


_value_converters: dict[tuple[str, str, Column | None, Dialect], Callable[[Any], Any]] = {}


def to_python(kind: str, base: Converter, value: Any) -> Any:
    """Normalise what a driver returns for a computed value of ``kind``: PostgreSQL and
    MySQL give NUMERIC/DECIMAL for SUM/AVG of integers, SQLite gives float for decimal
    arithmetic and 0/1 for booleans."""
    if kind == "int":
        if type(value) is int:
            return value
        if isinstance(value, (float, decimal.Decimal)):
            if isinstance(value, float):
                integral = value.is_integer()
            else:
                integral = value.is_finite() and value == value.to_integral_value()
            # integer division on MySQL is exact: keep a fraction rather than drop it
            return int(value) if integral else float(value)
        if isinstance(value, (str, bytes)):
            try:
                return int(value)
            except ValueError:
                return value
        return value
    if kind == "float":
        if type(value) is float:
            return value
        if isinstance(value, (int, decimal.Decimal, str)) and not isinstance(value, bool):
            return float(value)
        return value
    if kind == "decimal":
        if isinstance(value, decimal.Decimal):
            return value
        if isinstance(value, float):
            return decimal.Decimal(repr(value))
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            return decimal.Decimal(str(value))
        return value
    return base(value) if base is not None else value


def attach(query: Query[Any], instances: list[Any], rows: Sequence[Any], dialect: Dialect) -> None:
    """Put the annotation values (the last columns of each row) on the loaded models."""
    annotations = output_columns(query)
    n = len(annotations)
    if not n or not rows:
        return
    anns = query._agg.annotations if query._agg is not None else ()
    convs = [a.converter(dialect) for a in anns]
    names = [a.alias for a in anns]
    width = len(rows[0])
    first = width - n
    for instance, row in zip(instances, rows, strict=True):
        data = instance.__dict__
        for j in range(n):
            value = row[first + j]
            conv = convs[j]
            data[names[j]] = conv(value) if conv is not None else value


def with_annotations(
    query: Query[Any], names: tuple[str, ...], columns: list[Any], rows: list[Any]
) -> tuple[tuple[str, ...], list[Any], list[Any]]:
    """Model rows read as dicts/tuples (``all(mode="dict")``): add the annotations,
    which follow the columns of any joined relations."""
    anns = query._agg.annotations if query._agg is not None else ()
    if not anns:
        return names, columns, rows
    width = len(names)
    n = len(anns)
    if rows and len(rows[0]) != width + n:
        rows = [tuple(row[:width]) + tuple(row[-n:]) for row in rows]
    return (
        names + tuple(a.alias for a in anns),
        [*columns, *(a.column for a in anns)],
        rows,
    )


# -- resolving expressions ------------------------------------------------------------------


class _SubqueryScope(Scope):
    """A scope inside a relation subquery: its joins are named after the subquery's own
    alias, so they never shadow a table of the outer query."""

    __slots__ = ()

    def join_for(self, parent_alias: str, parent_path: str, fk: ForeignKey) -> Join:
        path = f"{parent_path}__{fk.name}" if parent_path else fk.name
        join = self.joins.get(path)
        if join is None:
            target: ModelMeta = get_meta(fk.target)
            alias = f"{self.alias}__{path}"
            target_col = target.columns[fk.target_field]
            on = ("cmp", "=", ("col", parent_alias, fk.column), ("col", alias, target_col.column))
            join = Join(path, alias, target, on)
            self.joins[path] = join
        return join


def resolve(scope: Scope, value: Any, *, derived: dict[str, Resolved] | None = None) -> Resolved:
    """An expression -> its IR node, value kind and how it aggregates.

    ``derived``: resolve names against these output columns of a derived table only
    (``aggregate()`` over a grouped, limited or combined query).
    """
    if isinstance(value, Aggregate):
        return _aggregate(scope, value, derived)
    if isinstance(value, F):
        return _name(scope, value.name, derived)
    if isinstance(value, Combined):
        return _combined(scope, value, derived)
    if isinstance(value, Negated):
        inner = resolve(scope, value.operand, derived=derived)
        return inner._replace(node=("neg", inner.node), function="", source=None)
    if isinstance(value, Concat):
        parts = [_part(scope, p, derived) for p in value.parts]
        sep = scope.param("str", value.separator) if value.separator else None
        nodes = tuple(p.node if p.kind == "str" else ("cast_text", p.node) for p in parts)
        return Resolved(("concat", nodes, sep), "str", "", None, any(p.grouped for p in parts))
    if isinstance(value, Coalesce):
        parts = [_part(scope, p, derived) for p in value.parts]
        known = next((p for p in parts if p.kind != "any"), parts[0])
        return Resolved(
            ("fn", "COALESCE", tuple(p.node for p in parts)),
            known.kind,
            "",
            known.source,
            any(p.grouped for p in parts),
        )
    if isinstance(value, RawSQL):
        return Resolved(("raw", value.sql), "any", "", None, False)
    if isinstance(value, Expression):
        raise TypeError(f"unsupported expression {value!r}")
    kind = kind_of(value)
    return Resolved(resolve_expr(scope, value, kind), kind, "", None, False)


def _part(scope: Scope, part: Any, derived: dict[str, Resolved] | None) -> Resolved:
    # Concat/Coalesce take field names as plain strings, as in the public API
    if isinstance(part, str):
        return _name(scope, part, derived)
    return resolve(scope, part, derived=derived)


def _name(scope: Scope, name: str, derived: dict[str, Resolved] | None) -> Resolved:
    if derived is not None:
        hit = derived.get(name)
        if hit is None:
            raise FieldError(
                f"{scope.meta.model.__name__}: {name!r} is not a column of the grouped, "
                f"limited or combined query; its columns: {', '.join(derived)}"
            )
        return hit
    annotation = scope.annotations.get(name)
    if annotation is not None:
        return Resolved(
            annotation.node,
            annotation.kind,
            annotation.function,
            annotation.source,
            annotation.grouped,
        )
    node, column = field_expr(scope, name)
    return Resolved(node, column.kind, "", column, False)


def _combined(scope: Scope, value: Combined, derived: dict[str, Resolved] | None) -> Resolved:
    lhs_plain = not isinstance(value.lhs, Expression)
    rhs_plain = not isinstance(value.rhs, Expression)
    if lhs_plain and rhs_plain:
        raise TypeError(f"an expression needs a field or an aggregate: {value!r}")
    # the field side first: a plain number takes the field's numeric kind
    if lhs_plain:
        rhs = resolve(scope, value.rhs, derived=derived)
        lhs = _literal(scope, value.lhs, rhs.kind)
    else:
        lhs = resolve(scope, value.lhs, derived=derived)
        rhs = (
            _literal(scope, value.rhs, lhs.kind)
            if rhs_plain
            else resolve(scope, value.rhs, derived=derived)
        )
    return Resolved(
        ("op", value.op, lhs.node, rhs.node),
        _arith_kind(value.op, lhs.kind, rhs.kind),
        "",
        None,
        lhs.grouped or rhs.grouped,
    )


def _literal(scope: Scope, value: Any, other_kind: str) -> Resolved:
    kind = kind_of(value)
    if kind in _NUMERIC and other_kind in _NUMERIC:
        kind = other_kind if _rank(other_kind) >= _rank(kind) else kind
    return Resolved(scope.param(kind, value), kind, "", None, False)


def _rank(kind: str) -> int:
    return {"int": 0, "float": 1, "decimal": 2}.get(kind, -1)


def _arith_kind(op: str, lhs: str, rhs: str) -> str:
    if lhs in _NUMERIC and rhs in _NUMERIC:
        return lhs if _rank(lhs) >= _rank(rhs) else rhs
    if lhs != "any":
        # datetime +/- timedelta stays a datetime
        return lhs
    return rhs


def _aggregate(scope: Scope, agg: Aggregate, derived: dict[str, Resolved] | None) -> Resolved:
    fn = agg.function
    if agg.field == "*":
        if agg.distinct:
            raise TypeError(
                "Count('*', distinct=True) needs a field: Count('<field>', distinct=True)"
            )
        return Resolved(("agg", "COUNT", None, agg.distinct), "int", "COUNT", None, True)
    if derived is None:
        start = _relation_start(scope, agg.field)
        if start is not None:
            return _relation_aggregate(scope, agg, *start)
    arg = _name(scope, agg.field, derived)
    if arg.grouped:
        raise FieldError(
            f"{scope.meta.model.__name__}: {agg!r} aggregates an aggregate; aggregate the "
            "grouped query with aggregate() instead"
        )
    node = _agg_node(fn, arg.node, agg.distinct, arg.kind)
    return Resolved(node, _aggregate_kind(fn, arg.kind), fn, arg.source, True)


def _agg_node(function: str, arg: Node | None, distinct: bool, kind: str) -> Node:
    if function == "AVG" and kind in ("int", "bool") and arg is not None:
        # an average of integers as a double everywhere (MySQL's has 4 decimals)
        arg = ("cast_float", arg)
    return ("agg", function, arg, distinct)


def _aggregate_kind(function: str, kind: str) -> str:
    if function == "COUNT":
        return "int"
    if function == "AVG":
        return "decimal" if kind == "decimal" else "float"
    return kind


def _relation_start(scope: Scope, path: str) -> tuple[str, ModelMeta, list[str]] | None:
    """Where ``path`` enters a reverse or many-to-many relation: the table alias and
    model it leaves from, and the rest of the path. None for a plain field path."""
    parts = path.split("__")
    meta = scope.meta
    alias = scope.alias
    prefix = ""
    for i, name in enumerate(parts):
        if name in meta.reverse:
            return alias, meta, parts[i:]
        fk = meta.foreign_keys.get(name)
        if fk is None or i + 1 == len(parts) or parts[i + 1] in ALL_LOOKUPS:
            return None
        # a forward FK before the relation: the outer query joins it (one row per row)
        target = get_meta(fk.target)
        nxt = parts[i + 1]
        if nxt not in target.reverse and nxt not in target.foreign_keys:
            return None
        join = scope.join_for(alias, prefix, fk)
        meta, alias, prefix = join.meta, join.alias, join.path
    return None


class _RelationSource(NamedTuple):
    #: the subquery's FROM: ("table", ...) with its INNER joins
    table: Node
    #: the inner column that must equal the outer key, and that key's column
    link: Node
    key: Column
    #: the scope the rest of the path resolves in (last relation's model and alias)
    inner: _SubqueryScope
    rest: list[str]
    #: the primary-key column of the last relation's rows, for Count(distinct=True)
    target_pk: Node | None


def _relation_source(
    scope: Scope, outer_alias: str, outer: ModelMeta, parts: list[str]
) -> _RelationSource:
    """The FROM of a subquery over the rows a relation path reaches from one outer row."""
    first: tuple[str, str | None, str, Any] | None = None
    joins: list[Node] = []
    meta = outer
    alias = outer_alias
    link: Node | None = None
    key: Column | None = None
    i = 0
    while i < len(parts) and parts[i] in meta.reverse:
        relation: ReverseRelation = meta.reverse[parts[i]]
        child_alias = f"{alias}__{relation.name}"
        target = get_meta(relation.target)
        if relation.many_to_many:
            assert relation.through_source is not None and relation.through_target is not None
            through = get_meta(relation.through)
            source_fk = through.foreign_keys[relation.through_source]
            target_fk = through.foreign_keys[relation.through_target]
            through_alias = f"{child_alias}__through"
            own_key = meta.columns[source_fk.target_field]
            through_link = ("col", through_alias, source_fk.column)
            target_on = (
                "cmp", "=", ("col", child_alias, target.columns[target_fk.target_field].column),
                ("col", through_alias, target_fk.column),
            )  # fmt: skip
            if first is None:
                first = (through.table_name, through.schema, through_alias, None)
                link, key = through_link, own_key
            else:
                on = ("cmp", "=", through_link, ("col", alias, own_key.column))
                joins.append(
                    ("join", "INNER", through.table_name, through.schema, through_alias, on)
                )
            joins.append(
                ("join", "INNER", target.table_name, target.schema, child_alias, target_on)
            )
        else:
            assert relation.fk_name is not None
            fk = target.foreign_keys[relation.fk_name]
            own_key = meta.columns[fk.target_field]
            child_link = ("col", child_alias, fk.column)
            if first is None:
                first = (target.table_name, target.schema, child_alias, None)
                link, key = child_link, own_key
            else:
                on = ("cmp", "=", child_link, ("col", alias, own_key.column))
                joins.append(("join", "INNER", target.table_name, target.schema, child_alias, on))
        meta, alias = target, child_alias
        i += 1
    assert first is not None and link is not None and key is not None
    inner = _SubqueryScope(meta, (), ())
    inner.alias = alias
    # one value list for the whole statement
    inner.values = scope.values
    table: Node = ("table", first[0], first[1], first[2], tuple(joins))
    pk = None if meta.pk is None else ("col", alias, meta.pk.column)
    return _RelationSource(table, link, key, inner, parts[i:], pk)


def _relation_arg(
    scope: Scope, agg: Aggregate, src: _RelationSource, path: str
) -> tuple[Node | None, str, Column | None]:
    """The aggregate's argument inside the relation subquery, its kind and column."""
    if src.rest:
        rest = "__".join(src.rest)
        node, column = field_expr(src.inner, rest)
        return node, column.kind, column
    if agg.function != "COUNT":
        raise FieldError(
            f"{scope.meta.model.__name__}: {type(agg).__name__}({path!r}) needs a field of "
            f"{src.inner.meta.model.__name__}, e.g. {type(agg).__name__}('{path}__<field>')"
        )
    # Count("posts") counts related rows; distinct counts each related row once
    return (src.target_pk if agg.distinct else None), "int", None


def _with_inner_joins(src: _RelationSource) -> Node:
    table = src.table
    extra = tuple(j.node() for j in src.inner.joins.values())
    return (*table[:4], table[4] + extra) if extra else table


def _relation_aggregate(
    scope: Scope, agg: Aggregate, outer_alias: str, outer: ModelMeta, parts: list[str]
) -> Resolved:
    """``Count("posts")`` in ``annotate()``: a correlated scalar subquery per row."""
    src = _relation_source(scope, outer_alias, outer, parts)
    arg, kind, column = _relation_arg(scope, agg, src, agg.field)
    where = ("cmp", "=", src.link, ("col", outer_alias, src.key.column))
    select = _select(
        _with_inner_joins(src), ((_agg_node(agg.function, arg, agg.distinct, kind), None),), where
    )
    return Resolved(
        ("subq", select), _aggregate_kind(agg.function, kind), agg.function, column, False
    )


def _select(
    src: Node,
    cols: tuple[tuple[Node, str | None], ...],
    where: Node | None = None,
    *,
    limit: Node | None = None,
) -> Node:
    return ("select", src, cols, where, (), None, (), limit, None, False, None)


# -- aggregate() --------------------------------------------------------------------------------


async def run_aggregate(query: Query[Any], ex: Executor, exprs: dict[str, Any]) -> dict[str, Any]:
    """``query.aggregate(alias=Count(...), ...)`` -> ``{alias: value}`` in one statement."""
    if not exprs:
        raise TypeError("aggregate() needs at least one alias=aggregate")
    for alias, value in exprs.items():
        check_alias(query._meta, alias, fields=False)
        if not isinstance(value, Expression):
            raise TypeError(
                f"aggregate({alias}=...) takes an aggregate (Count, Sum, Avg, Max, Min), "
                f"got {value!r}"
            )
    if query._empty:
        return {
            alias: 0 if isinstance(v, Aggregate) and v.function == "COUNT" else None
            for alias, v in exprs.items()
        }
    if needs_derived(query):
        node, values, resolved = derived_aggregate(query, exprs)
    else:
        node, values, resolved = _direct_aggregate(query, exprs)
    rows = await _ex.fetch(ex, node, values)
    row = rows[0] if rows else (None,) * len(resolved)
    dialect = ex.dialect
    return {
        alias: value_converter(r.function, r.kind, r.source, dialect)(value)
        for (alias, r), value in zip(resolved.items(), row, strict=True)
    }


def needs_derived(query: Query[Any]) -> bool:
    """Whether aggregating ``query`` must read it as a derived table."""
    return (
        query._compound
        or query._distinct
        or query._limit is not None
        or query._offset is not None
        or is_grouped(query)
    )


def _check_aggregate(alias: str, r: Resolved, value: Any) -> None:
    if not (r.grouped or r.function):
        raise TypeError(
            f"aggregate({alias}=...) needs an aggregate (Count, Sum, Avg, Max, Min), got {value!r}"
        )


def _direct_aggregate(
    query: Query[Any], exprs: dict[str, Any]
) -> tuple[Node, tuple[Any, ...], dict[str, Resolved]]:
    scope = query._scope()
    resolved: dict[str, Resolved] = {}
    cols: list[tuple[Node, str | None]] = []
    for alias, value in exprs.items():
        r = _aggregate_over_rows(query, scope, value)
        _check_aggregate(alias, r, value)
        resolved[alias] = r
        cols.append((r.node, alias))
    q = query._with(scope)
    node, values = q._select_ir(tuple(cols), order=False)
    return node, values, resolved


def _aggregate_over_rows(query: Query[Any], scope: Scope, value: Any) -> Resolved:
    """Resolve an ``aggregate()`` expression; relation aggregates cover the related rows
    of every matching row."""
    if isinstance(value, Aggregate) and value.field != "*":
        start = _relation_start(scope, value.field)
        if start is not None:
            return _relation_total(query, scope, value, *start)
    if isinstance(value, Combined):
        lhs = (
            _aggregate_over_rows(query, scope, value.lhs)
            if isinstance(value.lhs, Expression)
            else None
        )
        rhs = (
            _aggregate_over_rows(query, scope, value.rhs)
            if isinstance(value.rhs, Expression)
            else None
        )
        if lhs is None and rhs is not None:
            lhs = _literal(scope, value.lhs, rhs.kind)
        if rhs is None and lhs is not None:
            rhs = _literal(scope, value.rhs, lhs.kind)
        if lhs is None or rhs is None:
            raise TypeError(f"an expression needs a field or an aggregate: {value!r}")
        return Resolved(
            ("op", value.op, lhs.node, rhs.node),
            _arith_kind(value.op, lhs.kind, rhs.kind),
            "",
            None,
            lhs.grouped or rhs.grouped,
        )
    return resolve(scope, value)


def _relation_total(
    query: Query[Any], scope: Scope, agg: Aggregate, outer_alias: str, outer: ModelMeta,
    parts: list[str],
) -> Resolved:  # fmt: skip
    """``aggregate(n=Count("posts"))``: over the related rows of all matching rows,
    ``(SELECT COUNT(*) FROM post WHERE post.author_id IN (SELECT matching keys))``."""
    src = _relation_source(scope, outer_alias, outer, parts)
    arg, kind, column = _relation_arg(scope, agg, src, agg.field)
    q = query._with(scope)
    keys, _ = q._select_ir(((("col", outer_alias, src.key.column), None),), order=False)
    where = ("in_query", src.link, keys)
    select = _select(
        _with_inner_joins(src), ((_agg_node(agg.function, arg, agg.distinct, kind), None),), where
    )
    # the subquery is the same on every outer row: MAX() makes the statement one row
    # (NULL when nothing matches, which a COUNT reads as 0)
    node = ("agg", "MAX", ("subq", select), False)
    return Resolved(node, _aggregate_kind(agg.function, kind), agg.function, column, True)


def derived_columns(
    query: Query[Any],
) -> tuple[tuple[tuple[Node, str | None], ...], dict[str, Resolved]]:
    """The select list of ``query`` as a derived table: every output column named, and
    what each name resolves to from outside (``_sub.<name>``)."""
    cols: list[tuple[Node, str | None]] = []
    outputs: dict[str, Resolved] = {}

    def add(name: str, node: Node, kind: str, function: str, source: Column | None) -> None:
        cols.append((node, name))
        outputs[name] = Resolved(("col", "_sub", name), kind, function, source, False)

    meta = query._meta
    fields = query._fields
    if fields is None or query._mode == "models":
        if fields is None:
            for column in meta.columns.values():
                add(column.name, ("col", meta.table_name, column.column), column.kind, "", column)
        else:
            for name, node, column in fields:
                add(name, node, column.kind, "", column)
        if query._agg is not None:
            for a in query._agg.annotations:
                add(a.alias, a.node, a.kind, a.function, a.source)
    else:
        for name, node, column in fields:
            if isinstance(column, AnnotationColumn):
                a = column.annotation
                add(name, node, a.kind, a.function, a.source)
            else:
                add(name, node, column.kind, "", column)
    if meta.pk is not None and meta.pk.name in outputs:
        outputs.setdefault("pk", outputs[meta.pk.name])
    return tuple(cols), outputs


def derived_aggregate(
    query: Query[Any], exprs: dict[str, Any]
) -> tuple[Node, tuple[Any, ...], dict[str, Resolved]]:
    """Aggregates over the rows ``query`` returns, read as ``(SELECT ...) AS _sub``."""
    inner, values, outputs = query._derived()
    scope = Scope(query._meta, values)
    resolved: dict[str, Resolved] = {}
    out_cols: list[tuple[Node, str | None]] = []
    for alias, value in exprs.items():
        r = resolve(scope, value, derived=outputs)
        _check_aggregate(alias, r, value)
        resolved[alias] = r
        out_cols.append((r.node, alias))
    node = _select(("subquery", inner, "_sub"), tuple(out_cols))
    return node, tuple(scope.values), resolved


def aggregate_one(function: str, field_name: str) -> Aggregate:
    """``sum("views")`` and friends, as the aggregate ``aggregate()`` computes."""
    cls = {"SUM": Sum, "AVG": Avg, "MAX": Max, "MIN": Min}[function]
    return cls(field_name)


__all__ = [
    "ALIAS_PATTERN",
    "Annotation",
    "AnnotationColumn",
    "Grouping",
    "add_condition",
    "annotate",
    "check_alias",
    "group_by",
    "having",
    "is_grouped",
    "result_converter",
    "run_aggregate",
]
