"""Names for a query by the form of its rows, as the public Oxyde's API spells them.

``values()`` and ``values_list()`` return a ``Query``; these subclasses exist so code
(and annotations) written for the public Oxyde import and type-check unchanged.
"""

from __future__ import annotations

from typing import TypeVar

from oxyde.queries.query import Query

__all__ = ["FlatValuesListQuery", "ValuesListQuery", "ValuesQuery"]

M = TypeVar("M")


class ValuesQuery(Query[M]):
    """A query after ``values()``: rows are dicts."""

    __slots__ = ()


class ValuesListQuery(Query[M]):
    """A query after ``values_list()``: rows are tuples."""

    __slots__ = ()


class FlatValuesListQuery(Query[M]):
    """A query after ``values_list(field, flat=True)``: rows are single values."""

    __slots__ = ()
