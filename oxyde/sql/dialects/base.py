"""What a dialect is: SQL syntax as data, plus the value adapters and converters.

A ``Dialect`` is plain data that the compiled SQL builder reads (quote character,
placeholder style, feature flags) and two tables of functions keyed by value kind
(``oxyde.sql.ir.KINDS``): ``adapters`` turn a Python value into what the driver binds,
``converters`` turn what the driver returns into the Python value a model field holds.
A kind missing from a table needs no conversion. Backends may derive a variant of their
dialect with driver-specific adapters (``dataclasses.replace``); no module outside
``oxyde/sql/dialects`` and ``oxyde/backends`` branches on a dialect's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Adapter = Callable[[Any], Any]


@dataclass(frozen=True, eq=False)
class Dialect:
    #: "postgres", "sqlite" or "mysql"
    name: str
    #: identifier quote character
    quote: str
    #: "qmark" (``?``), "format" (``%s``) or "numeric" (``$1``)
    placeholder: str
    #: bind an IN list as one array parameter (``= ANY($1)``) instead of expanding it
    array_in: bool
    #: INSERT/UPDATE/DELETE ... RETURNING
    returning: bool
    #: FOR UPDATE / FOR SHARE are emitted (SQLite: no-ops)
    row_locks: bool
    #: expression of ``order_by("?")``
    random_sql: str
    #: LIMIT literal used when only an OFFSET is given, None if OFFSET alone is valid
    offset_only_limit: str | None
    #: clause appended to LIKE conditions
    like_escape: str
    #: "pipes" (``a || b``) or "concat" (``CONCAT(a, b)``)
    concat_style: str
    #: literal SQL for TRUE / FALSE conditions
    true_sql: str
    false_sql: str
    #: "on_conflict" or "on_duplicate_key"
    upsert_style: str
    #: Python value -> driver value, per kind
    adapters: Mapping[str, Adapter] = field(default_factory=dict)
    #: driver value -> Python value, per kind (used by row plans)
    converters: Mapping[str, Adapter] = field(default_factory=dict)
    #: DDL type names per kind; see ``oxyde/sql/ddl.py``
    type_names: Mapping[str, str] = field(default_factory=dict)
    #: statements taking RETURNING although ``returning`` is False, a subset of
    #: {"insert", "update", "delete"}: MariaDB 10.5+ has it on INSERT and DELETE only
    returning_on: frozenset[str] = frozenset()
    #: without RETURNING on INSERT, the keys one multi-row INSERT generates are the
    #: reported first key plus multiples of this (MySQL ``auto_increment_increment``)
    insert_id_step: int = 1
    #: the server family where it changes syntax a flag cannot describe: "mariadb" for
    #: MariaDB behind the MySQL dialect (``ANALYZE <stmt>`` instead of ``EXPLAIN ANALYZE``)
    flavor: str = ""
    #: user SQL for ``execute_raw`` -> what the driver takes, where they differ (MySQL
    #: takes the public Oxyde's ``?`` placeholders and a literal ``%`` there)
    raw_sql: Callable[[str], str] | None = None
    #: value kind -> SQL function ``f(value, precision, scale)`` that arithmetic stored
    #: into a column of that kind goes through (IR ``checked``): where the database's
    #: own arithmetic would change the value silently (SQLite: decimals as doubles, int
    #: overflow into a double), it computes exactly or raises ``DataError``
    store_checks: Mapping[str, str] = field(default_factory=dict)
    #: SQL function ``f(lhs, op, rhs)`` for the arithmetic under a ``decimal`` store
    #: check (``op`` a string literal); "" keeps the plain operators
    decimal_arith: str = ""
    #: kinds stored as text that other writers spell differently for one value (SQLite
    #: datetimes: with or without fraction digits or a UTC suffix); their comparisons
    #: with a bound value become text ranges, with a ``<kind>_next`` adapter giving the
    #: canonical text of the next representable value
    text_ranges: frozenset[str] = frozenset()

    def supports_returning(self, statement: str) -> bool:
        """Whether ``statement`` ("insert", "update" or "delete") can take RETURNING."""
        return self.returning or statement in self.returning_on

    def quote_ident(self, name: str) -> str:
        """The one place where identifiers are quoted, so none reaches the SQL unquoted."""
        q = self.quote
        return q + name.replace(q, q + q) + q
