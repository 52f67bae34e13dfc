"""Whole queries built through the public API give byte-identical SQL and equal params from
the compiled and the pure-Python ``sqlbuild``, and rows load into equal model state
through both ``rowload`` implementations.

The IR comes from ``Query.to_ir()`` (reads) or from running a terminal against a
recording executor (writes, counts, aggregates), so what is compared is exactly what the
query layer hands the SQL builder. Hypothesis builds random queries from random builders,
lookups and values of the right type.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oxyde import F, Model, Q, Query, _impl
from oxyde.meta.registry import get_meta
from oxyde.queries.rowplan import column_converter, model_plan
from oxyde.sql.compiler import clear_cache
from oxyde.sql.dialects import MYSQL, POSTGRES, SQLITE
from oxyde.sql.dialects.base import Dialect
from tests.support.golden_models import (
    GQ_MODELS,
    GqAuthor,
    GqBook,
    GqCompany,
    GqCountry,
    GqStatus,
    GqTag,
    Recorder,
)

pytestmark = pytest.mark.speedups

DIALECTS = [POSTGRES, SQLITE, MYSQL]
B = GqBook.objects

ImplPair = tuple[ModuleType, ModuleType]


def typed(value: Any) -> Any:
    """``value`` with the type of every item, so ``1`` and ``True`` (equal in Python) or
    ``[1]`` and ``(1,)`` count as different params."""
    if isinstance(value, (list, tuple)):
        return (type(value), [typed(v) for v in value])
    return (type(value), value)


def assert_same_sql(pair: ImplPair, query: Query[Any]) -> None:
    """Both implementations compile the query's IR to the same text, plan and params, on
    every dialect, and that is what ``Query.sql`` gives."""
    pure, compiled = pair
    data = query.to_ir()
    ir, values = data["ir"], data["values"]
    for dialect in DIALECTS:
        sql, plan = pure.compile(ir, dialect)
        assert compiled.compile(ir, dialect) == (sql, plan)
        assert type(sql) is str and type(plan) is tuple
        params = pure.bind(plan, values, dialect.adapters)
        assert typed(compiled.bind(plan, values, dialect.adapters)) == typed(params)
        assert query.sql(dialect.name) == (sql, params)


@pytest.fixture
def pair(impls: Callable[[str], ImplPair]) -> ImplPair:
    """(pure, compiled) ``sqlbuild``."""
    return impls("sqlbuild")


# -- a corpus of queries through the API ---------------------------------------------------

CORPUS: list[tuple[str, Callable[[], Query[Any]]]] = [
    ("all", lambda: B.query()),
    ("filter", lambda: B.filter(title="Dune", pages=3)),
    ("exclude", lambda: B.exclude(title="Dune", pages=3).exclude(rating__lt=1.0)),
    ("order_by", lambda: B.order_by("-pages", "title", "?")),
    ("order_by_fk_path", lambda: B.order_by("author__company__name", "-author__name")),
    ("default_ordering", lambda: GqTag.objects.filter(name__startswith="s")),
    ("limit", lambda: B.limit(10)),
    ("offset", lambda: B.offset(5)),
    ("slice", lambda: B.order_by("id")[5:15]),
    ("index", lambda: B.query()[3]),
    ("distinct", lambda: B.filter(pages__gt=1).distinct()),
    ("values", lambda: B.values("title", "author__company__country__code")),
    ("values_list_flat", lambda: B.values_list("title", flat=True).order_by("title")),
    ("values_list", lambda: GqAuthor.objects.values_list()),
    ("select", lambda: B.select("id", "title", "author")),
    ("join", lambda: B.join("author__company__country").filter(pages=1)),
    ("for_update", lambda: B.filter(id=1).for_update(nowait=True)),
    ("for_update_of", lambda: B.join("author").for_update(skip_locked=True, of=("self", "author"))),
    ("for_share", lambda: B.for_share(of=("self",))),
    ("exact_none", lambda: B.filter(published=None, released__exact=None)),
    (
        "typed_values",
        lambda: B.filter(
            in_print=False,
            released=dt.date(2024, 1, 2),
            published=dt.datetime(2024, 1, 2, 3, 4, 5, 6),
            price=Decimal("9.90"),
            uid=uuid.UUID(int=7),
            status=GqStatus.OUT,
        ),
    ),
    ("iexact", lambda: B.filter(title__iexact="du%ne_")),
    ("like", lambda: B.filter(title__contains="5%", note__icontains="a_b\\")),
    ("starts_ends", lambda: B.filter(title__startswith="_", title__iendswith="%")),
    ("istartswith_endswith", lambda: B.filter(title__istartswith="x", note__endswith="y")),
    ("comparisons", lambda: B.filter(pages__gt=1, pages__lte=9, rating__gte=0.5, price__lt=3)),
    ("in", lambda: B.filter(pages__in=[1, 2, 3], status__in=[GqStatus.DRAFT])),
    ("in_typed", lambda: B.filter(uid__in=[uuid.UUID(int=1)], released__in=[dt.date(2000, 1, 1)])),
    ("in_empty", lambda: B.filter(pages__in=[]).exclude(id__in=[])),
    (
        "range_between",
        lambda: B.filter(pages__range=(1, 9), released__between=["2000-01-01", "2001-01-01"]),
    ),
    ("isnull", lambda: B.filter(published__isnull=True, author__isnull=False)),
    (
        "year_month_day",
        lambda: B.filter(
            published__year=2024, released__month=(2024, 2), published__day=(2024, 2, 29)
        ),
    ),
    ("date_hour", lambda: B.filter(published__date=dt.date(2024, 12, 31), published__hour=9)),
    ("ne", lambda: B.filter(pages__ne=0, published__ne=None)),
    ("regex", lambda: B.filter(title__regex=r"^\d+", note__iregex="^a|b$")),
    ("fk_depth_3", lambda: B.filter(author__company__country__code__in=["FR"], author__name="x")),
    ("q_tree", lambda: B.filter((Q(title="A") | Q(title="B")) & ~Q(pages__lt=10), Q())),
    ("q_across_fk", lambda: B.exclude(Q(author__name="A") | ~Q(author__company__name__iexact="c"))),
]


@pytest.mark.parametrize("build", [b for _, b in CORPUS], ids=[n for n, _ in CORPUS])
def test_corpus(pair: ImplPair, build: Callable[[], Query[Any]]) -> None:
    assert_same_sql(pair, build())


# -- terminals: the statements they send, under either implementation ----------------------

DUNE = {
    "id": 1, "title": "Dune", "pages": 412, "rating": 4.5, "price": Decimal("9.90"),
    "in_print": True, "released": dt.date(1965, 8, 1), "published": dt.datetime(1965, 8, 1, 12),
    "uid": uuid.UUID(int=1), "status": GqStatus.OUT, "note": "none", "author_id": 3,
}  # fmt: skip
Rows = list[list[tuple[Any, ...]]]


def book_rows(*ids: int) -> Callable[[Dialect], Rows]:
    """Answers for an INSERT/UPDATE that returns these books: RETURNING rows where the
    dialect has it, else the first generated key and then the re-read rows."""

    def answers(dialect: Dialect) -> Rows:
        rows = [stored(GqBook, dialect, {**DUNE, "id": i}) for i in ids]
        if dialect.supports_returning("insert"):
            return [rows]
        return [[(ids[0],)], rows]

    return answers


def scalar(value: Any) -> Callable[[Dialect], Rows]:
    return lambda dialect: [[(value,)]]


def no_rows(dialect: Dialect) -> Rows:
    return []


def created_rows(dialect: Dialect) -> Rows:
    """Answers for ``create`` of a book: what a bulk_create of it would read back."""
    if dialect.supports_returning("insert"):
        differ = ("id", "rating", "price", "released", "published", "uid", "status", "note")
        return [[returned(GqBook, dialect, {**DUNE, "id": 1}, differ)]]
    return book_rows(1)(dialect)


def mixed_bulk_rows(dialect: Dialect) -> Rows:
    """Answers for ``bulk_create`` of a, b (note set), c: one INSERT for a and c, one for b."""
    if dialect.supports_returning("insert"):
        # bulk_create reads back the key, the defaulted column (note, unless sent) and the
        # columns whose stored form can differ from the value sent
        differ = ("id", "rating", "price", "released", "published", "uid", "status")
        return [
            [returned(GqBook, dialect, {**DUNE, "id": i}, (*differ, "note")) for i in (1, 3)],
            [returned(GqBook, dialect, {**DUNE, "id": 2}, differ)],
        ]
    # keys 1 and 2 for a and c, re-read for the default of note; b needs no re-read
    return [*book_rows(1, 2)(dialect), [(3,)]]


TERMINALS: list[tuple[str, Callable[[Recorder], Awaitable[Any]], Callable[[Dialect], Rows]]] = [
    ("count", lambda r: B.filter(pages__gt=1).count(client=r), scalar(3)),
    (
        "count_distinct_limit",
        lambda r: B.values("title").distinct().limit(3).count(client=r),
        scalar(3),
    ),
    ("exists", lambda r: B.filter(author__name="x").exists(client=r), scalar(1)),
    ("sum", lambda r: B.filter(in_print=True).sum("pages", client=r), scalar(10)),
    ("avg_limited", lambda r: B.order_by("-rating")[:3].avg("price", client=r), scalar(1.5)),
    ("max", lambda r: B.max("published", client=r), scalar(None)),
    (
        "get",
        lambda r: B.get(author__company__name="c", client=r),
        lambda d: [[stored(GqBook, d, DUNE)]],
    ),
    ("last", lambda r: GqTag.objects.last(client=r), lambda d: [[(1, "sf")]]),
    (
        "create",
        lambda r: B.create(title="Dune", price=Decimal("9.90"), uid=uuid.UUID(int=1), client=r),
        created_rows,
    ),
    (
        "bulk_create",
        lambda r: B.bulk_create(
            [GqBook(title="a"), GqBook(title="b", note="n"), GqBook(title="c")], client=r
        ),
        mixed_bulk_rows,
    ),
    (
        "bulk_update",
        lambda r: B.bulk_update(
            [GqBook(id=1, title="a", in_print=False)], ["title", "in_print"], client=r
        ),
        no_rows,
    ),
    (
        "update",
        lambda r: B.filter(title__startswith="D").update(
            pages=F("pages") * 2 - 1, uid=uuid.UUID(int=3), client=r
        ),
        no_rows,
    ),
    (
        "update_fk_filter",
        lambda r: B.filter(author__company__country__code="FR").update(
            status=GqStatus.OUT, client=r
        ),
        no_rows,
    ),
    (
        "update_returning",
        lambda r: B.filter(pages__gt=1).update(returning=True, title="x", client=r),
        book_rows(1),
    ),
    ("increment", lambda r: B.filter(id=1).increment("rating", by=0.5, client=r), no_rows),
    ("delete", lambda r: B.filter(released__year=1999).delete(client=r), no_rows),
    ("delete_limit", lambda r: B.order_by("id")[:2].delete(client=r), no_rows),
]


@pytest.fixture
def use_impl(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[ModuleType], None]]:
    """``use_impl(module)``: make the query layer build its SQL with ``module``."""

    def use(module: ModuleType) -> None:
        monkeypatch.setattr(_impl, "sqlbuild", module)
        # compiled statements are cached by shape: each side must build its own
        clear_cache()

    yield use
    clear_cache()


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize(
    ("run", "answers"), [t[1:] for t in TERMINALS], ids=[t[0] for t in TERMINALS]
)
async def test_terminals(
    pair: ImplPair,
    use_impl: Callable[[ModuleType], None],
    run: Callable[[Recorder], Awaitable[Any]],
    answers: Callable[[Dialect], Rows],
    dialect: Dialect,
) -> None:
    logs: list[Any] = []
    for module in pair:
        use_impl(module)
        recorder = Recorder(dialect.name, answers(dialect))
        await run(recorder)
        assert recorder.log, "the terminal sent no statement"
        assert not recorder.answers
        logs.append(typed(recorder.log))
    assert logs[0] == logs[1]


# -- generated queries ---------------------------------------------------------------------

# Paths a lookup can start from, and the kind of value each takes.
PATHS = {
    "id": "int",
    "title": "str",
    "pages": "int",
    "rating": "float",
    "price": "decimal",
    "in_print": "bool",
    "released": "date",
    "published": "datetime",
    "uid": "uuid",
    "status": "enum",
    "note": "str",
    "author": "int",
    "author__name": "str",
    "author__company__name": "str",
    "author__company__country__code": "str",
}
OWN_FIELDS = [n for n in PATHS if "__" not in n]
ORDER_FIELDS = [*OWN_FIELDS, "pk", "author__name", "author__company__country__code"]

_LAST_DAY = dt.date(9998, 12, 31)  # year/month/day bounds end one day or year later
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6),
    "bool": st.booleans(),
    "date": st.dates(max_value=_LAST_DAY),
    "datetime": st.datetimes(max_value=dt.datetime(9998, 12, 31)),
    "uuid": st.uuids(),
    "enum": st.sampled_from(GqStatus),
    # no NUL: LIKE patterns refuse it (SQLite would end the pattern there)
    "str": st.text(st.characters(exclude_characters="\x00"), max_size=8),
}
COMPARISONS = {"gt", "gte", "lt", "lte"}
TEXT_LOOKUPS = {
    "iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith",
    "regex", "iregex",
}  # fmt: skip


def _lookups_of(kind: str) -> list[str]:
    names = ["exact", "ne", "in", "isnull"]
    if kind in ("int", "float", "decimal", "date", "datetime"):
        names += [*sorted(COMPARISONS), "range", "between"]
    if kind == "str":
        names += sorted(TEXT_LOOKUPS)
    if kind in ("date", "datetime"):
        names += ["year", "month", "day"]
    if kind == "datetime":
        names += ["date", "hour"]
    return names


def _value_for(kind: str, lookup: str) -> st.SearchStrategy[Any]:
    value = VALUES[kind]
    if lookup in ("exact", "ne"):
        return st.none() | value
    if lookup == "in":
        return st.lists(value, max_size=4) | st.lists(value, max_size=3).map(tuple)
    if lookup in ("range", "between"):
        return st.tuples(value, value)
    if lookup == "isnull":
        return st.booleans()
    if lookup == "year":
        return st.integers(1, 9998)
    if lookup == "month":
        return st.tuples(st.integers(1, 9998), st.integers(1, 12))
    if lookup == "day":
        return st.dates(max_value=_LAST_DAY).map(lambda d: (d.year, d.month, d.day))
    if lookup == "date":
        return st.dates(max_value=_LAST_DAY)
    if lookup == "hour":
        return st.integers(0, 23)
    return value


@st.composite
def lookups(draw: st.DrawFn) -> tuple[str, Any]:
    """A ``field__lookup`` key and a value of the right type for it."""
    path = draw(st.sampled_from(sorted(PATHS)))
    kind = PATHS[path]
    lookup = draw(st.sampled_from(_lookups_of(kind)))
    key = path if lookup == "exact" and draw(st.booleans()) else f"{path}__{lookup}"
    return key, draw(_value_for(kind, lookup))


q_trees: st.SearchStrategy[Q] = st.recursive(
    st.builds(lambda kv: Q(**{kv[0]: kv[1]}), lookups()),
    lambda children: st.one_of(
        st.builds(lambda a, b: a & b, children, children),
        st.builds(lambda a, b: a | b, children, children),
        st.builds(lambda a: ~a, children),
    ),
    max_leaves=5,
)

# A step is plain data, so a failing example prints as the calls that made the query.
steps = st.one_of(
    st.tuples(st.just("filter"), lookups()),
    st.tuples(st.just("exclude"), lookups()),
    st.tuples(st.just("filter_q"), q_trees),
    st.tuples(st.just("exclude_q"), q_trees),
    st.tuples(
        st.just("order_by"),
        st.lists(
            st.sampled_from(ORDER_FIELDS).flatmap(lambda f: st.sampled_from([f, f"-{f}"]))
            | st.just("?"),
            max_size=3,
        ),
    ),
    st.tuples(st.just("limit"), st.integers(0, 2**31)),
    st.tuples(st.just("offset"), st.integers(0, 2**31)),
    st.tuples(st.just("slice"), st.integers(0, 50), st.none() | st.integers(0, 100)),
    st.tuples(st.just("distinct"), st.booleans()),
    st.tuples(st.just("values"), st.lists(st.sampled_from(sorted(PATHS)), max_size=3)),
    st.tuples(
        st.just("values_list"),
        st.lists(st.sampled_from(sorted(PATHS)), min_size=1, max_size=3),
        st.booleans(),
    ),
    st.tuples(st.just("select"), st.lists(st.sampled_from(OWN_FIELDS), min_size=1, max_size=3)),
    st.tuples(
        st.just("join"), st.sampled_from(["author", "author__company", "author__company__country"])
    ),
    st.tuples(
        st.sampled_from(["for_update", "for_share"]),
        st.sampled_from(["", "nowait", "skip_locked"]),
        st.sampled_from([(), ("self",), ("self", "author")]),
    ),
)


def apply(query: Query[Any], step: tuple[Any, ...]) -> Query[Any]:
    name = step[0]
    if name in ("filter", "exclude"):
        key, value = step[1]
        lookup = {key: value}
        return query.filter(**lookup) if name == "filter" else query.exclude(**lookup)
    if name == "filter_q":
        return query.filter(step[1])
    if name == "exclude_q":
        return query.exclude(step[1])
    if name == "order_by":
        return query.order_by(*step[1])
    if name == "limit":
        return query.limit(step[1])
    if name == "offset":
        return query.offset(step[1])
    if name == "slice":
        start, stop = step[1], step[2]
        return query[start : None if stop is None else max(start, stop)]
    if name == "distinct":
        return query.distinct(step[1])
    if name == "values":
        return query.values(*step[1])
    if name == "values_list":
        fields, flat = step[1], step[2]
        return query.values_list(*fields[:1], flat=True) if flat else query.values_list(*fields)
    if name == "select":
        return query.select(*step[1])
    if name == "join":
        return query.join(step[1])
    wait, of = step[1], step[2]
    if "author" in of:
        # locking a relation's rows needs that relation joined
        query = query.join("author")
    lock = query.for_update if name == "for_update" else query.for_share
    return lock(of=of, nowait=wait == "nowait", skip_locked=wait == "skip_locked")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(steps, max_size=6))
def test_generated_queries(pair: ImplPair, plan: list[tuple[Any, ...]]) -> None:
    query = B.query()
    for step in plan:
        query = apply(query, step)
    assert_same_sql(pair, query)


# -- rows -> models -------------------------------------------------------------------------


def state(obj: Any) -> tuple[Any, ...]:
    """The observable state of an instance: its fields in order, with their types, the
    set fields, extras and private attributes."""
    return (
        [(name, type(value), value) for name, value in obj.__dict__.items()],
        obj.model_fields_set,
        obj.__pydantic_extra__,
        obj.__pydantic_private__,
    )


def stored(model: type[Model], dialect: Dialect, values: dict[str, Any]) -> tuple[Any, ...]:
    """The row a driver returns for these field values: each value in its stored form."""
    meta = get_meta(model)
    row = []
    for name, column in meta.columns.items():
        value = values.get(name)
        adapt = dialect.adapters.get(column.kind)
        row.append(adapt(value) if adapt is not None and value is not None else value)
    return tuple(row)


def returned(
    model: type[Model], dialect: Dialect, values: dict[str, Any], names: tuple[str, ...]
) -> tuple[Any, ...]:
    """The row a RETURNING of the columns ``names`` gives for these field values."""
    row = dict(zip(get_meta(model).columns, stored(model, dialect, values), strict=True))
    return tuple(row[name] for name in names)


def check_rows(
    pair: ImplPair, model: type[Model], dialect: Dialect, rows: list[tuple[Any, ...]]
) -> None:
    """Both ``load_models`` give equal state, and the state Pydantic validation gives for
    the converted values (on the fields the row plan fills)."""
    pure, compiled = pair
    meta = get_meta(model)
    plan = model_plan(meta, dialect)
    names: tuple[str, ...] = plan[0]
    a = pure.load_models(model, plan, rows)
    b = compiled.load_models(model, plan, rows)
    assert len(a) == len(b) == len(rows)
    for x, y, row in zip(a, b, rows, strict=True):
        assert state(x) == state(y)
        converted = {}
        for (name, column), value in zip(meta.columns.items(), row, strict=True):
            conv = column_converter(column, dialect)
            converted[name] = conv(value) if conv is not None and value is not None else value
        ref = model.model_validate(converted)
        # the plan fills the fields it names; validation also fills unloaded relations
        assert state(x) == (
            [(n, type(ref.__dict__[n]), ref.__dict__[n]) for n in names],
            ref.model_fields_set,
            ref.__pydantic_extra__,
            ref.__pydantic_private__,
        )
    # instances never share mutable state
    if len(a) > 1 and a[0].__pydantic_private__ is not None:
        assert a[0].__pydantic_private__ is not a[1].__pydantic_private__
    if len(a) > 1:
        assert a[0].__pydantic_fields_set__ is not a[1].__pydantic_fields_set__


ROW_VALUES: dict[type[Model], list[dict[str, Any]]] = {
    GqCountry: [{"id": 1, "code": "FR"}],
    GqCompany: [{"id": 1, "name": "Acme", "country_id": 1},
                {"id": 2, "name": "", "country_id": None}],
    GqAuthor: [{"id": 1, "name": "Le Guin", "company_id": 2},
               {"id": 2, "name": "x", "company_id": None}],
    GqBook: [
        {"id": 1, "title": "Dune", "pages": 412, "rating": 4.5, "price": Decimal("9.90"),
         "in_print": True, "released": dt.date(1965, 8, 1),
         "published": dt.datetime(1965, 8, 1, 12, 0, 0, 1), "uid": uuid.UUID(int=1),
         "status": GqStatus.OUT, "note": "none", "author_id": 3},
        {"id": 2, "title": "", "pages": 0, "rating": -0.0, "price": None, "in_print": False,
         "released": None, "published": None, "uid": None, "status": GqStatus.DRAFT,
         "note": "", "author_id": None},
    ],
    GqTag: [{"id": 1, "name": "sf"}, {"id": 2, "name": "fantasy"}],
}  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("model", GQ_MODELS, ids=lambda m: m.__name__)
def test_rows_load_alike(
    impls: Callable[[str], ImplPair], model: type[Model], dialect: Dialect
) -> None:
    rows = [stored(model, dialect, values) for values in ROW_VALUES[model]]
    check_rows(impls("rowload"), model, dialect, rows)


books = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**63 - 1),
        "title": st.text(max_size=20),
        "pages": VALUES["int"],
        "rating": VALUES["float"],
        # max_digits=8, decimal_places=2
        "price": st.none() | st.decimals(Decimal("-999999.99"), Decimal("999999.99"), places=2),
        "in_print": st.booleans(),
        "released": st.none() | st.dates(),
        "published": st.none() | st.datetimes(),
        "uid": st.none() | st.uuids(),
        "status": VALUES["enum"],
        "note": st.text(max_size=5),
        "author_id": st.none() | st.integers(1, 2**63 - 1),
    }
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(books, max_size=5), dialect=st.sampled_from(DIALECTS))
def test_generated_book_rows(
    impls: Callable[[str], ImplPair], values: list[dict[str, Any]], dialect: Dialect
) -> None:
    pair = impls("rowload")
    rows = [stored(GqBook, dialect, v) for v in values]
    check_rows(pair, GqBook, dialect, rows)
    # and what was stored comes back as it was saved (G10)
    plan = model_plan(get_meta(GqBook), dialect)
    for obj, v in zip(pair[1].load_models(GqBook, plan, rows), values, strict=True):
        assert {n: obj.__dict__[n] for n in v} == v
