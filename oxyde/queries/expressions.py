"""User-facing expression objects: ``F``, ``Q``, aggregates and scalar functions.

These are small immutable descriptions. They know nothing about SQL; the query layer
resolves them against a model (``oxyde/queries/resolve.py``) into IR nodes, which is
where field names are checked.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Aggregate",
    "Avg",
    "Coalesce",
    "Concat",
    "Count",
    "Expression",
    "F",
    "Max",
    "Min",
    "OrderBy",
    "Q",
    "RawSQL",
    "Sum",
]


class Expression:
    """Base of everything that can stand where a value or column can."""

    __slots__ = ()

    def _arith(self, op: str, other: Any, reflected: bool = False) -> Combined:
        return Combined(op, other, self) if reflected else Combined(op, self, other)

    def __add__(self, other: Any) -> Combined:
        return self._arith("+", other)

    def __radd__(self, other: Any) -> Combined:
        return self._arith("+", other, True)

    def __sub__(self, other: Any) -> Combined:
        return self._arith("-", other)

    def __rsub__(self, other: Any) -> Combined:
        return self._arith("-", other, True)

    def __mul__(self, other: Any) -> Combined:
        return self._arith("*", other)

    def __rmul__(self, other: Any) -> Combined:
        return self._arith("*", other, True)

    def __truediv__(self, other: Any) -> Combined:
        return self._arith("/", other)

    def __rtruediv__(self, other: Any) -> Combined:
        return self._arith("/", other, True)

    def __mod__(self, other: Any) -> Combined:
        return self._arith("%", other)

    def __neg__(self) -> Negated:
        return Negated(self)

    def asc(self) -> OrderBy:
        """This expression as an ascending ``order_by()`` item."""
        return OrderBy(self, descending=False)

    def desc(self) -> OrderBy:
        """This expression as a descending ``order_by()`` item."""
        return OrderBy(self, descending=True)


class OrderBy:
    """An ``order_by()`` item made from an expression: ``F("views").desc()``."""

    __slots__ = ("descending", "expression")

    def __init__(self, expression: Expression, *, descending: bool = False) -> None:
        if not isinstance(expression, Expression):
            raise TypeError(f"OrderBy() takes an expression, got {expression!r}")
        self.expression = expression
        self.descending = bool(descending)

    def __repr__(self) -> str:
        return f"{self.expression!r}.{'desc' if self.descending else 'asc'}()"


class F(Expression):
    """A reference to a field of the model: ``F("views") + 1``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"F() takes a field name, got {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"F({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, F) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("F", self.name))


class Combined(Expression):
    """Arithmetic between expressions and plain values."""

    __slots__ = ("lhs", "op", "rhs")

    def __init__(self, op: str, lhs: Any, rhs: Any) -> None:
        self.op = op
        self.lhs = lhs
        self.rhs = rhs

    def __repr__(self) -> str:
        return f"({self.lhs!r} {self.op} {self.rhs!r})"


class Negated(Expression):
    __slots__ = ("operand",)

    def __init__(self, operand: Any) -> None:
        self.operand = operand

    def __repr__(self) -> str:
        return f"-{self.operand!r}"


class Aggregate(Expression):
    """``COUNT``/``SUM``/``AVG``/``MAX``/``MIN`` over a field (``"*"`` for ``Count()``)."""

    __slots__ = ("distinct", "field")
    function = ""

    def __init__(self, field: str = "*", *, distinct: bool = False) -> None:
        if not isinstance(field, str) or not field:
            raise TypeError(f"{type(self).__name__}() takes a field name, got {field!r}")
        if field == "*" and type(self) is not Count:
            raise TypeError(f"{type(self).__name__}() needs a field name")
        self.field = field
        self.distinct = bool(distinct)

    def __repr__(self) -> str:
        extra = ", distinct=True" if self.distinct else ""
        return f"{type(self).__name__}({self.field!r}{extra})"


class Count(Aggregate):
    __slots__ = ()
    function = "COUNT"


class Sum(Aggregate):
    __slots__ = ()
    function = "SUM"


class Avg(Aggregate):
    __slots__ = ()
    function = "AVG"


class Max(Aggregate):
    __slots__ = ()
    function = "MAX"


class Min(Aggregate):
    __slots__ = ()
    function = "MIN"


class Concat(Expression):
    """String concatenation of fields (or expressions) with an optional separator."""

    __slots__ = ("parts", "separator")

    def __init__(self, *fields: Any, separator: str = "") -> None:
        if len(fields) < 2:
            raise TypeError("Concat() needs at least two fields")
        self.parts = fields
        self.separator = separator


class Coalesce(Expression):
    """The first non-NULL of several fields (or expressions)."""

    __slots__ = ("parts",)

    def __init__(self, *fields: Any) -> None:
        if len(fields) < 2:
            raise TypeError("Coalesce() needs at least two fields")
        self.parts = fields


class RawSQL(Expression):
    """Verbatim SQL for ``annotate()``; the caller vouches for its safety."""

    __slots__ = ("sql",)

    def __init__(self, sql: str) -> None:
        if not isinstance(sql, str) or not sql.strip():
            raise TypeError("RawSQL() takes a non-empty SQL string")
        self.sql = sql


class Q:
    """A tree of lookups combined with ``&``, ``|`` and ``~``.

    ``Q(a=1, b=2)`` ANDs its keyword lookups; ``Q()`` matches everything and vanishes
    when combined.
    """

    __slots__ = ("children", "connector", "negated")

    AND = "AND"
    OR = "OR"

    def __init__(
        self, *args: Q, _connector: str = "AND", _negated: bool = False, **lookups: Any
    ) -> None:
        if _connector not in (self.AND, self.OR):
            raise ValueError(f"Q connector must be 'AND' or 'OR', got {_connector!r}")
        for arg in args:
            if not isinstance(arg, Q):
                raise TypeError(f"Q() positional arguments must be Q objects, got {arg!r}")
        children: list[Q | tuple[str, Any]] = list(args)
        children.extend(lookups.items())
        self.children: tuple[Q | tuple[str, Any], ...] = tuple(children)
        self.connector = _connector
        self.negated = _negated

    def _combine(self, other: Q, connector: str) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        if not other.children:
            return self
        if not self.children:
            return other
        return Q(self, other, _connector=connector)

    def __and__(self, other: Q) -> Q:
        return self._combine(other, self.AND)

    def __or__(self, other: Q) -> Q:
        return self._combine(other, self.OR)

    def __invert__(self) -> Q:
        q = Q(_connector=self.connector, _negated=not self.negated)
        q.children = self.children
        return q

    def __repr__(self) -> str:
        inner = f" {self.connector} ".join(repr(c) for c in self.children)
        return f"{'~' if self.negated else ''}Q({inner})"
