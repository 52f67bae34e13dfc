"""User-style models for the typing tests."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from oxyde import Field, Model


class Role(enum.StrEnum):
    admin = "admin"
    user = "user"


class Company(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)

    class Meta:
        is_table = True
        table_name = "mg_company"


class User(Model):
    id: int | None = Field(default=None, db_pk=True)
    email: str = Field(db_unique=True, max_length=255)
    age: int | None = None
    role: Role = Role.user
    joined: datetime | None = None
    balance: Decimal = Field(default=Decimal("0"), max_digits=10, decimal_places=2)
    company: Company | None = Field(default=None, db_on_delete="SET NULL")

    class Meta:
        is_table = True
        table_name = "mg_user"

    def display(self) -> str:
        return f"{self.email} ({self.role})"


def helper(value: int) -> int:
    return value + 1
