"""Typing facades for generated stubs: what ``values()`` / ``values_list()`` return.

At run time these are plain ``Query``; type checkers see queries whose terminals return
dicts, tuples or single values instead of model instances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from oxyde.queries.query import Query

__all__ = ["FlatValuesListQuery", "ValuesListQuery", "ValuesQuery"]

if TYPE_CHECKING:
    # Query is generic in what its terminals return, so these are plain aliases now.
    ValuesQuery: TypeAlias = Query[dict[str, Any]]
    ValuesListQuery: TypeAlias = Query[tuple[Any, ...]]
    FlatValuesListQuery: TypeAlias = Query[Any]
else:
    ValuesQuery = ValuesListQuery = FlatValuesListQuery = Query
