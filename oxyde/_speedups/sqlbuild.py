# mypy: allow-untyped-decorators, allow-any-generics, no-warn-return-any
"""IR tree -> SQL text and param plan (on a compiler cache miss), and plan + values -> params.

Cython pure-Python mode: this file is both the compiled module and its pure fallback, and
it is also loaded standalone under another module name, so it imports nothing from oxyde.
The grammar it reads is documented in ``oxyde/sql/ir.py``. The dialect
(``oxyde/sql/dialects/base.py``) is plain data: feature flags, literal snippets and the SQL
templates of its ``syntax`` record, read once per dialect object into a ``_Spec``. This
module knows no dialect by name: a new dialect needs no change here. Identifiers and
literal text go through the dialect's own ``quote_ident`` and ``driver_text`` (remembered
per dialect), the one place they are quoted and escaped.

The *param plan* has one entry per value reference, in the order the placeholders appear
in the text: ``(value_index, kind, mode)``. ``mode`` says how ``bind`` turns that value
into driver parameters: one scalar, a list expanded into one parameter per item (IN lists,
one placeholder per item in the text), a list bound as one array (``= ANY($1)`` where
the dialect has ``array_in``), or a JSON key path bound as a text array or as a ``$."k"``
path string.
"""

try:
    import cython
except ModuleNotFoundError:  # pure-Python install without Cython
    from oxyde._speedups import _cython_shim as cython

import json
from typing import Any

# Plan modes: plain ints, so plans stay plain hashable data. C constants when compiled.
SCALAR: cython.int = 0
EXPAND: cython.int = 1
ARRAY: cython.int = 2
PATH_ARRAY: cython.int = 3
PATH_TEXT: cython.int = 4

# A copy of the grammar's name sets (oxyde/sql/ir.py): this module may not import oxyde.
# tests/speedups checks both copies agree.
CMP_OPS = frozenset({"=", "<>", "<", "<=", ">", ">="})
ARITH_OPS = frozenset({"+", "-", "*", "/", "%"})
AGGREGATES = frozenset({"COUNT", "SUM", "AVG", "MAX", "MIN"})
FUNCTIONS = frozenset({"LOWER", "UPPER", "COALESCE", "LENGTH", "ABS"})

# The slots of a dialect's SQL templates: a copy of oxyde/sql/dialects/base.py (this
# module may not import oxyde); tests/speedups checks both copies agree.
SLOT_ARG: cython.int = 0
SLOT_ARG2: cython.int = 1
SLOT_OP: cython.int = 2
SLOT_PATH_ARRAY: cython.int = 3
SLOT_PATH_TEXT: cython.int = 4

# ``("extract", part, expr)``: the parts the grammar knows.
_EXTRACT_PARTS = frozenset({"year", "month", "day", "hour"})

# ``json_cmp`` value types.
_JSON_JTYPES = frozenset({"str", "num", "bool", "null"})

# Prepared dialects (``_Spec``) by dialect object. Dialects are few (the three, plus the
# variants backends derive once per server kind); the bound only guards against code
# that derives a new one per query.
_SPECS: dict = {}
_MAX_SPECS: cython.Py_ssize_t = 64
# Identifiers and literal texts remembered per dialect: they come from model metadata
# and code, so a real application stays far below this.
_MAX_MEMO: cython.Py_ssize_t = 8192


def _is_compiled() -> bool:
    return bool(cython.compiled)


@cython.cfunc
def _node(node: object, size: cython.Py_ssize_t, what: str) -> tuple:
    """``node`` as a tuple of ``size`` items, or a ValueError naming what was expected."""
    if type(node) is not tuple:
        raise ValueError(f"malformed IR: expected {what} node, got {node!r}")
    t: tuple = node
    if len(t) != size:
        raise ValueError(
            f"malformed IR: {t[0]!r} node takes {size} items, got {len(t)}: {t!r}"
            if len(t)
            else f"malformed IR: empty {what} node"
        )
    return t


@cython.cfunc
def _int_sql(value: object) -> str:
    """An int from the IR (a column's precision or scale) as SQL, None as NULL."""
    if value is None:
        return "NULL"
    if type(value) is not int:
        raise ValueError(f"malformed IR: expected an int or None, got {value!r}")
    return str(value)


@cython.cfunc
def _seq(value: object, what: str) -> tuple:
    if type(value) is not tuple:
        raise ValueError(f"malformed IR: {what} must be a tuple, got {value!r}")
    return value


@cython.cfunc
def _template(spec: "_Spec", template: object, what: str) -> Any:
    """A dialect template with its SQL text pieces as the driver takes them."""
    if template is None:
        return None
    pieces: tuple = _seq(template, f"the {what} template of dialect {spec.name!r}")
    out: list = []
    for piece in pieces:
        if type(piece) is str:
            text: str = spec.text(piece)
            if len(text):
                out.append(text)
        elif type(piece) is int and SLOT_ARG <= piece <= SLOT_PATH_TEXT:
            out.append(piece)
        else:
            raise ValueError(f"dialect {spec.name!r}: bad piece {piece!r} in its {what} template")
    return tuple(out)


