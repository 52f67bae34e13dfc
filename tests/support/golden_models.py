"""Models of the golden SQL and whole-query equivalence tests (tables ``gq_*``), and
``Recorder``, an executor that records statements instead of running them.

``GqBook -> GqAuthor -> GqCompany -> GqCountry`` is a chain of forward foreign keys, so
lookups can follow relations to depth three. ``GqBook`` has a column of most value kinds
(the dialects adapt them differently), a ``db_default`` column (left out of an INSERT
while unset) and a private attribute; ``GqAuthor`` has a reverse relation (a field
without a column); ``GqTag`` has a default ordering.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from pydantic import PrivateAttr

from oxyde import Field, Model
from oxyde.backends.capabilities import Capabilities, declare
from oxyde.sql.dialects import get_dialect
from oxyde.sql.dialects.base import Dialect


class GqStatus(enum.StrEnum):
    DRAFT = "draft"
    OUT = "out"


class GqCountry(Model):
    id: int | None = Field(default=None, db_pk=True)
    code: str = Field(max_length=2)

    class Meta:
        is_table = True
        table_name = "gq_country"


class GqCompany(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    country: GqCountry | None = None

    class Meta:
        is_table = True
        table_name = "gq_company"


class GqAuthor(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    company: GqCompany | None = None
    books: list[GqBook] = Field(default_factory=list, db_reverse_fk="author")
    _visits: int = PrivateAttr(default=0)

    class Meta:
        is_table = True
        table_name = "gq_author"


class GqBook(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=200)
    pages: int = 0
    rating: float = 0.0
    price: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    in_print: bool = True
    released: dt.date | None = None
    published: dt.datetime | None = None
    uid: uuid.UUID | None = None
    status: GqStatus = GqStatus.DRAFT
    note: str = Field(default="", max_length=50, db_default="'none'")
    author: GqAuthor | None = None
    _cache: dict[str, int] = PrivateAttr(default_factory=dict)

    class Meta:
        is_table = True
        table_name = "gq_book"


class GqTag(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "gq_tag"
        ordering = ["name", "-id"]


GQ_MODELS: tuple[type[Model], ...] = (GqCountry, GqCompany, GqAuthor, GqBook, GqTag)


class Recorder:
    """An ``Executor`` that runs nothing: it records what it is asked to run and answers
    each ``fetch`` with the next canned list of rows (``[]`` when none is left), and
    every ``execute`` with ``rowcount`` rows changed.

    Only for tests that read the SQL a terminal sends; whether a database accepts it is
    for the integration tests to say."""

    rowcount = 2

    def __init__(self, dialect: str, answers: Sequence[list[tuple[Any, ...]]] = ()) -> None:
        self._dialect = get_dialect(dialect)
        self.answers = list(answers)
        #: ("fetch" | "fetch:write" | "execute", sql, params), ("execute_many", sql,
        #: [params, ...]), ("begin",) and ("commit",) around an atomic block
        self.log: list[tuple[Any, ...]] = []

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def capabilities(self) -> Capabilities:
        # Nothing optional: every write goes through plain statements it can record.
        return declare(
            self._dialect,
            copy=False,
            runs_statements=False,
            pipeline=False,
            savepoints=False,
            transactional_ddl=False,
            server_side_cursor=False,
            skip_locked=False,
            nowait=False,
            single_writer=False,
            foreign_key_suspension=False,
        )

    @property
    def in_transaction(self) -> bool:
        return False

    async def fetch(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> list[tuple[Any, ...]]:
        self.log.append(("fetch:write" if write else "fetch", sql, list(params)))
        return self.answers.pop(0) if self.answers else []

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        return [], await self.fetch(sql, params, write=write)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        self.log.append(("execute", sql, list(params)))
        return self.rowcount

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        self.log.append(("execute_many", sql, [list(p) for p in params_seq]))
        return len(params_seq)

    @asynccontextmanager
    async def atomic_block(self) -> AsyncIterator[Recorder]:
        self.log.append(("begin",))
        yield self
        self.log.append(("commit",))

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        self.log.append(("stream", sql, list(params)))
        yield await self.fetch(sql, params)
