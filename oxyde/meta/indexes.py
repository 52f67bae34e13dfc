"""``Index`` and ``Check``: the table-level declarations of ``Meta.indexes`` / ``constraints``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["INDEX_METHODS", "Check", "Index"]

#: PostgreSQL access methods ``db_index_method`` and ``Index(method=...)`` accept
INDEX_METHODS = ("btree", "hash", "gin", "gist")


@dataclass(frozen=True)
class Index:
    """An index over one or more fields (field names, not column names).

    ``where`` makes a partial index (PostgreSQL and SQLite); ``method`` picks the
    PostgreSQL access method. Without ``name`` the DDL derives ``<table>_<fields>_idx``.
    """

    fields: tuple[str, ...]
    unique: bool = False
    where: str | None = None
    method: str | None = None
    name: str | None = None

    def __init__(
        self,
        fields: Sequence[str],
        # The public Oxyde's positional order.
        method: str | None = None,
        name: str | None = None,
        unique: bool = False,
        where: str | None = None,
    ) -> None:
        if isinstance(fields, str):
            # Index("email") is a common slip for Index(("email",)); a str is a sequence
            # of one-letter names, which would otherwise fail far from here.
            fields = (fields,)
        names = tuple(fields)
        if not names:
            raise ValueError("Index() needs at least one field")
        for item in names:
            if not isinstance(item, str) or not item:
                raise TypeError(f"Index() fields must be field names, got {item!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"Index() lists a field twice: {names!r}")
        if method is not None:
            if not isinstance(method, str) or method.lower() not in INDEX_METHODS:
                raise ValueError(
                    f"Index() method={method!r} is not valid; choose one of "
                    f"{', '.join(map(repr, INDEX_METHODS))}"
                )
            method = method.lower()
        if where is not None and (not isinstance(where, str) or not where.strip()):
            raise TypeError(f"Index() where must be a SQL condition string, got {where!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"Index() name must be a non-empty string, got {name!r}")
        object.__setattr__(self, "fields", names)
        object.__setattr__(self, "unique", bool(unique))
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "name", name)


@dataclass(frozen=True)
class Check:
    """A CHECK constraint; ``expression`` is SQL written against column names."""

    expression: str
    name: str | None = None

    def __init__(self, expression: str, name: str | None = None) -> None:
        if not isinstance(expression, str) or not expression.strip():
            raise TypeError(f"Check() needs a SQL expression string, got {expression!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"Check() name must be a non-empty string, got {name!r}")
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "name", name)