@cython.cfunc
def _templates(spec: "_Spec", templates: Any, what: str) -> dict:
    return {key: _template(spec, t, f"{what} {key!r}") for key, t in dict(templates).items()}


@cython.final
@cython.cclass
class _Spec:
    """One dialect as the builder reads it: prepared once per dialect object."""

    dialect: Any
    name: str
    idents: dict
    texts: dict
    marker: str
    numbered: cython.bint
    array_in: cython.bint
    returning: cython.bint
    returning_on: frozenset
    row_locks: cython.bint
    pipes: cython.bint
    dup_key: cython.bint
    random_sql: str
    offset_only_limit: str
    true_sql: str
    false_sql: str
    store_checks: dict
    decimal_arith: str
    text_ranges: frozenset
    cast_text: tuple
    cast_float: tuple
    extract: dict
    like: tuple
    ilike: tuple
    regex: tuple
    iregex: tuple
    json_text: tuple
    json_has: tuple
    json_cmp: dict
    lock_update: str
    lock_share: str
    lock_of: cython.bint
    insert_defaults: str
    insert_defaults_more: str

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect
        self.name = str(dialect.name)
        self.idents = {}
        self.texts = {}
        syntax = dialect.syntax
        # the marker is the one text the driver's formatting consumes: never escaped
        marker = syntax.marker
        if type(marker) is not str or not marker:
            raise ValueError(f"dialect {self.name!r}: the placeholder marker must be a str")
        self.marker = marker
        self.numbered = bool(syntax.numbered)
        self.array_in = bool(dialect.array_in)
        self.returning = bool(dialect.returning)
        # statements with RETURNING where ``returning`` is False (e.g. INSERT and DELETE)
        self.returning_on = frozenset(dialect.returning_on)
        self.row_locks = bool(dialect.row_locks)
        concat_style = dialect.concat_style
        if concat_style not in ("pipes", "concat"):
            raise ValueError(f"unknown concat style {concat_style!r}; expected 'concat' or 'pipes'")
        self.pipes = concat_style == "pipes"
        upsert_style = dialect.upsert_style
        if upsert_style not in ("on_conflict", "on_duplicate_key"):
            raise ValueError(
                f"unknown upsert style {upsert_style!r}; expected 'on_conflict' or "
                "'on_duplicate_key'"
            )
        self.dup_key = upsert_style == "on_duplicate_key"
        self.random_sql = self.text(dialect.random_sql)
        offset_only = dialect.offset_only_limit
        # "" when OFFSET alone is valid SQL
        self.offset_only_limit = "" if offset_only is None else self.text(offset_only)
        self.true_sql = self.text(dialect.true_sql)
        self.false_sql = self.text(dialect.false_sql)
        # arithmetic stored into int/decimal columns: functions where the dialect needs
        # them to keep the value exact or fail (``store_checks``), plain operators elsewhere
        self.store_checks = dict(dialect.store_checks or {})
        self.decimal_arith = self.text(dialect.decimal_arith or "")
        # kinds stored as text in several spellings per value (datetimes as text)
        self.text_ranges = frozenset(dialect.text_ranges or ())
        self.cast_text = _template(self, syntax.cast_text, "cast_text")
        self.cast_float = _template(self, syntax.cast_float, "cast_float")
        self.extract = _templates(self, syntax.extract, "extract")
        self.like = _template(self, syntax.like, "like")
        self.ilike = _template(self, syntax.ilike, "ilike")
        self.regex = _template(self, syntax.regex, "regex")
        self.iregex = _template(self, syntax.iregex, "iregex")
        self.json_text = _template(self, syntax.json_text, "json_text")
        self.json_has = _template(self, syntax.json_has, "json_has")
        self.json_cmp = _templates(self, syntax.json_cmp, "json_cmp")
        self.lock_update = self.text(syntax.lock_update)
        self.lock_share = self.text(syntax.lock_share)
        self.lock_of = bool(syntax.lock_of)
        self.insert_defaults = self.text(syntax.insert_defaults)
        self.insert_defaults_more = self.text(syntax.insert_defaults_more)

    @cython.cfunc
    def text(self, sql: object) -> str:
        """Literal SQL text as the driver takes it (the dialect's ``driver_text``)."""
        if type(sql) is not str:
            raise ValueError(f"malformed IR: SQL text must be a str, got {sql!r}")
        memo: dict = self.texts
        done = memo.get(sql)
        if done is None:
            done = self.dialect.driver_text(sql)
            if len(memo) >= _MAX_MEMO:
                memo.clear()
            memo[sql] = done
        return done

    @cython.cfunc
    def ident(self, name: object) -> str:
        """An identifier quoted by the dialect's ``quote_ident``, as the driver takes it."""
        if type(name) is not str:
            raise ValueError(f"malformed IR: identifier must be a str, got {name!r}")
        memo: dict = self.idents
        done = memo.get(name)
        if done is None:
            done = self.dialect.driver_text(self.dialect.quote_ident(name))
            if len(memo) >= _MAX_MEMO:
                memo.clear()
            memo[name] = done
        return done


