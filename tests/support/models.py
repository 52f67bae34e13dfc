"""Models shared by the integration tests of the query API."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime

from oxyde import Check, Field, Index, Model


class Status(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Company(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100, db_unique=True)
    country: str | None = Field(default=None, max_length=2)

    class Meta:
        is_table = True
        table_name = "it_company"


class Author(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=200, db_unique=True)
    age: int | None = None
    active: bool = True
    company: Company | None = Field(default=None, db_on_delete="SET NULL")

    class Meta:
        is_table = True
        table_name = "it_author"
        constraints = [Check("age IS NULL OR age >= 0", name="it_author_age_nonneg")]


class Post(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=200)
    views: int = 0
    rating: float = 0.0
    status: Status = Status.DRAFT
    published_at: dt.datetime | None = None
    author: Author | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "it_post"
        indexes = [Index(("status", "published_at"))]


class Everything(Model):
    """One column of every supported type."""

    id: int | None = Field(default=None, db_pk=True)
    i: int = 0
    f: float = 0.0
    b: bool = False
    s: str = Field(default="", max_length=255)
    raw: bytes = b""
    at: dt.datetime | None = None
    at_tz: AwareDatetime | None = None
    day: dt.date | None = None
    clock: dt.time | None = None
    span: dt.timedelta | None = None
    uid: uuid.UUID | None = None
    price: Decimal | None = Field(default=None, max_digits=12, decimal_places=4)
    data: dict[str, Any] | None = None
    tags: list[str] | None = None
    status: Status | None = None

    class Meta:
        is_table = True
        table_name = "it_everything"


class Token(Model):
    """A model whose key the client makes."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, db_pk=True)
    label: str = Field(max_length=50)
    created: str = Field(default="", db_default="'server'", max_length=20)

    class Meta:
        is_table = True
        table_name = "it_token"


class Hooked(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "it_hooked"

    async def pre_save(self, *, is_create: bool, update_fields: set[str] | None = None) -> None:
        HOOK_LOG.append(("pre_save", self.name, is_create))

    async def post_save(self, *, is_create: bool, update_fields: set[str] | None = None) -> None:
        HOOK_LOG.append(("post_save", self.name, is_create))

    async def pre_delete(self) -> None:
        HOOK_LOG.append(("pre_delete", self.name, False))

    async def post_delete(self) -> None:
        HOOK_LOG.append(("post_delete", self.name, False))


HOOK_LOG: list[tuple[str, str, bool]] = []

ALL_MODELS = (Company, Author, Post, Everything, Token, Hooked)
