"""A broad corpus of statements, rendered on every dialect: the golden SQL file's source.

``render_corpus(dialect)`` gives ``{entry name: text}`` where each text is the SQL and the
bound parameters (or the plan) of one statement, or a list of DDL statements. The
entries cover every IR construct the SQL builder knows (hand-written IR trees), the
query API over them (every lookup, JSON keys, regex, extract, casts, F expressions,
aggregates, joins, locks, unions), the write terminals (insert, empty insert, bulk
insert, upsert, update, delete) and CREATE/DROP DDL. ``tests/unit/test_sql_corpus.py``
holds them against ``tests/unit/golden/sql_corpus.json`` under both implementations of
the SQL builder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from oxyde import Check, F, Field, Index, Model, Q
from oxyde.queries.expressions import Avg, Coalesce, Concat, Count, Max, Min, RawSQL, Sum
from oxyde.sql.ddl import create_table_statements, drop_table_statements, foreign_key_statements
from oxyde.sql.dialects import get_dialect
from oxyde.sql.ir import Node
from tests.support.golden_models import (
    GQ_MODELS,
    GqBook,
    GqStatus,
    GqTag,
    Recorder,
)
from tests.support.irkit import col, p, select
from tests.support.models import Everything

DIALECTS = ("postgres", "sqlite", "mysql")


class GcBare(Model):
    """Nothing but an automatic key: inserts without columns."""

    id: int | None = Field(default=None, db_pk=True)

    class Meta:
        is_table = True
        table_name = "gc_bare"


class GcPercent(Model):
    """``%`` in a comment, a CHECK, a default and names: DDL under ``%s`` placeholders."""

    id: int | None = Field(default=None, db_pk=True)
    ratio: str = Field(default="5%", max_length=10, db_comment="share in %")
    label: str = Field(default="", max_length=20, db_column="la%bel", db_index=True)

    class Meta:
        is_table = True
        table_name = "gc_per%cent"
        comment = "100% covered"
        constraints = [Check("ratio LIKE '%\\%'", name="gc_ratio_pct")]
        indexes = [Index(fields=["ratio", "label"], name="gc_pct_idx")]


# One value list serves every hand-written tree: scalars at 0..5, an IN list at 6, a JSON
# key path at 7.
IR_VALUES: list[Any] = [1, "a%b", None, 2.5, True, Decimal("1.5"), [1, None, 3], ("k", 0, 'q"')]

_T2: Node = (
    "table",
    "t",
    None,
    "a",
    (("join", "LEFT", "u", None, "b", ("cmp", "=", col("u_id", "a"), col("id", "b"))),),
)

IR_CORPUS: dict[str, Node] = {
    "ir.select_star": select(),
    "ir.everything": select(
        cols=((col("id"), None), (col("n%ame"), 'o"ut'), (("agg", "COUNT", None, False), "n")),
        where=(
            "and",
            (
                ("cmp", "=", col("a"), p(0, "int")),
                ("or", (("null", col("b"), True), ("not", ("in", col("c"), "int", 6, 3)))),
                ("like", col("d"), p(1, "str"), True),
                ("like", col("d"), p(1, "str"), False),
                ("regex", col("e"), p(1, "str"), False),
                ("regex", col("e"), p(1, "str"), True),
                ("between", col("f"), p(0, "int"), p(3, "float")),
                ("const", False),
                ("const", True),
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
    "ir.offset_only_share_nowait": select(offset=p(0, "int"), lock=("share", True, False, ())),
    "ir.share_of": select(lock=("share", False, False, ("t", "u"))),
    "ir.update_skip_locked": select(lock=("update", False, True, ())),
    "ir.join_exprs": select(
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
            (("concat", (col("x"), ("cast_text", col("y"))), None), None),
            (("op", "%", ("neg", ("lit", "-1")), ("raw", "100 % 3")), None),
            (("fn", "COALESCE", (col("x"), p(2, "str"))), None),
            (("fn", "LOWER", (col("x"),)), None),
            (("cast_float", col("n")), "f"),
            (("agg", "AVG", ("cast_float", col("n")), False), "avg"),
            (("extract", "year", col("at")), "y"),
            (("extract", "month", col("at")), "m"),
            (("extract", "day", col("at")), "d"),
            (("extract", "hour", col("at")), "h"),
            (("subq", select(cols=((("agg", "MAX", col("v"), False), None),))), "sq"),
        ),
    ),
    "ir.json_conditions": select(
        where=(
            "and",
            (
                ("json_has", col("data"), 7),
                ("json_cmp", "=", col("data"), 7, "str", p(1, "str")),
                ("json_cmp", ">", col("data"), 7, "num", p(3, "float")),
                ("json_cmp", "<>", col("data"), 7, "bool", p(4, "bool")),
                ("json_cmp", "=", col("data"), 7, "null", None),
                ("not", ("json_cmp", "<=", col("data"), 7, "num", p(0, "int"))),
            ),
        ),
        order_by=((("json_get", col("data"), 7, "str"), False),),
    ),
    "ir.subquery_source": select(
        src=("subquery", select(where=("in", col("id"), "int", 6, 0)), "sq"),
        where=("in_query", col("id"), select(cols=((col("id"), None),))),
    ),
    "ir.in_array": select(where=("in", col("c"), "array", 6, 2)),
    "ir.text_ranges": select(
        where=(
            "and",
            (
                ("cmp", "=", col("at"), p(0, "datetime")),
                ("cmp", "<>", col("at"), p(0, "datetime")),
                ("cmp", "<=", col("at"), p(0, "datetime")),
                ("cmp", ">", col("at"), p(0, "datetime")),
                ("cmp", "<", col("at"), p(0, "datetime")),
                ("between", col("at"), p(0, "datetime"), p(0, "datetime")),
                ("cmp", "=", col("t"), p(0, "time")),
            ),
        )
    ),
    "ir.union": (
        "union",
        (select(), select(limit=p(0, "int")), select(order_by=((col("id"), False),))),
        (True, False),
        ((col("id"), True),),
        p(0, "int"),
        p(0, "int"),
    ),
    "ir.upsert_update": (
        "insert",
        "t",
        None,
        ("a", "b"),
        ("int", "bool"),
        3,
        ("id",),
        ("update", ("a",), ("b",)),
    ),
    "ir.upsert_update_nothing": (
        "insert",
        "t",
        None,
        ("a", "b"),
        ("int", "bool"),
        1,
        None,
        ("update", ("a",), ()),
    ),
    "ir.upsert_ignore": ("insert", "t", None, ("a",), ("int",), 1, None, ("ignore", ("a",))),
    "ir.upsert_ignore_no_target": ("insert", "t", None, ("a",), ("int",), 2, None, ("ignore", ())),
    "ir.insert_empty": ("insert", "t", "s", (), (), 1, ("id",), None),
    "ir.insert_empty_ignore": ("insert", "t", None, (), (), 1, None, ("ignore", ())),
    "ir.update": (
        "update",
        "t",
        None,
        (
            ("a", p(0, "int")),
            ("b", ("op", "+", col("b"), p(3, "float"))),
            ("c", ("checked", "decimal", ("op", "*", col("c"), p(5, "decimal")), 8, 2)),
            ("d", ("checked", "int", ("op", "-", col("d"), ("neg", p(0, "int"))), None, None)),
            ("e", ("checked", "decimal", ("neg", col("e")), None, None)),
        ),
        ("cmp", "=", col("id"), p(0, "int")),
        ("id", "a"),
    ),
    "ir.delete": ("delete", "t", "s", ("cmp", "=", col("id"), p(0, "int")), ("id",)),
    "ir.delete_all": ("delete", "t", None, None, None),
}
# the statements above with RETURNING, without it (MySQL has none)
for _name in ("ir.upsert_update", "ir.insert_empty", "ir.update", "ir.delete"):
    _node = IR_CORPUS[_name]
    _at = 6 if _node[0] == "insert" else len(_node) - 1
    IR_CORPUS[_name + "_plain"] = (*_node[:_at], None, *_node[_at + 1 :])

# Queries that only MariaDB-style dialects reject are still rendered where they compile.
IR_MULTI_EMPTY: Node = ("insert", "t", None, (), (), 3, None, None)

B = GqBook.objects
E = Everything.objects

QUERIES: dict[str, Callable[[], Any]] = {
    "q.all": lambda: B.filter(),
    "q.exact": lambda: B.filter(title="Dune"),
    "q.iexact": lambda: B.filter(title__iexact="dune_%"),
    "q.contains": lambda: B.filter(title__contains="50%"),
    "q.icontains": lambda: B.filter(title__icontains="a_b"),
    "q.startswith": lambda: B.filter(title__startswith="D"),
    "q.istartswith": lambda: B.filter(title__istartswith="d"),
    "q.endswith": lambda: B.filter(title__endswith="e\\"),
    "q.iendswith": lambda: B.filter(title__iendswith="E"),
    "q.cmp": lambda: B.filter(pages__gt=1, rating__gte=2.5, price__lt=Decimal("9.99"), id__lte=3),
    "q.ne": lambda: B.filter(pages__ne=3),
    "q.in": lambda: B.filter(pages__in=[1, 2, 3]),
    "q.in_empty": lambda: B.filter(pages__in=[]),
    "q.in_str": lambda: B.filter(title__in=["a", "b"]),
    "q.range": lambda: B.filter(pages__range=(1, 9)),
    "q.between_dates": lambda: B.filter(released__range=(dt.date(2020, 1, 1), dt.date(2021, 1, 1))),
    "q.isnull": lambda: B.filter(price__isnull=True, released__isnull=False),
    "q.year": lambda: B.filter(released__year=2020),
    "q.date": lambda: B.filter(published__date=dt.date(2020, 1, 2)),
    "q.hour": lambda: B.filter(published__hour=13),
    "q.datetime_cmp": lambda: B.filter(published__gte=dt.datetime(2020, 1, 2, 3, 4, 5)),
    "q.datetime_eq": lambda: B.filter(published=dt.datetime(2020, 1, 2, 3, 4, 5, 6)),
    "q.datetime_lte": lambda: B.filter(published__lte=dt.datetime(2020, 1, 2)),
    "q.regex": lambda: B.filter(title__regex=r"^D\w+$"),
    "q.iregex": lambda: B.filter(title__iregex="^dune"),
    "q.uuid_enum_bool": lambda: B.filter(uid=uuid.UUID(int=7), status=GqStatus.OUT, in_print=False),
    "q.q_objects": lambda: B.filter((Q(pages__gte=18) & Q(in_print=True)) | ~Q(title="A")),
    "q.exclude": lambda: B.exclude(pages=3, title="x"),
    "q.f_filter": lambda: B.filter(pages__gt=F("rating") * 2 - 1),
    "q.f_neg": lambda: B.filter(pages=-F("pages")),
    "q.relation": lambda: B.filter(author__company__name__icontains="press"),
    "q.relation_isnull": lambda: B.filter(author__isnull=True),
    "q.join": lambda: B.join("author").filter(author__name="Le Guin"),
    "q.order_random": lambda: B.order_by("?"),
    "q.order_desc_limit_offset": lambda: B.order_by("-rating", "title").limit(3).offset(4),
    "q.offset_only": lambda: B.offset(5),
    "q.slice": lambda: B.filter()[2:7],
    "q.distinct_values": lambda: B.values("title").distinct(),
    "q.values_list": lambda: B.values_list("title", "pages"),
    "q.for_update": lambda: B.filter(id=1).for_update(nowait=True),
    "q.for_update_skip": lambda: B.for_update(skip_locked=True).limit(1),
    "q.for_update_of": lambda: B.filter(author__name="x").for_update(of=("self", "author")),
    "q.for_share": lambda: B.filter(id=1).for_share(),
    "q.annotate_aggs": lambda: B.values("author_id").annotate(
        n=Count("id"), s=Sum("pages"), a=Avg("pages"), hi=Max("rating"), lo=Min("rating")
    ),
    "q.annotate_having": lambda: (
        B.values("author_id").annotate(n=Count("id", distinct=True)).filter(n__gt=2)
    ),
    "q.avg_float": lambda: B.values("author_id").annotate(a=Avg("rating")),
    "q.concat": lambda: B.annotate(c=Concat("title", "pages", separator="-")),
    "q.coalesce": lambda: B.annotate(c=Coalesce("price", Decimal("0"))),
    "q.raw": lambda: B.annotate(r=RawSQL("1 % 2")),
    "q.union": lambda: B.filter(pages=1).union(B.filter(pages=2).order_by("id").limit(1)),
    "q.tag_ordering": lambda: GqTag.objects.filter(),
    "q.json_key_str": lambda: E.filter(data__k="x"),
    "q.json_key_int": lambda: E.filter(data__k=1),
    "q.json_key_float": lambda: E.filter(data__k__gt=1.5),
    "q.json_key_bool": lambda: E.filter(data__k=True),
    "q.json_key_none": lambda: E.filter(data__k=None),
    "q.json_nested": lambda: E.filter(data__a__b__lte=3),
    "q.json_has_key": lambda: E.filter(data__has_key="k"),
    "q.json_key_in": lambda: E.filter(data__k__in=["a", 2]),
    "q.json_key_isnull": lambda: E.filter(data__k__isnull=True),
    "q.json_key_ne": lambda: E.filter(data__k__ne="z"),
    "q.json_whole": lambda: E.filter(data={"a": 1}),
    "q.array": lambda: E.filter(tags=["a", "b"]),
    "q.bytes_time": lambda: E.filter(
        raw=b"\x00%", clock=dt.time(1, 2, 3), span=dt.timedelta(seconds=3)
    ),
}

_BOOK_KW: dict[str, Any] = {
    "title": "Dune %",
    "pages": 412,
    "rating": 4.5,
    "price": Decimal("9.99"),
    "released": dt.date(1965, 8, 1),
    "published": dt.datetime(1965, 8, 1, 12, 0, tzinfo=dt.UTC),
    "uid": uuid.UUID(int=1),
    "status": GqStatus.OUT,
}

WRITES: dict[str, Callable[[Recorder], Awaitable[Any]]] = {
    "w.create": lambda r: B.create(**_BOOK_KW, client=r),
    "w.create_empty": lambda r: GcBare.objects.create(client=r),
    "w.bulk_create": lambda r: B.bulk_create(
        [GqBook(title=f"t{i}", pages=i) for i in range(3)], client=r
    ),
    "w.bulk_create_empty": lambda r: GcBare.objects.bulk_create([GcBare(), GcBare()], client=r),
    "w.upsert": lambda r: B.upsert(
        [GqBook(id=1, title="a"), GqBook(id=2, title="b")],
        conflict="id",
        update=["title", "pages"],
        client=r,
    ),
    "w.upsert_nothing": lambda r: B.upsert(
        [GqBook(id=1, title="a")], conflict="id", update=[], client=r
    ),
    "w.update": lambda r: B.filter(pages__lt=10).update(in_print=False, note="50%", client=r),
    "w.update_f": lambda r: B.filter(id=4).update(
        pages=F("pages") * 2 + 1, rating=-F("rating"), price=F("price") + Decimal("1"), client=r
    ),
    "w.update_join": lambda r: B.filter(author__company__name="Acme").update(
        status=GqStatus.OUT, client=r
    ),
    "w.update_limit": lambda r: B.order_by("-rating").limit(3).update(in_print=True, client=r),
    "w.update_returning": lambda r: B.filter(pages__gt=100).update(
        returning=True, title="Dune", client=r
    ),
    "w.delete": lambda r: B.filter(pages=0).delete(client=r),
    "w.delete_join": lambda r: B.filter(author__name="Le Guin").delete(client=r),
    "w.get_or_create": lambda r: B.get_or_create(title="x", defaults={"pages": 1}, client=r),
}

DDL_MODELS: tuple[type[Model], ...] = (*GQ_MODELS, Everything, GcBare, GcPercent)


def _text(sql: str, params: Any) -> str:
    return f"{sql}\n-- params: {params!r}"


def _render_ir(module: Any, dialect: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    nodes = dict(IR_CORPUS)
    if dialect.name == "mysql":
        nodes["ir.insert_empty_many"] = IR_MULTI_EMPTY
    for name, node in nodes.items():
        try:
            sql, plan = module.compile(node, dialect)
        except ValueError as exc:
            out[name] = f"ValueError: {exc}"
            continue
        try:
            params = module.bind(plan, IR_VALUES, dialect.adapters)
        except (TypeError, AttributeError) as exc:
            params = f"{type(exc).__name__}: {exc}"
        out[name] = f"{sql}\n-- plan: {plan!r}\n-- params: {params!r}"
    return out


def _render_queries(dialect_name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, build in QUERIES.items():
        try:
            sql, params = build().sql(dialect_name)
        except Exception as exc:  # an error is part of the golden text
            out[name] = f"{type(exc).__name__}: {exc}"
            continue
        out[name] = _text(sql, params)
    return out


def _render_writes(dialect_name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, run in WRITES.items():
        recorder = Recorder(dialect_name)
        lines = []
        try:
            asyncio.run(run(recorder))
        except Exception as exc:  # canned answers may not fit: the statements still count
            lines.append(f"{type(exc).__name__}: {exc}")
        lines.extend(
            " | ".join(repr(part) if i else part for i, part in enumerate(entry))
            for entry in recorder.log
        )
        out[name] = "\n".join(lines)
    return out


def _render_ddl(dialect_name: str) -> dict[str, str]:
    dialect = get_dialect(dialect_name)
    out: dict[str, str] = {}
    for model in DDL_MODELS:
        meta = model._db_meta
        statements = [
            *create_table_statements(meta, dialect),
            *create_table_statements(meta, dialect, if_not_exists=False),
            *foreign_key_statements(meta, dialect),
            *drop_table_statements(meta, dialect),
            *drop_table_statements(meta, dialect, if_exists=False),
        ]
        # as the driver takes them: the text the golden file has always held
        out[f"ddl.{meta.table_name}"] = "\n".join(dialect.driver_text(s) for s in statements)
    return out


def render_corpus(dialect_name: str, module: Any) -> dict[str, str]:
    """Every corpus entry on ``dialect_name``, with ``module`` as the SQL builder (the
    query API and the writes go through ``oxyde._impl.sqlbuild``: the caller sets it)."""
    dialect = get_dialect(dialect_name)
    out = _render_ir(module, dialect)
    out.update(_render_queries(dialect_name))
    out.update(_render_writes(dialect_name))
    out.update(_render_ddl(dialect_name))
    return out
