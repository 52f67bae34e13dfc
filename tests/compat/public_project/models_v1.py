"""Models of a small project written for the public Oxyde (first version)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from oxyde import Field, Index, Model


class Author(Model):
    id: int | None = Field(default=None, db_pk=True)
    email: str = Field(max_length=120, db_unique=True)
    name: str = Field(max_length=80, db_index=True)
    age: int | None = None
    active: bool = Field(default=True)
    rating: float = 0.0
    balance: Decimal = Field(default=Decimal("0"), max_digits=10, decimal_places=2)
    joined: date | None = None

    class Meta:
        is_table = True
        table_name = "pub_author"


class Post(Model):
    id: int | None = Field(default=None, db_pk=True)
    author: Author | None = Field(default=None, db_on_delete="CASCADE")
    title: str = Field(max_length=200)
    body: str = Field(db_type="TEXT")
    published_at: datetime | None = None
    token: UUID | None = None
    meta: dict | None = None

    class Meta:
        is_table = True
        table_name = "pub_post"
        indexes = [Index(("title", "published_at"))]
