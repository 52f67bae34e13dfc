"""The compiled and the pure-Python ``sqlbuild`` give byte-identical SQL, plans and params."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oxyde.sql import ir as grammar
from oxyde.sql.dialects import MYSQL, POSTGRES, SQLITE
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.ir import Node
from tests.support.irkit import col, p, select

pytestmark = pytest.mark.speedups

DIALECTS = [POSTGRES, SQLITE, MYSQL]


# One value list serves every tree below: scalars at 0..5, an IN list at 6, a JSON
# key path at 7.
VALUES: list[Any] = [1, "a%b", None, 2.5, True, Decimal("1.5"), [1, None, 3], ("k", 0, 'q"')]

CORPUS: list[Node] = [
    select(),
    select(
        cols=((col("id"), None), (col("n%ame"), 'o"ut'), (("agg", "COUNT", None, False), "n")),
        where=(
            "and",
            (
                ("cmp", "=", col("a"), p(0, "int")),
                ("or", (("null", col("b"), True), ("not", ("in", col("c"), "int", 6, 3)))),
                ("like", col("d"), p(1, "str"), True),
                ("regex", col("e"), p(1, "str"), False),
                ("between", col("f"), p(0, "int"), p(3, "float")),
                ("const", False),
                ("and", ()),
                ("or", ()),
            ),
        ),
        group_by=(col("id"), col("n%ame")),
        having=("cmp", ">", ("agg", "SUM", col("x"), True), p(5, "decimal")),
        order_by=((col("id"), True), (("random",), False)),
        limit=p(0, "int"),
        offset=p(0, "int"),
        distinct=True,
        lock=("update", False, True, ("t",)),
    ),
    select(offset=p(0, "int"), lock=("share", True, False, ())),
    select(
        src=(
            "table",
            'we"ird`',
            "s",
            "a",
            (("join", "INNER", "u", "s", "b", ("cmp", "=", col("u_id", "a"), col("id", "b"))),),
        ),
        cols=(
            (col("*", "a"), None),
            (("json_get", col("data", "b"), 7, "str"), "j"),
            (("concat", (col("x"), col("y"), col("z")), p(1, "str")), "c"),
            (("concat", (col("x"), col("y")), None), None),
            (("op", "%", ("neg", ("lit", "-1")), ("raw", "100 % 3")), None),
            (("fn", "COALESCE", (col("x"), p(2, "str"))), None),
        ),
    ),
    select(src=("subquery", select(where=("in", col("id"), "int", 6, 0)), "sq")),
    ("insert", "t", None, ("a", "b"), ("int", "bool"), 3, ("id",), ("update", ("a",), ("b",))),
    ("insert", "t", None, ("a",), ("int",), 1, None, ("ignore", ("a",))),
    ("insert", "t", "s", (), (), 1, None, None),
    (
        "update",
        "t",
        None,
        (("a", p(0, "int")), ("b", ("op", "+", col("b"), p(3, "float")))),
        ("cmp", "<>", col("id"), p(0, "int")),
        None,
    ),
    ("delete", "t", "s", ("in", col("id"), "int", 6, 3), None),
    (
        "delete",
        "t",
        None,
        ("in_query", col("id"), select(cols=((col("id"), None),), limit=p(0, "int"))),
        None,
    ),
    (
        "union",
        (
            select(cols=((col("a"), None),)),
            select(cols=((col("a"), None),), order_by=((col("a"), True),), limit=p(0, "int")),
            select(cols=((col("a"), None),), where=("const", True)),
        ),
        (True, False),
        ((col("a"), False),),
        None,
        p(0, "int"),
    ),
]

BAD: list[Any] = [
    None,
    (),
    ("explode",),
    ("select",),
    select(where=("nope", 1)),
    select(where=("cmp", "==", col("a"), p(0))),
    select(where=("in", col("a"), "int", 6, -1)),
    select(where=("in", col("a"), "int", "6", 2)),
    select(cols=((("fn", "SLEEP", (p(0),)), None),)),
    select(cols=((("agg", "MEDIAN", col("a"), False), None),)),
    select(cols=((("op", "^", col("a"), col("b")), None),)),
    select(cols=((("col", None, 5), None),)),
    select(cols=((("p", "int"), None),)),
    select(cols=(col("a"),)),
    select(src=("view", "v")),
    select(src=("table", "t", None, None, (("join", "OUTER", "u", None, "b", ("const", True)),))),
    select(lock=("update", True, True, ())),
    select(lock=("exclusive", False, False, ())),
    ("insert", "t", None, ("a",), (), 1, None, None),
    ("insert", "t", None, ("a",), ("int",), 0, None, None),
    ("insert", "t", None, ("a",), ("int",), 1, None, ("merge", ())),
    ("update", "t", None, (), None, None),
    ("union", (select(),), (), (), None, None),
    ("union", (select(), select()), (), (), None, None),
]


def test_the_grammar_copy_matches_ir(impls: Callable[[str], tuple[ModuleType, ModuleType]]) -> None:
    for module in impls("sqlbuild"):
        assert module.CMP_OPS == grammar.CMP_OPS
        assert module.ARITH_OPS == grammar.ARITH_OPS
        assert module.AGGREGATES == grammar.AGGREGATES
        assert module.FUNCTIONS == grammar.FUNCTIONS


def test_the_template_slot_copy_matches_the_dialects(
    impls: Callable[[str], tuple[ModuleType, ModuleType]],
) -> None:
    from oxyde.sql.dialects import base

    for module in impls("sqlbuild"):
        assert module.SLOT_ARG == base.ARG
        assert module.SLOT_ARG2 == base.ARG2
        assert module.SLOT_OP == base.OP
        assert module.SLOT_PATH_ARRAY == base.PATH_ARRAY
        assert module.SLOT_PATH_TEXT == base.PATH_TEXT


def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", call())
    except Exception as exc:  # the two sides must fail the same way too
        return ("error", type(exc), str(exc))


def _same(pure: ModuleType, compiled: ModuleType, ir: Any, dialect: Dialect) -> None:
    expected = _outcome(lambda: pure.compile(ir, dialect))
    assert _outcome(lambda: compiled.compile(ir, dialect)) == expected
    if expected[0] == "ok":
        sql, plan = expected[1]
        assert type(sql) is str and type(plan) is tuple
        params = _outcome(lambda: pure.bind(plan, VALUES, dialect.adapters))
        assert _outcome(lambda: compiled.bind(plan, VALUES, dialect.adapters)) == params


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("ir", CORPUS)
def test_corpus(
    impls: Callable[[str], tuple[ModuleType, ModuleType]], ir: Node, dialect: Dialect
) -> None:
    pure, compiled = impls("sqlbuild")
    if dialect is MYSQL and ir[0] == "insert" and ir[6] is not None:
        ir = (*ir[:6], None, ir[7])
    _same(pure, compiled, ir, dialect)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("ir", BAD)
def test_bad_ir_fails_alike(
    impls: Callable[[str], tuple[ModuleType, ModuleType]], ir: Any, dialect: Dialect
) -> None:
    pure, compiled = impls("sqlbuild")
    with pytest.raises(ValueError) as expected:
        pure.compile(ir, dialect)
    with pytest.raises(ValueError) as got:
        compiled.compile(ir, dialect)
    assert str(got.value) == str(expected.value)


def test_is_compiled_tells_them_apart(
    impls: Callable[[str], tuple[ModuleType, ModuleType]],
) -> None:
    pure, compiled = impls("sqlbuild")
    assert (pure._is_compiled(), compiled._is_compiled()) == (False, True)


# -- generated trees ---------------------------------------------------------------------

names = st.sampled_from(["id", "name", 'q"uo`te', "pct%", "a"])
aliases = st.none() | st.sampled_from(["t", "u", 'x"y'])
kinds = st.sampled_from(["int", "str", "bool", "any", "float", "decimal", "json"])
scalar_refs = st.builds(lambda k, i: ("p", k, i), kinds, st.integers(0, 5))
columns = st.builds(lambda a, n: ("col", a, n), aliases, names)


def _expressions(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(
            lambda o, a, b: ("op", o, a, b),
            st.sampled_from(sorted(grammar.ARITH_OPS)),
            children,
            children,
        ),
        st.builds(lambda e: ("neg", e), children),
        st.builds(
            lambda f, args: ("fn", f, tuple(args)),
            st.sampled_from(sorted(grammar.FUNCTIONS)),
            st.lists(children, min_size=1, max_size=3),
        ),
        st.builds(
            lambda f, arg, d: ("agg", f, arg, d),
            st.sampled_from(sorted(grammar.AGGREGATES)),
            st.none() | children,
            st.booleans(),
        ),
        st.builds(
            lambda args, sep: ("concat", tuple(args), sep),
            st.lists(children, min_size=1, max_size=3),
            st.none() | scalar_refs,
        ),
        st.builds(lambda e: ("json_get", e, 7, "str"), children),
    )


leaves = st.one_of(
    columns,
    scalar_refs,
    st.just(("random",)),
    st.builds(lambda s: ("lit", s), st.sampled_from(["1", "'%'", "NULL"])),
    st.builds(lambda s: ("raw", s), st.sampled_from(["a % b", "now()", "x"])),
)
expressions = st.recursive(leaves, _expressions, max_leaves=8)

atoms = st.one_of(
    st.builds(
        lambda o, a, b: ("cmp", o, a, b),
        st.sampled_from(sorted(grammar.CMP_OPS)),
        expressions,
        expressions,
    ),
    st.builds(lambda e, n: ("null", e, n), expressions, st.booleans()),
    st.builds(lambda e, r, ci: ("like", e, r, ci), expressions, scalar_refs, st.booleans()),
    st.builds(lambda e, r, ci: ("regex", e, r, ci), expressions, scalar_refs, st.booleans()),
    st.builds(lambda e, n: ("in", e, "int", 6, n), expressions, st.integers(0, 4)),
    st.builds(lambda e, lo, hi: ("between", e, lo, hi), expressions, scalar_refs, scalar_refs),
    st.builds(lambda t: ("const", t), st.booleans()),
)
conditions = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.builds(lambda cs: ("and", tuple(cs)), st.lists(children, max_size=3)),
        st.builds(lambda cs: ("or", tuple(cs)), st.lists(children, max_size=3)),
        st.builds(lambda c: ("not", c), children),
    ),
    max_leaves=10,
)
int_refs = st.none() | st.builds(lambda i: ("p", "int", i), st.integers(0, 5))
locks = st.none() | st.builds(
    lambda mode, wait, of: (mode, wait == "nowait", wait == "skip", tuple(of)),
    st.sampled_from(["update", "share"]),
    st.sampled_from(["", "nowait", "skip"]),
    st.lists(names, max_size=2),
)
selects = st.builds(
    select,
    src=st.builds(lambda n, s, a: ("table", n, s, a, ()), names, st.none() | names, aliases),
    cols=st.lists(st.tuples(expressions, st.none() | names), max_size=3).map(tuple),
    where=st.none() | conditions,
    group_by=st.lists(expressions, max_size=2).map(tuple),
    having=st.none() | conditions,
    order_by=st.lists(st.tuples(expressions, st.booleans()), max_size=2).map(tuple),
    limit=int_refs,
    offset=int_refs,
    distinct=st.booleans(),
    lock=locks,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ir=selects, dialect=st.sampled_from(DIALECTS))
def test_generated_selects(
    impls: Callable[[str], tuple[ModuleType, ModuleType]], ir: Node, dialect: Dialect
) -> None:
    pure, compiled = impls("sqlbuild")
    _same(pure, compiled, ir, dialect)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(cond=conditions, dialect=st.sampled_from(DIALECTS))
def test_generated_conditions(
    impls: Callable[[str], tuple[ModuleType, ModuleType]], cond: Node, dialect: Dialect
) -> None:
    pure, compiled = impls("sqlbuild")
    _same(pure, compiled, select(where=cond), dialect)
