"""``Model.objects``: every builder and terminal of ``Query``, started on the whole table.

The forwarding is written out, not generated, so that type checkers see each method with
its overloads and ``Query[M]`` results (tests/typing); tests/unit/test_manager_forwarding.py
fails when a forwarder's signature drifts from ``Query``'s."""

from __future__ import annotations

import decimal
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Generic, Literal, TypeVar, overload

from oxyde.queries import pointget as _pointget
from oxyde.queries.expressions import Expression, OrderBy, Q
from oxyde.queries.query import Mode, Query

M = TypeVar("M")


class QueryManager(Generic[M]):
    """Entry point for queries on one model; each call starts a fresh ``Query``."""

    __slots__ = ("model",)

    def __init__(self, model_class: type[M]) -> None:
        self.model = model_class

    @property
    def model_class(self) -> type[M]:
        """The model (the public Oxyde's name for ``model``)."""
        return self.model

    def query(self) -> Query[M]:
        """An empty query on the whole table."""
        return Query(self.model)

    def __repr__(self) -> str:
        return f"<QueryManager {self.model.__name__}>"

    # builders
    def filter(self, *args: Q, **lookups: Any) -> Query[M]:
        return Query(self.model).filter(*args, **lookups)

    def exclude(self, *args: Q, **lookups: Any) -> Query[M]:
        return Query(self.model).exclude(*args, **lookups)

    def order_by(self, *fields: str | Expression | OrderBy) -> Query[M]:
        return Query(self.model).order_by(*fields)

    def limit(self, value: int) -> Query[M]:
        return Query(self.model).limit(value)

    def offset(self, value: int) -> Query[M]:
        return Query(self.model).offset(value)

    def distinct(self, distinct: bool = True) -> Query[M]:
        return Query(self.model).distinct(distinct)

    def values(self, *fields: str) -> Query[dict[str, Any]]:
        return Query(self.model).values(*fields)

    @overload
    def values_list(self, *fields: str, flat: Literal[False] = False) -> Query[tuple[Any, ...]]: ...
    @overload
    def values_list(self, *fields: str, flat: bool) -> Query[Any]: ...

    def values_list(self, *fields: str, flat: bool = False) -> Query[Any]:
        return Query(self.model).values_list(*fields, flat=flat)

    def select(self, *fields: str) -> Query[M]:
        return Query(self.model).select(*fields)

    def using_primary(self) -> Query[M]:
        return Query(self.model).using_primary()

    def for_update(
        self, *, nowait: bool = False, skip_locked: bool = False, of: Sequence[str] = ()
    ) -> Query[M]:
        return Query(self.model).for_update(nowait=nowait, skip_locked=skip_locked, of=of)

    def for_share(
        self, *, nowait: bool = False, skip_locked: bool = False, of: Sequence[str] = ()
    ) -> Query[M]:
        return Query(self.model).for_share(nowait=nowait, skip_locked=skip_locked, of=of)

    def select_for_update(
        self, *, nowait: bool = False, skip_locked: bool = False, of: Sequence[str] = ()
    ) -> Query[M]:
        return Query(self.model).select_for_update(nowait=nowait, skip_locked=skip_locked, of=of)

    def join(self, *paths: str) -> Query[M]:
        return Query(self.model).join(*paths)

    def prefetch(self, *paths: str) -> Query[M]:
        return Query(self.model).prefetch(*paths)

    def none(self) -> Query[M]:
        return Query(self.model).none()

    def annotate(self, /, **exprs: Any) -> Query[M]:
        return Query(self.model).annotate(**exprs)

    def group_by(self, *fields: str) -> Query[M]:
        return Query(self.model).group_by(*fields)

    def having(self, *args: Q, **lookups: Any) -> Query[M]:
        return Query(self.model).having(*args, **lookups)

    def union(self, other_query: Query[Any]) -> Query[M]:
        return Query(self.model).union(other_query)

    def union_all(self, other_query: Query[Any]) -> Query[M]:
        return Query(self.model).union_all(other_query)

    # terminals
    @overload
    async def all(
        self, *, mode: None = None, using: str | None = None, client: Any = None
    ) -> list[M]: ...
    @overload
    async def all(
        self, *, mode: Literal["dict"], using: str | None = None, client: Any = None
    ) -> list[dict[str, Any]]: ...
    @overload
    async def all(
        self, *, mode: Literal["list"], using: str | None = None, client: Any = None
    ) -> list[tuple[Any, ...]]: ...
    @overload
    async def all(
        self, *, mode: Literal["msgpack"], using: str | None = None, client: Any = None
    ) -> bytes: ...
    @overload
    async def all(
        self, *, mode: Mode | None, using: str | None = None, client: Any = None
    ) -> Any: ...

    async def all(
        self, *, mode: Mode | None = None, using: str | None = None, client: Any = None
    ) -> Any:
        return await Query(self.model).all(mode=mode, using=using, client=client)

    async def get(self, *, using: str | None = None, client: Any = None, **lookups: Any) -> M:
        # Query.get, with the statement kept per lookup keys (oxyde/queries/pointget.py)
        result: M = await _pointget.get(self.model, using, client, lookups)
        return result

    async def get_or_none(
        self, *, using: str | None = None, client: Any = None, **lookups: Any
    ) -> M | None:
        result: M | None = await Query(self.model).get_or_none(
            using=using, client=client, **lookups
        )
        return result

    async def first(self, *, using: str | None = None, client: Any = None) -> M | None:
        result: M | None = await Query(self.model).first(using=using, client=client)
        return result

    async def last(self, *, using: str | None = None, client: Any = None) -> M | None:
        result: M | None = await Query(self.model).last(using=using, client=client)
        return result

    async def count(self, *, using: str | None = None, client: Any = None) -> int:
        return await Query(self.model).count(using=using, client=client)

    async def exists(self, *, using: str | None = None, client: Any = None) -> bool:
        return await Query(self.model).exists(using=using, client=client)

    async def sum(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await Query(self.model).sum(field, using=using, client=client)

    async def avg(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await Query(self.model).avg(field, using=using, client=client)

    async def max(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await Query(self.model).max(field, using=using, client=client)

    async def min(self, field: str, *, using: str | None = None, client: Any = None) -> Any:
        return await Query(self.model).min(field, using=using, client=client)

    async def aggregate(
        self, *, using: str | None = None, client: Any = None, **exprs: Expression
    ) -> dict[str, Any]:
        return await Query(self.model).aggregate(using=using, client=client, **exprs)

    async def in_bulk(
        self,
        ids: Iterable[Any],
        *,
        field: str = "pk",
        using: str | None = None,
        client: Any = None,
    ) -> dict[Any, M]:
        result: dict[Any, M] = await Query(self.model).in_bulk(
            ids, field=field, using=using, client=client
        )
        return result

    async def create(
        self, *, instance: M | None = None, using: str | None = None, client: Any = None,
        **data: Any,
    ) -> M:  # fmt: skip
        result: M = await Query(self.model).create(
            instance=instance, using=using, client=client, **data
        )
        return result

    async def bulk_create(
        self,
        objects: Iterable[M | dict[str, Any]],
        *,
        batch_size: int | None = None,
        on_conflict: Sequence[str] | str | None = None,
        update_fields: Sequence[str] | None = None,
        ignore_conflicts: bool = False,
        using: str | None = None,
        client: Any = None,
    ) -> list[M]:
        return await Query(self.model).bulk_create(
            objects, batch_size=batch_size, on_conflict=on_conflict, update_fields=update_fields,
            ignore_conflicts=ignore_conflicts, using=using, client=client,
        )  # fmt: skip

    async def upsert(
        self,
        objects: Any,
        *,
        conflict: Sequence[str] | str | None = None,
        update: Sequence[str] | None = None,
        batch_size: int | None = None,
        using: str | None = None,
        client: Any = None,
    ) -> Any:
        return await Query(self.model).upsert(
            objects, conflict=conflict, update=update, batch_size=batch_size, using=using,
            client=client,
        )  # fmt: skip

    async def bulk_update(
        self,
        objects: Iterable[M],
        fields: Sequence[str],
        *,
        using: str | None = None,
        client: Any = None,
    ) -> int:
        return await Query(self.model).bulk_update(objects, fields, using=using, client=client)

    async def get_or_create(
        self,
        *,
        defaults: dict[str, Any] | None = None,
        using: str | None = None,
        client: Any = None,
        **lookups: Any,
    ) -> tuple[M, bool]:
        return await Query(self.model).get_or_create(
            defaults=defaults, using=using, client=client, **lookups
        )

    async def update_or_create(
        self,
        *,
        defaults: dict[str, Any] | None = None,
        using: str | None = None,
        client: Any = None,
        **lookups: Any,
    ) -> tuple[M, bool]:
        return await Query(self.model).update_or_create(
            defaults=defaults, using=using, client=client, **lookups
        )

    @overload
    async def update(
        self, *, returning: Literal[False] = False, using: str | None = None,
        client: Any = None, **values: Any,
    ) -> int: ...  # fmt: skip
    @overload
    async def update(
        self, *, returning: Literal[True], using: str | None = None, client: Any = None,
        **values: Any,
    ) -> list[M]: ...  # fmt: skip
    @overload
    async def update(
        self, *, returning: bool, using: str | None = None, client: Any = None,
        **values: Any,
    ) -> int | list[M]: ...  # fmt: skip

    async def update(
        self, *, returning: bool = False, using: str | None = None, client: Any = None,
        **values: Any,
    ) -> Any:  # fmt: skip
        return await Query(self.model).update(
            returning=returning, using=using, client=client, **values
        )

    async def increment(
        self,
        field: str,
        by: int | float | decimal.Decimal = 1,
        *,
        using: str | None = None,
        client: Any = None,
    ) -> int:
        return await Query(self.model).increment(field, by, using=using, client=client)

    async def delete(self, *, using: str | None = None, client: Any = None) -> int:
        return await Query(self.model).delete(using=using, client=client)

    async def explain(
        self,
        *,
        analyze: bool = False,
        format: Literal["text", "json"] = "text",
        using: str | None = None,
        client: Any = None,
    ) -> Any:
        return await Query(self.model).explain(
            analyze=analyze, format=format, using=using, client=client
        )

    def iterator(
        self, *, chunk_size: int = 1000, using: str | None = None, client: Any = None
    ) -> AsyncIterator[M]:
        return Query(self.model).iterator(chunk_size=chunk_size, using=using, client=client)

    def sql(self, dialect: str = "postgres", *, with_types: bool = False) -> tuple[str, list[Any]]:
        return Query(self.model).sql(dialect, with_types=with_types)
