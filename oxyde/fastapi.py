"""``oxyde.fastapi``: FastAPI integration (extra ``oxyde-cy[fastapi]``).

- ``lifespan(default=URL, create_tables=False)``: connect at startup, close at shutdown.
- ``add_exception_handlers(app)``: ``NotFoundError`` -> 404, integrity errors -> 409,
  Pydantic ``ValidationError`` and bad lookups -> 422, instead of a 500.
- ``input_schema(Model)`` / ``output_schema(Model)``: request and response models
  derived from a table model. A table model used as a request body would accept a
  client-chosen primary key and nested relations that ``save()`` does not write; an
  input schema has neither (and refuses unknown keys), an output schema has no
  relation fields (only their ``*_id`` keys).
- ``paginate(query, limit=, offset=)``: one page of rows and the total, as ``Page``.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("oxyde.fastapi needs FastAPI: pip install 'oxyde-cy[fastapi]'") from exc

from oxyde.backends.settings import PoolSettings
from oxyde.db.lifecycle import lifespan as _db_lifespan
from oxyde.db.registry import lookup
from oxyde.exceptions import (
    FieldError,
    FieldLookupError,
    IntegrityError,
    NotFoundError,
)
from oxyde.meta.field import DbFieldOptions
from oxyde.queries.manager import QueryManager

if TYPE_CHECKING:
    from oxyde.queries.query import Query

__all__ = [
    "Page",
    "add_exception_handlers",
    "input_schema",
    "lifespan",
    "output_schema",
    "paginate",
]

T = TypeVar("T")


# -- lifespan ------------------------------------------------------------------------------


def lifespan(
    *, create_tables: bool = False, settings: PoolSettings | None = None, **urls: str
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A ``FastAPI(lifespan=...)``: ``db.lifespan(**urls)``, plus ``create_tables()`` on
    each of those databases at startup when ``create_tables`` (idempotent: existing
    tables are kept)."""
    opened = _db_lifespan(settings=settings, **urls)

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        async with opened(app):
            if create_tables:
                from oxyde.db.schema import create_tables as create

                for name in urls:
                    await create(lookup(name))
            yield

    return run


# -- errors --------------------------------------------------------------------------------


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    # The database's message names the constraint, not the row's values.
    kind = type(exc).__name__
    return JSONResponse({"detail": str(exc), "type": kind}, status_code=409)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, pydantic.ValidationError):
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        return JSONResponse({"detail": errors}, status_code=422)
    return JSONResponse({"detail": str(exc)}, status_code=422)


def add_exception_handlers(app: FastAPI) -> None:
    """Map oxyde's errors (and Pydantic's, raised in a handler) to HTTP responses:
    ``NotFoundError`` 404, ``IntegrityError`` and its subclasses (unique, foreign key,
    not null, check) 409, ``ValidationError``, ``FieldError`` and ``FieldLookupError``
    (a filter built from bad user input) 422."""
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(pydantic.ValidationError, _invalid)
    app.add_exception_handler(FieldError, _invalid)
    app.add_exception_handler(FieldLookupError, _invalid)


# -- schemas -------------------------------------------------------------------------------


def _plain_field(info: Any) -> Any:
    """A model field's ``FieldInfo`` without oxyde's database options."""
    plain = copy.copy(info)
    plain.metadata = [m for m in info.metadata if not isinstance(m, DbFieldOptions)]
    return plain


def _relation_fields(model: type[BaseModel]) -> set[str]:
    meta = model._db_meta  # type: ignore[attr-defined]
    return {*meta.foreign_keys, *meta.reverse}


def _schema(
    model: type[BaseModel],
    *,
    fields: Iterable[str] | None,
    exclude: Iterable[str],
    drop_pk: bool,
    name: str,
    config: ConfigDict,
) -> type[BaseModel]:
    meta = model._db_meta  # type: ignore[attr-defined]
    available = [n for n in model.model_fields if n not in _relation_fields(model)]
    if drop_pk and meta.pk is not None:
        available.remove(meta.pk.name)
    excluded = set(exclude)
    chosen = list(available) if fields is None else list(fields)
    unknown = sorted({*chosen, *excluded} - set(available))
    if unknown:
        raise ValueError(
            f"{name}: {model.__name__} has no field {', '.join(map(repr, unknown))} usable "
            f"here (relations{' and the primary key' if drop_pk else ''} are left out); "
            f"valid: {', '.join(available)}"
        )
    definitions: dict[str, Any] = {
        field: (model.model_fields[field].annotation, _plain_field(model.model_fields[field]))
        for field in chosen
        if field not in excluded
    }
    schema: type[BaseModel] = pydantic.create_model(
        name, __config__=config, __module__=model.__module__, **definitions
    )
    return schema


def input_schema(
    model: type[BaseModel],
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    name: str | None = None,
) -> type[BaseModel]:
    """A request-body model for creating or updating ``model`` rows: its fields without
    the primary key and relations (``*_id`` keys stay), or only ``fields``, minus
    ``exclude``. Unknown keys (a client ``id``, a nested ``author``) are refused with a
    422 rather than ignored. Create a row with ``Model.objects.create(**body.model_dump())``.
    """
    return _schema(
        model,
        fields=fields,
        exclude=exclude,
        drop_pk=True,
        name=name or f"{model.__name__}In",
        config=ConfigDict(extra="forbid"),
    )


def output_schema(
    model: type[BaseModel],
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    name: str | None = None,
) -> type[BaseModel]:
    """A response model for ``model`` rows: its fields with the primary key, without
    relations (``*_id`` keys stay), or only ``fields``, minus ``exclude``. Use it as
    ``response_model=``; ``Schema.model_validate(instance)`` also works."""
    return _schema(
        model,
        fields=fields,
        exclude=exclude,
        drop_pk=False,
        name=name or f"{model.__name__}Out",
        config=ConfigDict(from_attributes=True),
    )


# -- pagination ----------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    """One page of a query: ``items``, the ``total`` number of matching rows, and the
    ``limit`` and ``offset`` it was taken with."""

    items: list[T]
    total: int
    limit: int
    offset: int


async def paginate(
    query: Query[T] | QueryManager[T],
    *,
    limit: int = 50,
    offset: int = 0,
    using: str | None = None,
) -> Page[T]:
    """Rows ``offset`` to ``offset + limit`` of ``query`` and the total count. A query
    with no ordering is ordered by primary key, so pages do not overlap."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"paginate(limit=...) must be a positive integer, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"paginate(offset=...) must be a non-negative integer, got {offset!r}")
    q = query.query() if isinstance(query, QueryManager) else query
    meta = q._meta
    if not q._order and not meta.ordering and meta.pk is not None:
        q = q.order_by(meta.pk.name)
    total = await q.count(using=using)
    items = await q.offset(offset).limit(limit).all(using=using) if total > offset else []
    return Page(items=items, total=total, limit=limit, offset=offset)
