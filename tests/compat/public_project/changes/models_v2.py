"""Models for the public Oxyde's generator: many kinds of change (version 2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from oxyde import Check, Field, Index, Model


class Status(str, Enum):  # noqa: UP042  (as the project had it)
    DRAFT = "draft"
    LIVE = "live"
    GONE = "gone"


class Shop(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50, db_unique=True)
    note: str | None = Field(default=None, max_length=200)
    owner: str | None = Field(default="someone", max_length=40)

    class Meta:
        is_table = True
        table_name = "gen_shop"


class Item(Model):
    id: int | None = Field(default=None, db_pk=True)
    shop: Shop | None = Field(default=None, db_on_delete="SET NULL")
    title: str = Field(max_length=80)
    price: Decimal = Field(max_digits=8, decimal_places=2)
    status: Status = Status.DRAFT
    ttl: timedelta | None = None
    data: bytes | None = None
    created: datetime | None = None
    qty: int = Field(default=1)
    rating: float | None = Field(default=None, db_index=True)

    class Meta:
        is_table = True
        table_name = "gen_item"
        indexes = [Index(("title",), unique=True, name="gen_item_title_uq")]
        constraints = [
            Check("qty >= 0", name="gen_item_qty_ck"),
            Check("price > 0", name="gen_item_price_ck"),
        ]
