"""The query IR: the plain-data contract between ``oxyde.queries`` and ``oxyde.sql``.

A statement is a tree of tuples whose first item is a tag. The tree holds the query's
*shape* only; the values live in a separate flat list and are referenced by index from
``("p", kind, idx)`` nodes. Two queries that differ only in their values therefore have
equal (and equally hashed) trees, which is what the compiler caches on
(``oxyde/sql/compiler.py``). Identifiers in the tree come from model metadata only,
never from user input; the compiler quotes them in one place.

Statements
----------
``("select", src, cols, where, group_by, having, order_by, limit, offset, distinct, lock)``
    src       ``("table", name, schema|None, alias|None, joins)`` or
              ``("subquery", select_node | union_node, alias)``
    joins     tuple of ``("join", "LEFT"|"INNER", name, schema|None, alias, on_cond)``
    cols      tuple of ``(expr, out_alias|None)``; an empty tuple means ``*``
    where     cond or None
    group_by  tuple of expr
    having    cond or None
    order_by  tuple of ``(expr, descending: bool)``
    limit     None or ``("p", "int", idx)``
    offset    None or ``("p", "int", idx)`` (valid without a limit on every dialect)
    distinct  bool
    lock      None or ``(mode "update"|"share", nowait, skip_locked, of: tuple[str, ...])``

``("insert", name, schema|None, columns, kinds, nrows, returning, conflict)``
    columns   tuple of column names; kinds the matching tuple of value kinds
    nrows     how many rows; the values are consumed row-major starting at ``first_idx``
              (see ``INSERT_FIRST_IDX``): row r, column c is ``values[first + r*ncols + c]``
    returning None or tuple of column names
    conflict  None, ``("ignore", target_cols)`` or ``("update", target_cols, update_cols)``

``("update", name, schema|None, sets, where, returning)``
    sets      tuple of ``(column, expr)``

``("delete", name, schema|None, where, returning)``

``("union", selects, all_flags, order_by, limit, offset)``
    selects   tuple of select nodes; all_flags[i] tells whether selects[i+1] joins with
              UNION ALL

Expressions
-----------
``("col", alias|None, column)``        a column, qualified by a table alias when joins exist
``("p", kind, idx)``                   the bound value ``values[idx]`` (see kinds below)
``("lit", sql)``                       trusted literal SQL emitted by oxyde itself
``("raw", sql)``                       user ``RawSQL`` text (annotate only)
``("fn", NAME, args)``                 a scalar function from ``FUNCTIONS``
``("agg", NAME, arg|None, distinct)``  an aggregate from ``AGGREGATES``; arg None is ``*``
``("op", op, lhs, rhs)``               arithmetic, op in ``ARITH_OPS``
``("neg", expr)``
``("checked", kind, expr, precision, scale)``
                                       ``expr`` (arithmetic) stored into a column of kind
                                       "int" or "decimal" with that NUMERIC precision and
                                       scale (ints or None); a dialect whose own arithmetic
                                       would change the value renders it through its
                                       ``store_checks`` functions, others as ``expr``
``("concat", args, separator)``        separator is None or an expr
``("random",)``                        the dialect's random function (``order_by("?")``)
``("json_get", expr, path_idx, kind)`` JSON key path (a tuple value at path_idx), as text
``("extract", part, expr)``            an integer field of a datetime; part in ``EXTRACT_PARTS``
``("subq", select_node)``              a scalar subquery ``(SELECT ...)`` (one row, one column)
``("cast_text", expr)``                the value as text (``CAST(... AS TEXT)``, MySQL ``CHAR``)
``("cast_float", expr)``               the value as a double (``AVG`` of integers keeps its
                                       fraction: MySQL's DECIMAL average has 4 digits)

Conditions
----------
``("and", conds)``, ``("or", conds)``, ``("not", cond)``
``("cmp", op, lhs, rhs)``              op in ``CMP_OPS``
``("null", expr, is_null)``
``("like", expr, rhs, ci)``            rhs is an escaped pattern; ci wraps both in LOWER()
``("in", expr, kind, idx, n)``         ``values[idx]`` is a sequence of n items; n == 0
                                       matches nothing (and ``NOT`` of it everything)
``("between", expr, lo, hi)``
``("in_query", expr, select_node)``  ``expr IN (SELECT ...)``
``("const", truth)``                   always true / always false
``("regex", expr, rhs, ci)``
``("json_has", expr, path_idx)``       the JSON key path (a tuple value) exists, even as null
``("json_cmp", op, expr, path_idx, jtype, rhs)``
                                       ``<value at path> op rhs``, true only where that value
                                       has JSON type jtype ("str", "num", "bool"; "null" tests
                                       for a JSON null and ignores op and rhs); a bool rhs is
                                       bound as the text "true"/"false"

Value kinds
-----------
The kind of a ``("p", kind, idx)`` node tells the dialect how to adapt the Python value
to its driver (``Dialect.adapters``): see ``KINDS``. ``"any"`` means pass through.
"""

from __future__ import annotations

from typing import Any

#: Every value kind a column or a bound value can have.
KINDS = (
    "int",
    "float",
    "bool",
    "str",
    "bytes",
    "datetime",
    "date",
    "time",
    "timedelta",
    "uuid",
    "decimal",
    "json",
    "array",
    "enum",
    "any",
)

CMP_OPS = frozenset({"=", "<>", "<", "<=", ">", ">="})
ARITH_OPS = frozenset({"+", "-", "*", "/", "%"})
AGGREGATES = frozenset({"COUNT", "SUM", "AVG", "MAX", "MIN"})
FUNCTIONS = frozenset({"LOWER", "UPPER", "COALESCE", "LENGTH", "ABS"})
EXTRACT_PARTS = frozenset({"year", "month", "day", "hour"})
JSON_TYPES = frozenset({"str", "num", "bool", "null"})

#: Values of an INSERT start at this index of the value list (rows row-major).
INSERT_FIRST_IDX = 0

Node = tuple[Any, ...]