@cython.cfunc
def _spec(dialect: object) -> _Spec:
    found = _SPECS.get(dialect)
    if found is not None:
        return found
    spec: _Spec = _Spec(dialect)
    if len(_SPECS) >= _MAX_SPECS:
        _SPECS.clear()
    _SPECS[dialect] = spec
    return spec


@cython.final
@cython.cclass
class _Builder:
    """Accumulates SQL pieces and plan entries while walking one statement."""

    out: list
    plan: list
    d: _Spec
    count: cython.Py_ssize_t
    in_decimal: cython.bint

    def __init__(self, dialect: Any) -> None:
        self.d = _spec(dialect)
        self.out = []
        self.plan = []
        self.count = 0
        self.in_decimal = False

    # -- text ----------------------------------------------------------------------------

    @cython.cfunc
    def text(self, sql: object) -> str:
        """Literal SQL text; with ``%s`` placeholders a literal ``%`` must be doubled."""
        return self.d.text(sql)

    @cython.cfunc
    def ident(self, name: object) -> str:
        return self.d.ident(name)

    @cython.cfunc
    def table(self, name: object, schema: object) -> str:
        if schema is None:
            return self.d.ident(name)
        return self.d.ident(schema) + "." + self.d.ident(name)

    @cython.cfunc
    def ident_list(self, names: object, what: str) -> str:
        return ", ".join([self.d.ident(n) for n in _seq(names, what)])

    # -- placeholders ----------------------------------------------------------------------

    @cython.cfunc
    def marker(self) -> str:
        self.count += 1
        if self.d.numbered:
            return self.d.marker + str(self.count)
        return self.d.marker

    @cython.cfunc
    def ref(self, idx: object, kind: object, mode: cython.int) -> None:
        """Add a plan entry for ``values[idx]``; the caller emits its markers."""
        if type(idx) is not int or type(kind) is not str:
            raise ValueError(
                f"malformed IR: a value reference needs an int index and a str kind, "
                f"got {idx!r}, {kind!r}"
            )
        self.plan.append((idx, kind, mode))

    @cython.cfunc
    def param(self, idx: object, kind: object, mode: cython.int) -> None:
        self.ref(idx, kind, mode)
        self.out.append(self.marker())

    # -- values stored as text in several spellings -------------------------------------

    @cython.cfunc
    def is_text_range(self, node: object) -> cython.bint:
        if len(self.d.text_ranges) == 0 or type(node) is not tuple:
            return False
        t: tuple = node
        return len(t) == 3 and t[0] == "p" and t[1] in self.d.text_ranges

    @cython.cfunc
    def next_value(self, node: tuple) -> None:
        """The param ``node`` through its kind's ``<kind>_next`` adapter: the canonical
        text of the next representable value, which every spelling of the value sorts
        below (and every spelling of a later value at or above)."""
        self.param(node[2], node[1] + "_next", SCALAR)

    @cython.cfunc
    def text_range_cmp(self, op: str, lhs: object, rhs: tuple) -> None:
        """``lhs op rhs`` for a kind stored as text in several spellings (datetimes
        as text with or without fraction digits or a UTC suffix): each value is the
        text range [canonical(v), canonical(next v)), so = and <> test the range and
        <= and > compare with its end. Plain comparisons of the column, so an index on
        it still serves them."""
        out: list = self.out
        if op == "<=" or op == ">":
            self.expr(lhs)
            out.append(" < " if op == "<=" else " >= ")
            self.next_value(rhs)
            return
        out.append("(")
        self.expr(lhs)
        out.append(" >= " if op == "=" else " < ")
        self.expr(rhs)
        out.append(" AND " if op == "=" else " OR ")
        self.expr(lhs)
        out.append(" < " if op == "=" else " >= ")
        self.next_value(rhs)
        out.append(")")

    # -- expressions -----------------------------------------------------------------------

    @cython.cfunc
    def expr(self, node: object) -> None:
        if type(node) is not tuple or len(node) == 0:
            raise ValueError(f"malformed IR: expected an expression node, got {node!r}")
        t: tuple = node
        tag = t[0]
        out: list = self.out
        if tag == "col":
            t = _node(t, 3, "col")
            column = t[2]
            if t[1] is not None:
                out.append(self.ident(t[1]))
                out.append(".")
            out.append("*" if column == "*" else self.ident(column))
        elif tag == "p":
            t = _node(t, 3, "p")
            self.param(t[2], t[1], SCALAR)
        elif tag == "op":
            t = _node(t, 4, "op")
            op = t[1]
            if op not in ARITH_OPS:
                raise ValueError(
                    f"unknown arithmetic operator {op!r}; expected one of {_names(ARITH_OPS)}"
                )
            if self.in_decimal:
                out.append(self.d.decimal_arith + "(")
                self.expr(t[2])
                out.append(", '" + self.text(op) + "', ")
                self.expr(t[3])
                out.append(")")
            else:
                out.append("(")
                self.expr(t[2])
                out.append(" " + self.text(op) + " ")
                self.expr(t[3])
                out.append(")")
        elif tag == "checked":
            t = _node(t, 5, "checked")
            check = self.d.store_checks.get(t[1])
            if check is None:
                self.expr(t[2])
            else:
                out.append(self.text(check) + "(")
                outer: cython.bint = self.in_decimal
                self.in_decimal = t[1] == "decimal" and len(self.d.decimal_arith) > 0
                self.expr(t[2])
                self.in_decimal = outer
                out.append(", " + _int_sql(t[3]) + ", " + _int_sql(t[4]) + ")")
        elif tag == "agg":
            t = _node(t, 4, "agg")
            fname = t[1]
            if fname not in AGGREGATES:
                raise ValueError(
                    f"unknown aggregate {fname!r}; expected one of {_names(AGGREGATES)}"
                )
            out.append(fname + "(")
            if t[3]:
                out.append("DISTINCT ")
            if t[2] is None:
                out.append("*")
            else:
                self.expr(t[2])
            out.append(")")
        elif tag == "fn":
            t = _node(t, 3, "fn")
            fname = t[1]
            if fname not in FUNCTIONS:
                raise ValueError(f"unknown function {fname!r}; expected one of {_names(FUNCTIONS)}")
            out.append(fname + "(")
            self.expr_list(_seq(t[2], "function arguments"))
            out.append(")")
        elif tag == "lit":
            t = _node(t, 2, "lit")
            out.append(self.text(t[1]))
        elif tag == "raw":
            # parenthesised so user text cannot bind to the operators around it
            t = _node(t, 2, "raw")
            out.append("(" + self.text(t[1]) + ")")
        elif tag == "neg" and self.in_decimal:
            t = _node(t, 2, "neg")
            out.append(self.d.decimal_arith + "(0, '-', ")
            self.expr(t[1])
            out.append(")")
        elif tag == "neg":
            t = _node(t, 2, "neg")
            out.append("(-")
            mark: cython.Py_ssize_t = len(out)
            self.expr(t[1])
            # "--" would start a comment
            first: str = out[mark]
            if first.startswith("-"):
                out[mark] = " " + first
            out.append(")")
        elif tag == "concat":
            t = _node(t, 3, "concat")
            self.concat(_seq(t[1], "concat arguments"), t[2])
        elif tag == "random":
            _node(t, 1, "random")
            out.append(self.d.random_sql)
        elif tag == "json_get":
            t = _node(t, 4, "json_get")
            self.json_get(t[1], t[2])
        elif tag == "extract":
            t = _node(t, 3, "extract")
            self.extract(t[1], t[2])
        elif tag == "subq":
            t = _node(t, 2, "subq")
            out.append("(")
            self.select(t[1])
            out.append(")")
        elif tag == "cast_text":
            t = _node(t, 2, "cast_text")
            self.emit(self.d.cast_text, t[1], None, None, None)
        elif tag == "cast_float":
            t = _node(t, 2, "cast_float")
            self.emit(self.d.cast_float, t[1], None, None, None)
        else:
            raise ValueError(f"unknown expression tag {tag!r}")

    @cython.cfunc
    def expr_list(self, nodes: tuple) -> None:
        i: cython.Py_ssize_t
        for i in range(len(nodes)):
            if i:
                self.out.append(", ")
            self.expr(nodes[i])

    @cython.cfunc
    def concat(self, args: tuple, sep: object) -> None:
        if len(args) == 0:
            raise ValueError("malformed IR: concat needs at least one argument")
        i: cython.Py_ssize_t
        out: list = self.out
        joiner = " || " if self.d.pipes else ", "
        # CONCAT(a, sep, b) rather than CONCAT_WS: NULL then propagates as with ||
        out.append("(" if self.d.pipes else "CONCAT(")
        for i in range(len(args)):
            if i:
                out.append(joiner)
                if sep is not None:
                    self.expr(sep)
                    out.append(joiner)
            self.expr(args[i])
        out.append(")")

    @cython.cfunc
    def emit(self, template: tuple, arg: object, arg2: object, op: object, path: object) -> None:
        """A dialect template with its slots filled (``oxyde/sql/dialects/base.py``)."""
        out: list = self.out
        slot: cython.int
        for piece in template:
            if type(piece) is str:
                out.append(piece)
                continue
            slot = piece
            if slot == SLOT_ARG:
                self.expr(arg)
            elif slot == SLOT_ARG2:
                self.expr(arg2)
            elif slot == SLOT_OP:
                out.append(op)
            elif slot == SLOT_PATH_ARRAY:
                self.param(path, "json_path", PATH_ARRAY)
            else:
                self.param(path, "json_path", PATH_TEXT)

    @cython.cfunc
    def json_get(self, target: object, path_idx: object) -> None:
        if self.d.json_text is None:
            raise ValueError(f"dialect {self.d.name!r} has no JSON path syntax")
        self.emit(self.d.json_text, target, None, None, path_idx)

    @cython.cfunc
    def extract(self, part: object, target: object) -> None:
        """One integer field of a date/time value (``hour``)."""
        if part not in _EXTRACT_PARTS:
            raise ValueError(
                f"unknown extract field {part!r}; expected one of {_names(_EXTRACT_PARTS)}"
            )
        template = self.d.extract.get(part)
        if template is None:
            raise ValueError(f"dialect {self.d.name!r} has no EXTRACT syntax for {part!r}")
        self.emit(template, target, None, None, None)

    @cython.cfunc
    def json_has(self, target: object, path_idx: object) -> None:
        """The key path exists (a JSON null counts as present)."""
        if self.d.json_has is None:
            raise ValueError(f"dialect {self.d.name!r} has no JSON path syntax")
        self.emit(self.d.json_has, target, None, None, path_idx)

    @cython.cfunc
    def json_cmp(
        self, op: object, target: object, path_idx: object, jtype: object, rhs: object
    ) -> None:
        """A comparison with the JSON value at a key path that only matches values of the
        JSON type ``jtype`` ("str", "num", "bool"; "null" tests for a JSON null): a JSON
        number never equals a string, and a string is never cast to a number."""
        if op not in CMP_OPS:
            raise ValueError(
                f"unknown comparison operator {op!r}; expected one of {_names(CMP_OPS)}"
            )
        if jtype not in _JSON_JTYPES:
            raise ValueError(
                f"unknown JSON value type {jtype!r}; expected one of {_names(_JSON_JTYPES)}"
            )
        template = self.d.json_cmp.get(jtype)
        if template is None:
            raise ValueError(f"dialect {self.d.name!r} has no JSON path syntax")
        self.emit(template, target, rhs, op, path_idx)

    # -- conditions ------------------------------------------------------------------------

    @cython.cfunc
    def cond(self, node: object, nested: cython.bint) -> None:
        if type(node) is not tuple or len(node) == 0:
            raise ValueError(f"malformed IR: expected a condition node, got {node!r}")
        t: tuple = node
        tag = t[0]
        out: list = self.out
        i: cython.Py_ssize_t
        if tag == "cmp":
            t = _node(t, 4, "cmp")
            op = t[1]
            if op not in CMP_OPS:
                raise ValueError(
                    f"unknown comparison operator {op!r}; expected one of {_names(CMP_OPS)}"
                )
            if self.is_text_range(t[3]) and op != "<" and op != ">=":
                self.text_range_cmp(op, t[2], t[3])
            else:
                self.expr(t[2])
                out.append(" " + op + " ")
                self.expr(t[3])
        elif tag == "and" or tag == "or":
            t = _node(t, 2, tag)
            conds: tuple = _seq(t[1], "the operands of " + tag)
            if len(conds) == 0:
                out.append(self.d.true_sql if tag == "and" else self.d.false_sql)
            elif len(conds) == 1:
                self.cond(conds[0], nested)
            else:
                joiner = " AND " if tag == "and" else " OR "
                if nested:
                    out.append("(")
                for i in range(len(conds)):
                    if i:
                        out.append(joiner)
                    self.cond(conds[i], True)
                if nested:
                    out.append(")")
        elif tag == "in":
            t = _node(t, 5, "in")
            n = t[4]
            if type(n) is not int or n < 0:
                raise ValueError(f"malformed IR: IN list length must be an int >= 0, got {n!r}")
            if n == 0:
                out.append(self.d.false_sql)
            elif self.d.array_in and t[2] != "array":
                # (an IN list of arrays expands: = ANY() of an array of arrays would
                # compare the column with each scalar item)
                self.expr(t[1])
                out.append(" = ANY(")
                self.param(t[3], t[2], ARRAY)
                out.append(")")
            else:
                self.expr(t[1])
                # one plan entry for the list, one marker per item
                self.ref(t[3], t[2], EXPAND)
                out.append(" IN (")
                for i in range(n):
                    if i:
                        out.append(", ")
                    out.append(self.marker())
                out.append(")")
        elif tag == "in_query":
            t = _node(t, 3, "in_query")
            self.expr(t[1])
            out.append(" IN (")
            self.select(t[2])
            out.append(")")
        elif tag == "null":
            t = _node(t, 3, "null")
            self.expr(t[1])
            out.append(" IS NULL" if t[2] else " IS NOT NULL")
        elif tag == "not":
            t = _node(t, 2, "not")
            out.append("NOT (")
            self.cond(t[1], False)
            out.append(")")
        elif tag == "like":
            t = _node(t, 4, "like")
            self.like(t[1], t[2], bool(t[3]))
        elif tag == "between":
            t = _node(t, 4, "between")
            if self.is_text_range(t[3]):
                # lo <= col < the first spelling after hi
                out.append("(")
                self.expr(t[1])
                out.append(" >= ")
                self.expr(t[2])
                out.append(" AND ")
                self.expr(t[1])
                out.append(" < ")
                self.next_value(t[3])
                out.append(")")
                return
            self.expr(t[1])
            out.append(" BETWEEN ")
            self.expr(t[2])
            out.append(" AND ")
            self.expr(t[3])
        elif tag == "const":
            t = _node(t, 2, "const")
            out.append(self.d.true_sql if t[1] else self.d.false_sql)
        elif tag == "regex":
            t = _node(t, 4, "regex")
            self.regex(t[1], t[2], bool(t[3]))
        elif tag == "json_has":
            t = _node(t, 3, "json_has")
            self.json_has(t[1], t[2])
        elif tag == "json_cmp":
            t = _node(t, 6, "json_cmp")
            self.json_cmp(t[1], t[2], t[3], t[4], t[5])
        else:
            raise ValueError(f"unknown condition tag {tag!r}")

    @cython.cfunc
    def like(self, target: object, rhs: object, ci: cython.bint) -> None:
        self.emit(self.d.ilike if ci else self.d.like, target, rhs, None, None)

    @cython.cfunc
    def regex(self, target: object, rhs: object, ci: cython.bint) -> None:
        template = self.d.iregex if ci else self.d.regex
        if template is None:
            raise ValueError(f"dialect {self.d.name!r} has no regular expression syntax")
        self.emit(template, target, rhs, None, None)

    # -- statements ------------------------------------------------------------------------

    @cython.cfunc
    def statement(self, node: object) -> None:
        if type(node) is not tuple or len(node) == 0:
            raise ValueError(f"malformed IR: expected a statement node, got {node!r}")
        tag = node[0]
        if tag == "select":
            self.select(node)
        elif tag == "insert":
            self.insert(node)
        elif tag == "update":
            self.update(node)
        elif tag == "delete":
            self.delete(node)
        elif tag == "union":
            self.union(node)
        else:
            raise ValueError(f"unknown statement tag {tag!r}")

    @cython.cfunc
    def where(self, cond: object) -> None:
        if cond is not None:
            self.out.append(" WHERE ")
            self.cond(cond, False)

    @cython.cfunc
    def order_by(self, items: object) -> None:
        order: tuple = _seq(items, "order_by")
        if len(order) == 0:
            return
        out: list = self.out
        out.append(" ORDER BY ")
        i: cython.Py_ssize_t
        for i in range(len(order)):
            item = order[i]
            if type(item) is not tuple or len(item) != 2:
                raise ValueError(f"malformed IR: order_by item must be (expr, desc), got {item!r}")
            if i:
                out.append(", ")
            self.expr(item[0])
            if item[1]:
                out.append(" DESC")

    @cython.cfunc
    def limit_offset(self, limit: object, offset: object) -> None:
        out: list = self.out
        if limit is not None:
            out.append(" LIMIT ")
            self.expr(limit)
        elif offset is not None and self.d.offset_only_limit:
            out.append(" LIMIT " + self.d.offset_only_limit)
        if offset is not None:
            out.append(" OFFSET ")
            self.expr(offset)

    @cython.cfunc
    def returning_clause(self, cols: object, statement: str) -> None:
        if cols is None:
            return
        if not self.d.returning and statement not in self.d.returning_on:
            raise ValueError(f"dialect {self.d.name!r} does not support {statement} ... RETURNING")
        self.out.append(" RETURNING " + self.ident_list(cols, "returning"))

    @cython.cfunc
    def source(self, src: object) -> None:
        if type(src) is not tuple or len(src) == 0:
            raise ValueError(f"malformed IR: expected a table or subquery, got {src!r}")
        t: tuple = src
        out: list = self.out
        if t[0] == "table":
            t = _node(t, 5, "table")
            out.append(self.table(t[1], t[2]))
            if t[3] is not None:
                out.append(" AS " + self.ident(t[3]))
            for join in _seq(t[4], "joins"):
                j: tuple = _node(join, 6, "join")
                how = j[1]
                if how != "LEFT" and how != "INNER":
                    raise ValueError(f"unknown join type {how!r}; expected 'INNER' or 'LEFT'")
                out.append(" " + how + " JOIN " + self.table(j[2], j[3]))
                if j[4] is not None:
                    out.append(" AS " + self.ident(j[4]))
                out.append(" ON ")
                self.cond(j[5], False)
        elif t[0] == "subquery":
            t = _node(t, 3, "subquery")
            out.append("(")
            inner = t[1]
            if type(inner) is tuple and len(inner) and inner[0] == "union":
                self.union(inner)
            else:
                self.select(inner)
            out.append(")")
            if t[2] is not None:
                out.append(" AS " + self.ident(t[2]))
        else:
            raise ValueError(f"unknown source tag {t[0]!r}")

    @cython.cfunc
    def select(self, node: object) -> None:
        t: tuple = _node(node, 11, "select")
        if t[0] != "select":
            raise ValueError(f"malformed IR: expected a select node, got {t[0]!r}")
        out: list = self.out
        out.append("SELECT DISTINCT " if t[9] else "SELECT ")
        cols: tuple = _seq(t[2], "select columns")
        i: cython.Py_ssize_t
        if len(cols) == 0:
            out.append("*")
        for i in range(len(cols)):
            col = cols[i]
            if type(col) is not tuple or len(col) != 2:
                raise ValueError(f"malformed IR: select column must be (expr, alias), got {col!r}")
            if i:
                out.append(", ")
            self.expr(col[0])
            if col[1] is not None:
                out.append(" AS " + self.ident(col[1]))
        out.append(" FROM ")
        self.source(t[1])
        self.where(t[3])
        group_by: tuple = _seq(t[4], "group_by")
        if len(group_by):
            out.append(" GROUP BY ")
            self.expr_list(group_by)
        if t[5] is not None:
            out.append(" HAVING ")
            self.cond(t[5], False)
        self.order_by(t[6])
        self.limit_offset(t[7], t[8])
        if t[10] is not None:
            self.lock(t[10])

    @cython.cfunc
    def lock(self, node: object) -> None:
        if type(node) is not tuple or len(node) != 4:
            raise ValueError(
                f"malformed IR: lock must be (mode, nowait, skip_locked, of), got {node!r}"
            )
        t: tuple = node
        mode = t[0]
        if mode != "update" and mode != "share":
            raise ValueError(f"unknown lock mode {mode!r}; expected 'share' or 'update'")
        if t[1] and t[2]:
            raise ValueError("a lock takes nowait or skip_locked, not both")
        of: tuple = _seq(t[3], "lock tables")
        if not self.d.row_locks:
            return
        out: list = self.out
        out.append(self.d.lock_update if mode == "update" else self.d.lock_share)
        if len(of) and self.d.lock_of:
            out.append(" OF " + self.ident_list(of, "lock tables"))
        if t[1]:
            out.append(" NOWAIT")
        elif t[2]:
            out.append(" SKIP LOCKED")

    @cython.cfunc
    def union(self, node: object) -> None:
        t: tuple = _node(node, 6, "union")
        selects: tuple = _seq(t[1], "union selects")
        flags: tuple = _seq(t[2], "union all_flags")
        if len(selects) < 2:
            raise ValueError("malformed IR: a union needs at least two selects")
        if len(flags) != len(selects) - 1:
            raise ValueError(
                f"malformed IR: a union of {len(selects)} selects takes "
                f"{len(selects) - 1} all_flags, got {len(flags)}"
            )
        out: list = self.out
        i: cython.Py_ssize_t
        for i in range(len(selects)):
            if i:
                out.append(" UNION ALL " if flags[i - 1] else " UNION ")
            part: tuple = _node(selects[i], 11, "select")
            # a part with its own ORDER BY/LIMIT/lock becomes a derived table: some
            # databases take no parenthesised compound members; this form reads the same
            # everywhere
            if (
                len(_seq(part[6], "order_by"))
                or part[7] is not None
                or part[8] is not None
                or (part[10] is not None)
            ):
                out.append("SELECT * FROM (")
                self.select(part)
                out.append(") AS " + self.ident("_u" + str(i)))
            else:
                self.select(part)
        self.order_by(t[3])
        self.limit_offset(t[4], t[5])

    @cython.cfunc
    def insert(self, node: object) -> None:
        t: tuple = _node(node, 8, "insert")
        columns: tuple = _seq(t[3], "insert columns")
        kinds: tuple = _seq(t[4], "insert kinds")
        nrows_obj = t[5]
        if type(nrows_obj) is not int or nrows_obj < 1:
            raise ValueError(f"malformed IR: insert needs nrows >= 1, got {nrows_obj!r}")
        nrows: cython.Py_ssize_t = nrows_obj
        ncols: cython.Py_ssize_t = len(columns)
        if len(kinds) != ncols:
            raise ValueError(f"malformed IR: insert has {ncols} columns but {len(kinds)} kinds")
        conflict = t[7]
        ctag = None
        if conflict is not None:
            if type(conflict) is not tuple or len(conflict) == 0:
                raise ValueError(f"malformed IR: bad conflict clause {conflict!r}")
            ctag = conflict[0]
            if ctag == "ignore":
                _node(conflict, 2, "ignore")
            elif ctag == "update":
                _node(conflict, 3, "update")
            else:
                raise ValueError(f"unknown conflict action {ctag!r}; expected 'ignore' or 'update'")
        out: list = self.out
        # with nothing to update, an upsert is an insert that ignores the conflict
        if ctag == "update" and len(_seq(conflict[2], "update columns")) == 0:
            ctag = "ignore"
        # INSERT IGNORE would also turn NOT NULL, foreign key and truncation errors into
        # warnings: only a column-less insert (nothing to assign) falls back to it
        insert_ignore: cython.bint = self.d.dup_key and ctag == "ignore" and ncols == 0
        out.append("INSERT IGNORE INTO " if insert_ignore else "INSERT INTO ")
        out.append(self.table(t[1], t[2]))
        r: cython.Py_ssize_t
        c: cython.Py_ssize_t
        if ncols == 0:
            if nrows > 1 and not self.d.insert_defaults_more:
                raise ValueError(
                    f"dialect {self.d.name!r} cannot insert several rows without columns"
                )
            out.append(self.d.insert_defaults + self.d.insert_defaults_more * (nrows - 1))
        else:
            out.append(" (" + self.ident_list(columns, "insert columns") + ") VALUES ")
            for k in kinds:
                if type(k) is not str:
                    raise ValueError(f"malformed IR: insert kinds must be str, got {k!r}")
            first: cython.Py_ssize_t = 0  # INSERT_FIRST_IDX of oxyde/sql/ir.py
            plan: list = self.plan
            row: list = []
            for r in range(nrows):
                row.clear()
                for c in range(ncols):
                    plan.append((first + r * ncols + c, kinds[c], SCALAR))
                    row.append(self.marker())
                if r:
                    out.append(", ")
                out.append("(" + ", ".join(row) + ")")
        if ctag is not None and not insert_ignore:
            ctuple: tuple = conflict
            target: tuple = _seq(ctuple[1], "conflict target")
            if self.d.dup_key:
                sets: list = []
                if ctag == "ignore":
                    # a no-op assignment: only a duplicate key is ignored
                    q = self.ident(target[0] if len(target) else columns[0])
                    sets.append(q + " = " + q)
                else:
                    for col in _seq(ctuple[2], "update columns"):
                        q = self.ident(col)
                        sets.append(q + " = VALUES(" + q + ")")
                out.append(" ON DUPLICATE KEY UPDATE " + ", ".join(sets))
            else:
                out.append(" ON CONFLICT")
                if len(target):
                    out.append(" (" + self.ident_list(target, "conflict target") + ")")
                if ctag == "ignore":
                    out.append(" DO NOTHING")
                else:
                    if not len(target):
                        raise ValueError("ON CONFLICT ... DO UPDATE needs conflict target columns")
                    sets2: list = []
                    for col in _seq(ctuple[2], "update columns"):
                        q = self.ident(col)
                        sets2.append(q + " = EXCLUDED." + q)
                    out.append(" DO UPDATE SET " + ", ".join(sets2))
        self.returning_clause(t[6], "insert")

    @cython.cfunc
    def update(self, node: object) -> None:
        t: tuple = _node(node, 6, "update")
        sets: tuple = _seq(t[3], "update sets")
        if len(sets) == 0:
            raise ValueError("malformed IR: an update needs at least one SET item")
        out: list = self.out
        out.append("UPDATE " + self.table(t[1], t[2]) + " SET ")
        i: cython.Py_ssize_t
        for i in range(len(sets)):
            item = sets[i]
            if type(item) is not tuple or len(item) != 2:
                raise ValueError(f"malformed IR: SET item must be (column, expr), got {item!r}")
            if i:
                out.append(", ")
            out.append(self.ident(item[0]) + " = ")
            self.expr(item[1])
        self.where(t[4])
        self.returning_clause(t[5], "update")

    @cython.cfunc
    def delete(self, node: object) -> None:
        t: tuple = _node(node, 5, "delete")
        self.out.append("DELETE FROM " + self.table(t[1], t[2]))
        self.where(t[3])
        self.returning_clause(t[4], "delete")


