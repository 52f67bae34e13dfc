"""The micro benchmark cases: SQL assembly (cache hit, miss, binding, end to end) and row
loading (1, 100 and 10,000 rows; a narrow and a 10-field model) against Pydantic.

Every case is a zero-argument callable plus how many items (rows, statements) one call
handles. The cases use whichever speedups ``OXYDE_IMPL`` selected in this process
(``oxyde._impl.sqlbuild`` / ``oxyde._impl.rowload``); the runner starts one process per
implementation, so the compiled and the pure-Python numbers come from the same code path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from oxyde import Field, Model, Q


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # "sql" | "rows"
    #: "impl" cases run once per speedup implementation; "pydantic" ones once.
    variant: str
    items: int
    what: str
    make: Callable[[], Callable[[], Any]]


class Narrow(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    age: int

    class Meta:
        is_table = True
        table_name = "micro_narrow"


class Wide(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=255)
    age: int
    is_active: bool = True
    score: float = 0.0
    views: int = 0
    title: str = Field(default="", max_length=200)
    note: str | None = None
    created_at: datetime | None = None

    class Meta:
        is_table = True
        table_name = "micro_wide"


class WidePost(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=200)
    views: int = 0
    author: Wide | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "micro_wide_post"


#: PostgreSQL: its driver already returns every one of these fields as its Python type, so
#: row loading is measured without any per-value conversion (the comparison with
#: ``model_validate`` is then like for like).
DIALECT = "postgres"
#: the dialect of the SQL cases (``OXYDE_MICRO_SQL_DIALECT``: postgres, sqlite or mysql)
SQL_DIALECT = os.environ.get("OXYDE_MICRO_SQL_DIALECT", DIALECT)

_WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def _rows(model: type[Model], n: int) -> list[tuple[Any, ...]]:
    if model is Narrow:
        return [(i + 1, f"user{i}", 20 + i % 50) for i in range(n)]
    return [
        (
            i + 1,
            f"User{i}",
            f"user{i}@example.com",
            20 + i % 50,
            i % 2 == 0,
            i * 0.5,
            i % 1000,
            f"Title {i}",
            None if i % 3 else "note",
            _WHEN + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def _load_case(model: type[Model], n: int) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        from oxyde import _impl
        from oxyde.queries.rowplan import model_plan
        from oxyde.sql.dialects import get_dialect

        meta = model._db_meta
        plan = model_plan(meta, get_dialect(DIALECT))
        rows = _rows(model, n)
        load = _impl.rowload.load_models
        loaded = load(model, plan, rows)
        assert len(loaded) == n and loaded[0] == model.model_validate(
            dict(zip(meta.columns, rows[0], strict=True))
        ), "rowload and model_validate disagree"
        return lambda: load(model, plan, rows)

    return make


def _use_case(
    model: type[Model], n: int, *, whole: bool, use: str
) -> Callable[[], Callable[[], Any]]:
    """Load ``n`` rows and use every instance: ``read`` reads each field once, ``dump``
    calls ``model_dump()``. ``whole``: built with their ``__dict__`` at once (the plan
    without its deferred fields set), as the pure-Python loader always does; otherwise
    as ``load_models`` does by default (compiled: deferred, built on that first use)."""

    def make() -> Callable[[], Any]:
        import operator

        from oxyde import _impl
        from oxyde.queries.rowplan import model_plan
        from oxyde.sql.dialects import get_dialect

        meta = model._db_meta
        plan = model_plan(meta, get_dialect(DIALECT))
        if whole:
            plan = plan[:7]
        rows = _rows(model, n)
        load = _impl.rowload.load_models
        if use == "read":
            get = operator.attrgetter(*meta.columns)
            expected = tuple(rows[-1])
            assert get(load(model, plan, rows)[-1]) == expected, "a field read back wrong"

            def run() -> Any:
                for instance in load(model, plan, rows):
                    get(instance)

            return run

        def dump() -> Any:
            return [instance.model_dump() for instance in load(model, plan, rows)]

        return dump

    return make


def _msgpack_case(model: type[Model], n: int, dialect: str) -> Callable[[], Callable[[], Any]]:
    # What ``all(mode="msgpack")`` runs once the rows are in (``queries.query._shape``):
    # the result's converters for the dialect, one dict per row, msgpack's encoder.
    def make() -> Callable[[], Any]:
        from oxyde import _impl, _protocol
        from oxyde.queries.annotations import result_converter
        from oxyde.sql.dialects import get_dialect

        meta = model._db_meta
        names = tuple(meta.columns)
        convs = tuple(result_converter(c, get_dialect(dialect)) for c in meta.columns.values())
        rows = _rows(model, n)
        load_dicts = _impl.rowload.load_dicts
        pack_rows = _protocol.pack_rows
        return lambda: pack_rows(load_dicts(names, convs, rows))

    return make


def _validate_case(model: type[Model], n: int) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        columns = tuple(model._db_meta.columns)
        # Dicts made in advance: only Pydantic's own work is on the clock.
        dicts = [dict(zip(columns, row, strict=True)) for row in _rows(model, n)]
        validate = model.model_validate
        return lambda: [validate(d) for d in dicts]

    return make


# ---------------------------------------------------------------------------- SQL


def _join(manager: Any, path: str) -> Any:
    # Looked up at run time: a checkout without join() loses only this shape.
    return manager.join(path)


#: Representative query shapes of the ORM benchmark set, as oxyde queries (built lazily:
#: a shape whose feature is missing only loses its own cases).
SHAPES: dict[str, Callable[[], Any]] = {
    "select_pk": lambda: Wide.objects.filter(id=42),
    "filter_complex": lambda: Wide.objects.filter(
        (Q(age__gte=18) & Q(is_active=True)) | Q(name__startswith="A")
    ),
    "filter_in": lambda: Wide.objects.filter(id__in=list(range(1, 101))),
    "order_limit": lambda: Wide.objects.order_by("-created_at").limit(10),
    "join_filter": lambda: _join(WidePost.objects, "author").filter(author__age__gte=18),
}


def _shape(name: str) -> tuple[Any, list[Any], Any]:
    from oxyde.sql.dialects import get_dialect

    ir = SHAPES[name]().to_ir()
    return ir["ir"], ir["values"], get_dialect(SQL_DIALECT)


def _miss_case(name: str) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        from oxyde import _impl

        node, _values, dialect = _shape(name)
        compile_ir = _impl.sqlbuild.compile
        return lambda: compile_ir(node, dialect)

    return make


def _hit_case(name: str) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        from oxyde.sql.compiler import compile_statement

        node, _values, dialect = _shape(name)
        compile_statement(node, dialect)  # now cached
        return lambda: compile_statement(node, dialect)

    return make


def _bind_case(name: str) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        from oxyde import _impl

        node, values, dialect = _shape(name)
        _sql, plan = _impl.sqlbuild.compile(node, dialect)
        bind = _impl.sqlbuild.bind
        adapters = dialect.adapters
        return lambda: bind(plan, values, adapters)

    return make


def _e2e_case() -> Callable[[], Any]:
    # Everything a select_pk does before the driver call: build the query from the manager,
    # produce its IR, hit the cache, bind the value.
    pks = iter(range(10**12))
    return lambda: Wide.objects.filter(id=next(pks)).sql(SQL_DIALECT)


def all_cases() -> list[Case]:
    cases: list[Case] = [
        Case(
            "sql.e2e.select_pk",
            "sql",
            "impl",
            1,
            "Model.objects.filter(id=...).sql(): build, cache hit, bind",
            lambda: _e2e_case(),
        )
    ]
    for shape in SHAPES:
        cases.append(
            Case(f"sql.hit.{shape}", "sql", "impl", 1, "compiler cache hit", _hit_case(shape))
        )
        cases.append(
            Case(
                f"sql.miss.{shape}", "sql", "impl", 1, "sqlbuild.compile (miss)", _miss_case(shape)
            )
        )
        cases.append(
            Case(f"sql.bind.{shape}", "sql", "impl", 1, "sqlbuild.bind", _bind_case(shape))
        )
    for model, label in ((Narrow, "narrow"), (Wide, "wide")):
        for n in (1, 100, 10_000):
            cases.append(
                Case(
                    f"rows.{label}.{n}",
                    "rows",
                    "impl",
                    n,
                    f"rowload.load_models, {len(model._db_meta.columns)} fields",
                    _load_case(model, n),
                )
            )
            for use in ("read", "dump"):
                if n == 1:
                    continue
                for whole in (False, True):
                    suffix = f".{use}.whole" if whole else f".{use}"
                    action = "each field read" if use == "read" else "model_dump()"
                    cases.append(
                        Case(
                            f"rows.{label}.{n}{suffix}",
                            "rows",
                            "impl",
                            n,
                            f"load_models, then {action}{' (built whole)' if whole else ''}",
                            _use_case(model, n, whole=whole, use=use),
                        )
                    )
            cases.append(
                Case(
                    f"rows.{label}.{n}.pydantic",
                    "rows",
                    "pydantic",
                    n,
                    "Model.model_validate per row (dicts prepared)",
                    _validate_case(model, n),
                )
            )
    cases.extend(
        Case(
            f"msgpack.{dialect}.{n}",
            "rows",
            "impl",
            n,
            f'all(mode="msgpack") encoding, 10 fields, {dialect} converters',
            _msgpack_case(Wide, n, dialect),
        )
        for dialect in ("postgres", "sqlite")
        for n in (1, 100, 10_000)
    )
    return cases
