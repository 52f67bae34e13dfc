"""``Model.objects`` forwards by hand to ``Query`` (for type checkers): every forwarder
keeps ``Query``'s signature (parameters, kinds, defaults, annotations, return type), its
overloads and its sync/async nature, so that a change on one side cannot leave the other
behind."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest

from oxyde.queries.manager import QueryManager
from oxyde.queries.query import Query

#: manager methods that are not forwarders of the ``Query`` method of the same name
OWN = {"query"}  # an empty Query here; the IR dict on Query (the public Oxyde's names)

FORWARDED = sorted(
    name
    for name, value in vars(QueryManager).items()
    if not name.startswith("_") and callable(value) and name not in OWN
)


def _kind(fn: Callable[..., Any]) -> str:
    if inspect.isasyncgenfunction(fn):
        return "async generator"
    return "coroutine" if inspect.iscoroutinefunction(fn) else "plain"


def test_the_manager_forwards_the_query_api() -> None:
    assert len(FORWARDED) > 40
    assert not [name for name in FORWARDED if not hasattr(Query, name)]


@pytest.mark.parametrize("name", FORWARDED)
def test_forwarder_matches_query(name: str) -> None:
    mine, theirs = getattr(QueryManager, name), getattr(Query, name)
    # both modules use postponed annotations: the annotations compare as written
    assert inspect.signature(mine) == inspect.signature(theirs)
    if _kind(theirs) == "async generator":
        # a forwarder may return Query's generator as it is rather than re-yield each row
        assert _kind(mine) in ("async generator", "plain")
    else:
        assert _kind(mine) == _kind(theirs)
    assert [inspect.signature(f) for f in typing.get_overloads(mine)] == [
        inspect.signature(f) for f in typing.get_overloads(theirs)
    ]


def test_a_drifted_signature_is_told_apart() -> None:
    # what the comparison above relies on: a default or an annotation that differs
    def a(self: Any, field: str, by: int = 1) -> int: ...
    def b(self: Any, field: str, by: int = 2) -> int: ...
    def c(self: Any, field: str, by: Any = 1) -> int: ...

    assert inspect.signature(a) != inspect.signature(b)
    assert inspect.signature(a) != inspect.signature(c)