def _names(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def compile(ir: Any, dialect: Any) -> tuple[str, tuple[Any, ...]]:
    """Render a statement node to ``(sql, plan)`` for ``dialect``."""
    b = _Builder(dialect)
    b.statement(ir)
    return "".join(b.out), tuple(b.plan)


@cython.cfunc
def _json_path(keys: Any) -> str:
    """``$."a"[0]."b"``: keys as JSON strings (quotes and backslashes escaped)."""
    parts: list = ["$"]
    for k in keys:
        if type(k) is int:
            parts.append("[" + str(k) + "]")
        else:
            parts.append("." + json.dumps(str(k), ensure_ascii=False))
    return "".join(parts)


def bind(plan: tuple[Any, ...], values: Any, adapters: Any) -> list[Any]:
    """The driver parameters for ``values`` under ``plan``, adapted per kind.

    This is all the work a cached query shape costs, so it stays one flat loop.
    """
    vals: list = values if type(values) is list else list(values)
    table: dict = adapters if type(adapters) is dict else dict(adapters)
    params: list = []
    entry: tuple
    idx: cython.Py_ssize_t
    mode: cython.int
    for entry in plan:
        idx = entry[0]
        mode = entry[2]
        value = vals[idx]
        if mode == SCALAR:
            if value is not None:
                adapt = table.get(entry[1])
                if adapt is not None:
                    value = adapt(value)
            params.append(value)
        elif mode == EXPAND:
            adapt = table.get(entry[1])
            if adapt is None:
                params.extend(value)
            else:
                params.extend([None if item is None else adapt(item) for item in value])
        elif mode == ARRAY:
            adapt = table.get(entry[1])
            if adapt is None:
                params.append(list(value))
            else:
                params.append([None if item is None else adapt(item) for item in value])
        elif mode == PATH_ARRAY:
            params.append([str(k) for k in value])
        elif mode == PATH_TEXT:
            params.append(_json_path(value))
        else:
            raise ValueError(f"unknown plan mode {mode!r}")
    return params
