"""Typing facades for generated stubs: what ``values()`` / ``values_list()`` return.

At run time these are plain ``Query``; type checkers see queries whose terminals return
dicts, tuples or single values instead of model instances.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from oxyde.queries.query import Query

__all__ = ["FlatValuesListQuery", "ValuesListQuery", "ValuesQuery"]

if TYPE_CHECKING:

    class _RowQuery(Query[Any]):
        """Builders of a projected query keep its kind."""

        # parameters as wide as Query's may become: these only narrow what is returned
        def filter(self, *args: Any, **lookups: Any) -> Self: ...
        def exclude(self, *args: Any, **lookups: Any) -> Self: ...
        def order_by(self, *fields: Any) -> Self: ...
        def limit(self, value: int) -> Self: ...
        def offset(self, value: int) -> Self: ...
        def distinct(self, distinct: bool = True) -> Self: ...
        def __getitem__(self, key: Any) -> Self: ...

    class ValuesQuery(_RowQuery):
        """``values(...)``: rows as dicts."""

        async def all(
            self,
            *,
            mode: str | None = None,
            using: str | None = None,
            client: Any = None,
        ) -> list[dict[str, Any]]: ...
        async def first(
            self, *, using: str | None = None, client: Any = None
        ) -> dict[str, Any] | None: ...
        async def last(
            self, *, using: str | None = None, client: Any = None
        ) -> dict[str, Any] | None: ...
        async def get(
            self, *, using: str | None = None, client: Any = None, **lookups: Any
        ) -> dict[str, Any]: ...
        def iterator(
            self, *, chunk_size: int = 1000, using: str | None = None, client: Any = None
        ) -> AsyncIterator[dict[str, Any]]: ...

    class ValuesListQuery(_RowQuery):
        """``values_list(...)``: rows as tuples."""

        async def all(
            self,
            *,
            mode: str | None = None,
            using: str | None = None,
            client: Any = None,
        ) -> list[tuple[Any, ...]]: ...
        async def first(
            self, *, using: str | None = None, client: Any = None
        ) -> tuple[Any, ...] | None: ...
        async def last(
            self, *, using: str | None = None, client: Any = None
        ) -> tuple[Any, ...] | None: ...
        async def get(
            self, *, using: str | None = None, client: Any = None, **lookups: Any
        ) -> tuple[Any, ...]: ...
        def iterator(
            self, *, chunk_size: int = 1000, using: str | None = None, client: Any = None
        ) -> AsyncIterator[tuple[Any, ...]]: ...

    class FlatValuesListQuery(_RowQuery):
        """``values_list(field, flat=True)``: one value per row."""

        async def all(
            self,
            *,
            mode: str | None = None,
            using: str | None = None,
            client: Any = None,
        ) -> list[Any]: ...
        async def first(self, *, using: str | None = None, client: Any = None) -> Any: ...
        async def last(self, *, using: str | None = None, client: Any = None) -> Any: ...
        async def get(
            self, *, using: str | None = None, client: Any = None, **lookups: Any
        ) -> Any: ...
        def iterator(
            self, *, chunk_size: int = 1000, using: str | None = None, client: Any = None
        ) -> AsyncIterator[Any]: ...

else:
    ValuesQuery = ValuesListQuery = FlatValuesListQuery = Query
