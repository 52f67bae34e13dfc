"""The statement cache: one compile per query shape and dialect, values bound per call."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from oxyde import _impl
from oxyde.sql import compiler
from oxyde.sql.compiler import cache_info, clear_cache, compile_statement, render
from oxyde.sql.dialects import MYSQL, POSTGRES, SQLITE
from oxyde.sql.ir import Node


def select_where(cond: Node) -> Node:
    return (
        "select",
        ("table", "t", None, None, ()),
        (),
        cond,
        (),
        None,
        (),
        None,
        None,
        False,
        None,
    )


BY_NAME = select_where(("cmp", "=", ("col", None, "name"), ("p", "str", 0)))


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def compile_calls(monkeypatch: pytest.MonkeyPatch) -> list[Node]:
    """Records every call that reaches the SQL builder."""
    calls: list[Node] = []
    real = _impl.sqlbuild.compile

    def counting(ir: Node, dialect: Any) -> tuple[str, tuple[Any, ...]]:
        calls.append(ir)
        return real(ir, dialect)

    monkeypatch.setattr(_impl.sqlbuild, "compile", counting)
    return calls


def test_same_shape_other_values_is_a_hit(compile_calls: list[Node]) -> None:
    first = render(BY_NAME, ["alice"], SQLITE)
    second = render(BY_NAME, ["bob"], SQLITE)
    assert first == ('SELECT * FROM "t" WHERE "name" = ?', ["alice"])
    assert second == ('SELECT * FROM "t" WHERE "name" = ?', ["bob"])
    assert len(compile_calls) == 1
    assert cache_info() == {"hits": 1, "misses": 1, "size": 1}


def test_equal_trees_built_separately_share_an_entry(compile_calls: list[Node]) -> None:
    again = select_where(("cmp", "=", ("col", None, "name"), ("p", "str", 0)))
    assert again is not BY_NAME
    assert compile_statement(BY_NAME, SQLITE) is compile_statement(again, SQLITE)
    assert len(compile_calls) == 1


def test_each_dialect_has_its_own_entry(compile_calls: list[Node]) -> None:
    texts = {render(BY_NAME, ["x"], d)[0] for d in (POSTGRES, SQLITE, MYSQL)}
    assert texts == {
        'SELECT * FROM "t" WHERE "name" = $1',
        'SELECT * FROM "t" WHERE "name" = ?',
        "SELECT * FROM `t` WHERE `name` = %s",
    }
    assert len(compile_calls) == 3
    assert cache_info()["size"] == 3


def test_a_derived_dialect_is_cached_apart_and_binds_with_its_adapters() -> None:
    # a backend may replace adapters; its dialect hashes by identity, not by value
    shouting = dataclasses.replace(SQLITE, adapters={**SQLITE.adapters, "str": str.upper})
    assert render(BY_NAME, ["x"], SQLITE)[1] == ["x"]
    assert render(BY_NAME, ["x"], shouting)[1] == ["X"]
    assert cache_info()["misses"] == 2


def test_in_lists_of_any_length_give_one_text_on_postgres() -> None:
    def ids(n: int) -> Node:
        return select_where(("in", ("col", None, "id"), "int", 0, n))

    texts = {render(ids(n), [list(range(n))], POSTGRES)[0] for n in (1, 2, 5, 50)}
    assert texts == {'SELECT * FROM "t" WHERE "id" = ANY($1)'}
    assert render(ids(3), [[4, 5, 6]], POSTGRES)[1] == [[4, 5, 6]]


def test_in_lists_expand_per_length_on_sqlite() -> None:
    def ids(n: int) -> Node:
        return select_where(("in", ("col", None, "id"), "int", 0, n))

    assert render(ids(2), [[1, 2]], SQLITE) == ('SELECT * FROM "t" WHERE "id" IN (?, ?)', [1, 2])
    assert render(ids(3), [[1, 2, 3]], SQLITE)[0] == 'SELECT * FROM "t" WHERE "id" IN (?, ?, ?)'


def test_a_hit_binds_fresh_values_through_the_adapters(compile_calls: list[Node]) -> None:
    ir = select_where(("cmp", "=", ("col", None, "flag"), ("p", "bool", 0)))
    assert render(ir, [True], SQLITE)[1] == [1]
    assert render(ir, [False], SQLITE)[1] == [0]
    assert render(ir, [None], SQLITE)[1] == [None]
    assert len(compile_calls) == 1


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "MAX_ENTRIES", 8)
    shapes = [
        select_where(("cmp", "=", ("col", None, f"c{i}"), ("p", "int", 0))) for i in range(20)
    ]
    for ir in shapes:
        compile_statement(ir, SQLITE)
    assert cache_info()["size"] <= 8
    # the newest shape survived the evictions, the oldest did not
    before = cache_info()["hits"]
    compile_statement(shapes[-1], SQLITE)
    assert cache_info()["hits"] == before + 1
    compile_statement(shapes[0], SQLITE)
    assert cache_info()["hits"] == before + 1


def test_a_bad_tree_is_not_cached() -> None:
    with pytest.raises(ValueError, match="unknown condition tag 'nope'"):
        compile_statement(select_where(("nope",)), SQLITE)
    assert cache_info()["size"] == 0


def test_clear_cache_resets_the_counters() -> None:
    render(BY_NAME, ["x"], SQLITE)
    render(BY_NAME, ["x"], SQLITE)
    clear_cache()
    assert cache_info() == {"hits": 0, "misses": 0, "size": 0}
