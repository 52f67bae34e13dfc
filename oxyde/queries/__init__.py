"""Queries: the manager, the immutable query, expressions and raw SQL.

Layer: above ``oxyde.advice`` and ``oxyde.db``; it may import those and everything below
them, never ``oxyde.models`` (a model class reaches this layer as a value, and its
metadata comes from ``oxyde.meta``). Inside the package, ``Query`` (``query.py``) sits
above the helpers it calls (``annotations``, ``writes``, ``upsert``, ``prefetch``,
``resolve``, ``rowplan``, ``executor``...), which take the query as an argument; the
manager, ``pointget``, ``instance`` and ``setops`` sit above it. The order is a contract
in ``pyproject.toml``.
"""

from oxyde.backends.base import Executor as SupportsExecute
from oxyde.queries.expressions import (
    Aggregate,
    Avg,
    Coalesce,
    Concat,
    Count,
    F,
    Max,
    Min,
    Q,
    RawSQL,
    Sum,
)
from oxyde.queries.manager import QueryManager
from oxyde.queries.query import Query
from oxyde.queries.raw import execute_raw
from oxyde.queries.typed import FlatValuesListQuery, ValuesListQuery, ValuesQuery

__all__ = [
    "Aggregate",
    "Avg",
    "Coalesce",
    "Concat",
    "Count",
    "F",
    "FlatValuesListQuery",
    "Max",
    "Min",
    "Q",
    "Query",
    "QueryManager",
    "RawSQL",
    "Sum",
    "SupportsExecute",
    "ValuesListQuery",
    "ValuesQuery",
    "execute_raw",
]
