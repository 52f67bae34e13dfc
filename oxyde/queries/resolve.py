"""Resolving user input against a model: lookup keys, values, F/Q/aggregates -> IR.

Every name a user passes (``filter`` keys, ``order_by``, ``values``, ``F`` names) is
checked here against ``ModelMeta`` before any SQL exists, and errors name
the model, the field and the valid choices. Values are validated against the
column's Python type and kept out of the IR tree: ``Scope.param`` appends them to the
query's value list and returns a ``("p", kind, idx)`` reference.
"""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from oxyde.exceptions import FieldError, FieldLookupError, FieldLookupValueError
from oxyde.meta.metadata import Column, ForeignKey, ModelMeta
from oxyde.meta.types import lookups_for
from oxyde.queries import jsonpath
from oxyde.queries.expressions import (
    Aggregate,
    Coalesce,
    Combined,
    Concat,
    Expression,
    F,
    Negated,
    Q,
    RawSQL,
)

Node = tuple[Any, ...]

#: every lookup name oxyde knows, used to tell ``author__name`` (traversal) from
#: ``author__in`` (a lookup on the key column)
ALL_LOOKUPS = frozenset(
    {
        "exact", "iexact", "contains", "icontains", "startswith", "istartswith", "endswith",
        "iendswith", "gt", "gte", "lt", "lte", "in", "range", "between", "isnull", "year",
        "month", "day", "date", "hour", "ne", "regex", "iregex", "has_key",
    }
)  # fmt: skip

