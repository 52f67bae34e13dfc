"""Queries: the manager, the immutable query, expressions and raw SQL."""

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
