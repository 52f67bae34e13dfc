"""msgpack forms: ``all(mode="msgpack")``'s encoding (``rowload.load_dicts``, compiled and
pure, then ``_protocol.pack_rows``) gives the very bytes of a plain msgpack encoding of the
rows as dicts with the documented ext types, and a query's ``to_ir()`` survives its msgpack
form (its SQL, with the ``extract``/``json_has``/``json_cmp`` nodes, the same from both
``sqlbuild`` implementations)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oxyde import F, Q, _protocol
from oxyde.queries.expressions import Count
from oxyde.sql.compiler import compile_statement
from oxyde.sql.dialects import get_dialect
from tests.support.models import Author, Everything, Post, Status

ImplPair = tuple[ModuleType, ModuleType]


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 300


def _plain_default(value: Any) -> Any:
    """The documented ext types, written the plain way: what the per-type shortcuts of
    ``_protocol`` must agree with."""
    ext = msgpack.ExtType
    if isinstance(value, dt.datetime):
        return ext(1, value.isoformat().encode())
    if isinstance(value, dt.date):
        return ext(2, value.isoformat().encode())
    if isinstance(value, dt.time):
        return ext(3, value.isoformat().encode())
    if isinstance(value, dt.timedelta):
        return ext(4, str(value // dt.timedelta(microseconds=1)).encode())
    if isinstance(value, uuid.UUID):
        return ext(5, value.bytes)
    if isinstance(value, Decimal):
        return ext(6, str(value).encode())
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return ext(7, plain_pack(list(value)))
    raise TypeError(f"cannot encode {type(value).__name__} as msgpack")


def plain_pack(value: Any) -> bytes:
    return msgpack.packb(value, default=_plain_default, use_bin_type=True, strict_types=True)  # type: ignore[no-any-return]


def reference(names: tuple[str, ...], convs: tuple[Any, ...], rows: list[Any]) -> bytes:
    """What plain msgpack makes of the rows as dicts."""
    dicts = [
        {
            n: (c(v) if c is not None and v is not None else v)
            for n, c, v in zip(names, convs, row, strict=True)
        }
        for row in rows
    ]
    return plain_pack(dicts)


def encode(module: ModuleType, names: tuple[str, ...], convs: tuple[Any, ...],
           rows: list[Any]) -> bytes:  # fmt: skip
    """``all(mode="msgpack")`` once the rows are in (``queries.query._shape``)."""
    return _protocol.pack_rows(module.load_dicts(names, convs, rows))


def check(impls: Callable[[str], ImplPair], names: tuple[str, ...], rows: list[Any],
          convs: tuple[Any, ...] | None = None) -> bytes:  # fmt: skip
    pure, compiled = impls("rowload")
    convs = convs if convs is not None else (None,) * len(names)
    expected = reference(names, convs, rows)
    assert encode(pure, names, convs, rows) == expected
    assert encode(compiled, names, convs, rows) == expected
    return expected


def test_every_value_kind(impls: Callable[[str], ImplPair]) -> None:
    names = ("i", "f", "b", "s", "raw", "at", "aware", "day", "clock", "span", "uid", "price",
             "data", "tags", "status", "level", "pair", "none")  # fmt: skip
    row = (
        -7, 2.5, True, "héllo 😀", b"\x00\xff", dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC), dt.date(2024, 2, 29),
        dt.time(23, 59, 59, 999999), dt.timedelta(days=-2, microseconds=5),
        uuid.UUID(int=12345), Decimal("-1.50"), {"k": [1, {"n": None}], "": 2.0},
        ["a", "b"], Status.PUBLISHED, Level.HIGH, (1, ("x", None)), None,
    )  # fmt: skip
    data = check(impls, names, [row, row])
    decoded = _protocol.unpack(data)
    assert decoded[0]["uid"] == uuid.UUID(int=12345) and decoded[0]["price"] == Decimal("-1.50")
    assert decoded[0]["status"] == "published" and decoded[0]["level"] == 300
    assert decoded[0]["pair"] == (1, ("x", None))
    plain = msgpack.unpackb(data, raw=False, strict_map_key=False)
    assert plain[1]["s"] == "héllo 😀" and plain[1]["data"] == {"k": [1, {"n": None}], "": 2.0}


def test_subclasses_encode_as_their_base(impls: Callable[[str], ImplPair]) -> None:
    # the encoder's shortcut is by exact type; subclasses take the isinstance() path
    class Stamp(dt.datetime):
        pass

    class Pair(tuple[int, int]):
        pass

    class Amount(Decimal):
        pass

    row = (Stamp(2024, 5, 6, 7, 8), Pair((1, 2)), Amount("3.10"), Status.DRAFT)
    data = check(impls, ("at", "pair", "amount", "status"), [row])
    assert _protocol.unpack(data) == [
        {"at": dt.datetime(2024, 5, 6, 7, 8), "pair": (1, 2), "amount": Decimal("3.10"),
         "status": Status.DRAFT.value}
    ]  # fmt: skip


def test_converters_are_applied(impls: Callable[[str], ImplPair]) -> None:
    rows = [(1, "2024-01-02"), (2, None)]
    data = check(impls, ("id", "day"), rows, (None, dt.date.fromisoformat))
    assert _protocol.unpack(data) == [{"id": 1, "day": dt.date(2024, 1, 2)},
                                      {"id": 2, "day": None}]  # fmt: skip


BOUNDARY_INTS = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63),
]  # fmt: skip


def test_length_and_width_boundaries(impls: Callable[[str], ImplPair]) -> None:
    check(impls, ("n",), [(n,) for n in BOUNDARY_INTS])
    sizes = [0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536]
    check(impls, ("s", "b"), [("x" * n, b"y" * n) for n in sizes])
    check(impls, ("l", "d"), [([0] * n, {str(i): i for i in range(n)}) for n in (15, 16, 65536)])
    # ext payloads of every fixext size and beyond
    check(impls, ("t",), [(tuple(range(n)),) for n in (0, 1, 3, 7, 15, 200, 70000)])
    # a row with more than 15 columns needs a map16 header
    names = tuple(f"c{i}" for i in range(20))
    check(impls, names, [tuple(range(20))])
    assert check(impls, ("a",), []) == b"\x90"


def test_unpackable_values_fail_alike(impls: Callable[[str], ImplPair]) -> None:
    for bad in ({1, 2}, object(), 2**64, -(2**63) - 1):
        errors = []
        for module in impls("rowload"):
            with pytest.raises(TypeError) as info:
                encode(module, ("v",), (None,), [(bad,)])
            errors.append(type(info.value))
        with pytest.raises(tuple(errors)):
            reference(("v",), (None,), [(bad,)])


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes()
    | st.dates()
    | st.times()
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(scalars, scalars, json_values), max_size=12))
def test_hypothesis_rows(impls: Callable[[str], ImplPair], rows: list[Any]) -> None:
    data = check(impls, ("a", "b", "doc"), rows)
    decoded = _protocol.unpack(data)
    assert [tuple(d.values()) for d in decoded] == rows


# -- the query IR -------------------------------------------------------------------------


def corpus() -> list[Any]:
    return [
        Author.objects.query(),
        Author.objects.filter(name__icontains="50%", age__gte=18).order_by("-age", "name"),
        Author.objects.filter(Q(age__lt=18) | ~Q(email__endswith="@x.io")).limit(5).offset(10),
        Author.objects.filter(age__in=[1, 2, 3], company__name="Acme").values("name", "email"),
        Author.objects.exclude(age__isnull=True).values_list("id", flat=True).distinct(),
        Post.objects.filter(status=Status.PUBLISHED, published_at__year=2024),
        Post.objects.filter(published_at__hour=9, published_at__date=dt.date(2024, 3, 5)),
        Post.objects.filter(views__gt=F("rating") * 2, title__regex=r"^\w+$"),
        Post.objects.join("author").filter(author__age__range=(18, 65)).select_for_update(),
        Everything.objects.filter(data__a__b=5, data__has_key="k", data__x__in=["p", 2]),
        Everything.objects.filter(uid=uuid.UUID(int=7), price=Decimal("1.25"),
                                  span=dt.timedelta(hours=1), day=dt.date(2024, 1, 1)),
        Everything.objects.filter(raw=b"\x00\x01", tags=["a"], at=dt.datetime(2024, 1, 1, 2)),
        Author.objects.annotate(n=Count("id")).order_by("-n"),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(len(corpus())))
def test_query_ir_round_trips(index: int) -> None:
    query = corpus()[index]
    ir = query.to_ir()
    data = _protocol.ir_to_msgpack(ir)
    back = _protocol.ir_from_msgpack(data)
    assert back == ir
    assert type(back["ir"]) is tuple and back["ir"][0] == "select"
    for dialect in ("postgres", "sqlite", "mysql"):
        d = get_dialect(dialect)
        assert compile_statement(back["ir"], d).sql == compile_statement(ir["ir"], d).sql


def test_ir_from_msgpack_refuses_other_data() -> None:
    with pytest.raises(ValueError, match="proto 1"):
        _protocol.ir_from_msgpack(_protocol.pack({"proto": 2}))
    with pytest.raises(ValueError, match="proto 1"):
        _protocol.ir_from_msgpack(_protocol.pack([1, 2]))


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_corpus_compiles_alike(impls: Callable[[str], ImplPair], dialect: str) -> None:
    # the corpus holds the extract, json_has and json_cmp nodes too
    pure, compiled = impls("sqlbuild")
    d = get_dialect(dialect)
    for query in corpus():
        node, values = query._statement()
        sql, plan = pure.compile(node, d)
        assert compiled.compile(node, d) == (sql, plan)
        params = pure.bind(plan, values, d.adapters)
        assert compiled.bind(plan, values, d.adapters) == params
        assert sql.count({"postgres": "$", "sqlite": "?", "mysql": "%s"}[dialect]) >= len(params)


def test_new_node_vocabularies_match_the_grammar(impls: Callable[[str], ImplPair]) -> None:
    from oxyde.sql import ir as grammar

    for module in impls("sqlbuild"):
        assert module._EXTRACT_PARTS == grammar.EXTRACT_PARTS
        assert module._JSON_JTYPES == grammar.JSON_TYPES
    # every dialect compares every JSON type the grammar has
    for dialect in ("postgres", "sqlite", "mysql"):
        assert set(get_dialect(dialect).syntax.json_cmp) == grammar.JSON_TYPES