_CMP = {"exact": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_LIKE = {
    "iexact": ("", "", True),
    "contains": ("%", "%", False),
    "icontains": ("%", "%", True),
    "startswith": ("", "%", False),
    "istartswith": ("", "%", True),
    "endswith": ("%", "", False),
    "iendswith": ("%", "", True),
}


class Join:
    """A LEFT JOIN added to follow a forward foreign key."""

    __slots__ = ("alias", "meta", "on", "path")

    def __init__(self, path: str, alias: str, meta: ModelMeta, on: Node) -> None:
        self.path = path
        self.alias = alias
        self.meta = meta
        self.on = on

    def node(self) -> Node:
        return ("join", "LEFT", self.meta.table_name, self.meta.schema, self.alias, self.on)


class Scope:
    """Resolution state of one query being built: its values, its joins and the
    ``annotate()`` aliases its names may refer to."""

    __slots__ = ("alias", "annotations", "joins", "meta", "values")

    def __init__(
        self,
        meta: ModelMeta,
        values: Iterable[Any] = (),
        joins: Iterable[Join] = (),
        annotations: dict[str, Any] | None = None,
    ):
        self.meta = meta
        self.alias = meta.table_name
        self.values: list[Any] = list(values)
        self.joins: dict[str, Join] = {j.path: j for j in joins}
        #: alias -> ``oxyde.queries.annotations.Annotation`` (``.node``, ``.column``)
        self.annotations: dict[str, Any] = annotations or {}

    def param(self, kind: str, value: Any) -> Node:
        self.values.append(value)
        return ("p", kind, len(self.values) - 1)

    # -- paths ------------------------------------------------------------------------

    def join_for(self, parent_alias: str, parent_path: str, fk: ForeignKey) -> Join:
        path = f"{parent_path}__{fk.name}" if parent_path else fk.name
        join = self.joins.get(path)
        if join is None:
            target: ModelMeta = fk.target._db_meta
            alias = path if path != self.alias else f"{path}_1"
            target_col = target.columns[fk.target_field]
            on = ("cmp", "=", ("col", parent_alias, fk.column), ("col", alias, target_col.column))
            join = Join(path, alias, target, on)
            self.joins[path] = join
        return join

    def resolve_path(self, key: str, *, allow_lookup: bool = True) -> tuple[Column, str, list[str]]:
        """Walk ``a__b__c[__lookup]``: returns (column, table alias, remaining parts)."""
        parts = key.split("__")
        meta = self.meta
        alias = self.alias
        path = ""
        i = 0
        n = len(parts)
        while True:
            name = parts[i]
            if name == "pk" and meta.pk is not None:
                name = meta.pk.name
            column = meta.columns.get(name)
            if column is not None:
                return column, alias, parts[i + 1 :]
            fk = meta.foreign_keys.get(name)
            if fk is not None:
                nxt = parts[i + 1] if i + 1 < n else None
                target: ModelMeta = fk.target._db_meta
                if nxt is not None and (
                    nxt in target.columns
                    or nxt in target.foreign_keys
                    or nxt == "pk"
                    or (nxt not in ALL_LOOKUPS)
                ):
                    join = self.join_for(alias, path, fk)
                    path, alias, meta = join.path, join.alias, join.meta
                    i += 1
                    continue
                return meta.columns[fk.field_name], alias, parts[i + 1 :]
            raise _unknown_field(meta, name, key)


def _unknown_field(meta: ModelMeta, name: str, key: str) -> FieldError:
    model = meta.model.__name__
    choices = sorted({*meta.columns, *meta.foreign_keys, "pk"})
    where = f" in {key!r}" if key != name else ""
    if name in meta.reverse:
        return FieldError(
            f"{model}.{name} is a reverse or many-to-many relation and cannot be used{where}; "
            "load it with prefetch()"
        )
    return FieldError(f"{model} has no field {name!r}{where}; valid fields: {', '.join(choices)}")


# -- values -------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def coerce(meta: ModelMeta, column: Column, value: Any, lookup: str = "exact") -> Any:
    """Validate a value for a column the way Pydantic would on the model."""
    tp = column.python_type
    if type(value) is tp:
        return value
    if column.fk is not None and hasattr(value, "_db_meta"):
        # a related instance stands for its key
        value = getattr(value, column.fk.target_field)
        if type(value) is tp:
            return value
    if column.kind in ("json", "any"):
        return value
    if isinstance(value, Expression):
        raise FieldLookupValueError(
            f"{meta.model.__name__}.{column.name}__{lookup}: expressions are not allowed here"
        )
    try:
        return _adapter(tp).validate_python(value)
    except ValidationError as exc:
        msg = exc.errors()[0].get("msg", "invalid value")
        raise FieldLookupValueError(
            f"{meta.model.__name__}.{column.name}__{lookup}: {value!r} is not a valid "
            f"{column.kind} value ({msg})"
        ) from None
    except TypeError:
        raise FieldLookupValueError(
            f"{meta.model.__name__}.{column.name}__{lookup}: {value!r} is not a valid "
            f"{column.kind} value"
        ) from None


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def kind_of(value: Any) -> str:
    """The value kind of a plain Python value (literals in F arithmetic, annotations)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, enum.Enum):
        return "enum"
    if isinstance(value, str):
        return "str"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, dt.timedelta):
        return "timedelta"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    if isinstance(value, dict):
        return "json"
    if isinstance(value, (list, tuple)):
        return "array"
    return "any"


# -- conditions ---------------------------------------------------------------------------


def lookup_condition(scope: Scope, key: str, value: Any) -> Node:
    """``field__lookup=value`` -> a condition node."""
    if scope.annotations:
        head, _, tail = key.partition("__")
        annotation = scope.annotations.get(head)
        if annotation is not None:
            return _annotation_condition(scope, annotation, tail, value)
    column, alias, rest = scope.resolve_path(key)
    meta = scope.meta
    if jsonpath.is_key_path(column, rest):
        return jsonpath.key_condition(scope, column, ("col", alias, column.column), rest, value)
    if len(rest) > 1:
        raise FieldLookupError(
            f"{meta.model.__name__}: cannot resolve {key!r}: {column.name!r} is a "
            f"{column.kind} field and {'__'.join(rest)!r} is not one lookup; valid lookups "
            f"for {column.name}: {', '.join(column.lookups)}"
        )
    lookup = rest[0] if rest else "exact"
    if lookup not in column.lookups:
        raise FieldLookupError(
            f"{meta.model.__name__}.{column.name}: unsupported lookup {lookup!r} for a "
            f"{column.kind} field; valid lookups: {', '.join(column.lookups)}"
        )
    expr: Node = ("col", alias, column.column)
    return _condition(scope, column, expr, lookup, value)


def _annotation_condition(scope: Scope, annotation: Any, lookup: str, value: Any) -> Node:
    """``alias__lookup=value`` on an ``annotate()`` alias: its expression is inlined."""
    column: Column = annotation.column
    lookup = lookup or "exact"
    if lookup not in column.lookups:
        raise FieldLookupError(
            f"{scope.meta.model.__name__}: unsupported lookup {lookup!r} for the annotation "
            f"{column.name!r} ({column.kind}); valid lookups: {', '.join(column.lookups)}"
        )
    return _condition(scope, column, annotation.node, lookup, value)


def _condition(scope: Scope, column: Column, expr: Node, lookup: str, value: Any) -> Node:
    meta = scope.meta
    kind = column.kind
    where = f"{meta.model.__name__}.{column.name}__{lookup}"
    op = _CMP.get(lookup)
    if op is not None:
        if value is None:
            if lookup == "exact":
                return ("null", expr, True)
            if lookup == "ne":
                return ("null", expr, False)
            raise FieldLookupValueError(f"{where}: None is not allowed (use __isnull)")
        if isinstance(value, Expression):
            return ("cmp", op, expr, resolve_expr(scope, value, kind))
        return ("cmp", op, expr, scope.param(kind, coerce(meta, column, value, lookup)))
    like = _LIKE.get(lookup)
    if like is not None:
        if not isinstance(value, str):
            raise FieldLookupValueError(f"{where} takes a string, got {value!r}")
        if "\x00" in value:
            # SQLite ends a LIKE pattern at NUL (it would match too much) and PostgreSQL
            # text cannot hold it: refused alike everywhere
            raise FieldLookupValueError(f"{where}: a pattern cannot contain NUL ({value!r})")
        pattern = like[0] + escape_like(value) + like[1]
        return ("like", expr, scope.param("str", pattern), like[2])
    if lookup == "in":
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise FieldLookupValueError(f"{where} takes a list of values, got {value!r}")
        items = tuple(value)
        # values of the column's own type need nothing (prefetch() passes thousands of
        # keys read from loaded rows): one look at their types instead of a call each
        if not set(map(type, items)) <= {column.python_type}:
            items = tuple(coerce(meta, column, v, lookup) for v in items)
            if any(v is None for v in items):
                raise FieldLookupValueError(f"{where}: None cannot be in the list (use __isnull)")
        scope.values.append(items)
        return ("in", expr, kind, len(scope.values) - 1, len(items))
    if lookup in ("range", "between"):
        if (
            isinstance(value, (str, bytes))
            or not isinstance(value, (list, tuple))
            or len(value) != 2
        ):
            raise FieldLookupValueError(f"{where} takes a (low, high) pair, got {value!r}")
        if value[0] is None or value[1] is None:
            raise FieldLookupValueError(f"{where}: bounds cannot be None")
        lo, hi = (
            resolve_expr(scope, v, kind)
            if isinstance(v, Expression)
            else scope.param(kind, coerce(meta, column, v, lookup))
            for v in value
        )
        return ("between", expr, lo, hi)
    if lookup == "isnull":
        if not isinstance(value, bool):
            raise FieldLookupValueError(f"{where} takes True or False, got {value!r}")
        return ("null", expr, value)
    if lookup in ("year", "month", "day", "date"):
        lo_d, hi_d = _date_range(where, lookup, value)
        if kind == "datetime":
            lo_v: Any = dt.datetime(lo_d.year, lo_d.month, lo_d.day)
            hi_v: Any = dt.datetime(hi_d.year, hi_d.month, hi_d.day)
        else:
            lo_v, hi_v = lo_d, hi_d
        return (
            "and",
            (
                ("cmp", ">=", expr, scope.param(kind, lo_v)),
                ("cmp", "<", expr, scope.param(kind, hi_v)),
            ),
        )
    if lookup == "hour":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
            raise FieldLookupValueError(f"{where} takes an hour (an int 0-23), got {value!r}")
        return ("cmp", "=", ("extract", "hour", expr), scope.param("int", value))
    if lookup in ("regex", "iregex"):
        if not isinstance(value, str):
            raise FieldLookupValueError(f"{where} takes a pattern string, got {value!r}")
        return ("regex", expr, scope.param("str", value), lookup == "iregex")
    raise FieldLookupError(f"{where}: the {lookup!r} lookup is not supported yet")


def _date_range(where: str, lookup: str, value: Any) -> tuple[dt.date, dt.date]:
    """Index-friendly ``[lo, hi)`` bounds for year/month/day/date lookups."""
    try:
        if lookup == "date":
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise TypeError
            return value, value + dt.timedelta(days=1)
        if lookup == "year":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return dt.date(value, 1, 1), dt.date(value + 1, 1, 1)
        if lookup == "month":
            year, month = value
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise TypeError
            days = calendar.monthrange(year, month)[1]
            lo = dt.date(year, month, 1)
            return lo, lo + dt.timedelta(days=days)
        year, month, day = value
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise TypeError
        lo = dt.date(year, month, day)
        return lo, lo + dt.timedelta(days=1)
    except (TypeError, ValueError, OverflowError, calendar.IllegalMonthError):
        expected = {
            "year": "a year (int)",
            "month": "a (year, month) pair",
            "day": "a (year, month, day) triple",
            "date": "a date",
        }[lookup]
        raise FieldLookupValueError(f"{where} takes {expected}, got {value!r}") from None


def q_condition(scope: Scope, q: Q) -> Node | None:
    """A ``Q`` tree -> condition (None for an empty ``Q()``)."""
    parts: list[Node] = []
    for child in q.children:
        if isinstance(child, Q):
            node = q_condition(scope, child)
            if node is not None:
                parts.append(node)
        else:
            parts.append(lookup_condition(scope, child[0], child[1]))
    if not parts:
        return None
    node = parts[0] if len(parts) == 1 else ("and" if q.connector == Q.AND else "or", tuple(parts))
    return ("not", null_guarded(node, scope)) if q.negated else node


_GUARDED = frozenset({"cmp", "like", "in", "between", "regex"})


def null_guarded(cond: Node, scope: Scope) -> Node:
    """``cond`` made to be false, never unknown, on NULL columns, for use under NOT.

    SQL's ``NOT (col = 1)`` is unknown when ``col`` is NULL, so such rows would vanish
    from ``exclude(col=1)``; Django keeps them, and so do we: a comparison on a column that
    can be NULL (a nullable column, or any column of a LEFT JOINed relation) also requires
    it to be NOT NULL, which makes the negation true for NULLs.
    """
    tag = cond[0]
    if tag in ("and", "or"):
        return (tag, tuple(null_guarded(c, scope) for c in cond[1]))
    if tag in _GUARDED:
        # operands that are columns: the lhs, and for comparisons an F() rhs too
        operands = (cond[2], cond[3]) if tag == "cmp" else (cond[1],)
        guards = tuple(("null", o, False) for o in operands if _maybe_null(scope, o))
        if guards:
            return ("and", (cond, *guards))
    return cond


def _maybe_null(scope: Scope, node: Node) -> bool:
    if node[0] != "col":
        return False
    if node[1] != scope.alias:
        return True  # a LEFT JOINed table: no matching row reads as NULL
    field = scope.meta.field_by_column.get(node[2])
    column = scope.meta.columns.get(field) if field is not None else None
    return column is None or column.nullable


def filter_condition(scope: Scope, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node | None:
    parts: list[Node] = []
    for arg in args:
        if not isinstance(arg, Q):
            raise TypeError(f"filter() positional arguments must be Q objects, got {arg!r}")
        node = q_condition(scope, arg)
        if node is not None:
            parts.append(node)
    for key, value in kwargs.items():
        parts.append(lookup_condition(scope, key, value))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ("and", tuple(parts))


# -- expressions --------------------------------------------------------------------------


def field_expr(scope: Scope, name: str) -> tuple[Node, Column]:
    if scope.annotations:
        annotation = scope.annotations.get(name)
        if annotation is not None:
            return annotation.node, annotation.column
    column, alias, rest = scope.resolve_path(name)
    if rest and len(rest) == 1 and rest[0] in _DATE_PARTS.get(column.kind, ()):
        # ``values("created__year")``: a date part, as an int (time-based grouping)
        return ("extract", rest[0], ("col", alias, column.column)), _part_column(rest[0])
    if rest:
        raise FieldError(
            f"{scope.meta.model.__name__}: {name!r} does not name a field "
            f"({'__'.join(rest)!r} is left over)"
        )
    return ("col", alias, column.column), column


#: the date parts ``field_expr`` reads from a column of each kind (``"published__year"``)
_DATE_PARTS = {"datetime": ("year", "month", "day", "hour"), "date": ("year", "month", "day")}


@lru_cache(maxsize=8)
def _part_column(part: str) -> Column:
    return Column(
        name=part, column=part, kind="int", python_type=int, nullable=True,
        lookups=lookups_for("int"),
    )  # fmt: skip


def resolve_expr(scope: Scope, value: Any, kind_hint: str = "any") -> Node:
    """An expression or plain value -> expression node."""
    if isinstance(value, F):
        return field_expr(scope, value.name)[0]
    if isinstance(value, Combined):
        lhs_hint = _hint(scope, value.rhs, kind_hint)
        rhs_hint = _hint(scope, value.lhs, kind_hint)
        return (
            "op",
            value.op,
            resolve_expr(scope, value.lhs, lhs_hint),
            resolve_expr(scope, value.rhs, rhs_hint),
        )
    if isinstance(value, Negated):
        return ("neg", resolve_expr(scope, value.operand, kind_hint))
    if isinstance(value, Aggregate):
        arg = None if value.field == "*" else field_expr(scope, value.field)[0]
        return ("agg", value.function, arg, value.distinct)
    if isinstance(value, Concat):
        sep = scope.param("str", value.separator) if value.separator else None
        return ("concat", tuple(_text_part(scope, p) for p in value.parts), sep)
    if isinstance(value, Coalesce):
        return ("fn", "COALESCE", tuple(_part(scope, p) for p in value.parts))
    if isinstance(value, RawSQL):
        return ("raw", value.sql)
    if isinstance(value, Expression):
        raise TypeError(f"unsupported expression {value!r}")
    kind = kind_of(value) if kind_hint == "any" else kind_hint
    return scope.param(kind, value)


def _part(scope: Scope, part: Any) -> Node:
    # Concat/Coalesce take field names as plain strings, as in the public API
    if isinstance(part, str):
        return field_expr(scope, part)[0]
    return resolve_expr(scope, part)


def _text_part(scope: Scope, part: Any) -> Node:
    # PostgreSQL has no || between two non-text values: other kinds are cast to text
    node = _part(scope, part)
    kind = expr_kind(scope, F(part) if isinstance(part, str) else part)
    return node if kind == "str" else ("cast_text", node)


def _hint(scope: Scope, other: Any, default: str) -> str:
    """The kind a literal takes from the other operand (``F("price") * 2`` -> decimal)."""
    if isinstance(other, F):
        return field_expr(scope, other.name)[1].kind
    if isinstance(other, (Combined, Negated)):
        return default
    if isinstance(other, Expression):
        return default
    return default if default != "any" else kind_of(other)


def expr_kind(scope: Scope, value: Any) -> str:
    """Best-known value kind of an expression (for converting what comes back)."""
    if isinstance(value, F):
        return field_expr(scope, value.name)[1].kind
    if isinstance(value, Aggregate):
        if value.function == "COUNT":
            return "int"
        if value.function == "AVG":
            col = field_expr(scope, value.field)[1]
            return "decimal" if col.kind == "decimal" else "float"
        return field_expr(scope, value.field)[1].kind
    if isinstance(value, Combined):
        left = expr_kind(scope, value.lhs)
        return left if left != "any" else expr_kind(scope, value.rhs)
    if isinstance(value, Negated):
        return expr_kind(scope, value.operand)
    if isinstance(value, (Concat,)):
        return "str"
    if isinstance(value, Coalesce):
        for part in value.parts:
            kind = expr_kind(scope, F(part) if isinstance(part, str) else part)
            if kind != "any":
                return kind
        return "any"
    if isinstance(value, RawSQL):
        return "any"
    return kind_of(value)
