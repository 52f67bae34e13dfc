"""The three SQL dialects, and ``get_dialect`` to pick one by name."""

from __future__ import annotations

from oxyde.sql.dialects.base import Dialect
from oxyde.sql.dialects.mysql import MYSQL
from oxyde.sql.dialects.postgres import POSTGRES
from oxyde.sql.dialects.sqlite import SQLITE

__all__ = ["MYSQL", "POSTGRES", "SQLITE", "Dialect", "get_dialect"]

_BY_NAME: dict[str, Dialect] = {
    "postgres": POSTGRES,
    "postgresql": POSTGRES,
    "sqlite": SQLITE,
    "mysql": MYSQL,
    "mariadb": MYSQL,
}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name`` (case-insensitive; ``postgresql`` and ``mariadb`` too)."""
    dialect = _BY_NAME.get(name.lower()) if isinstance(name, str) else None
    if dialect is None:
        raise ValueError(
            f"unknown dialect {name!r}; expected one of: {', '.join(sorted(_BY_NAME))}"
        )
    return dialect
