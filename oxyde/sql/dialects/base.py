"""What a dialect is: SQL syntax as data, plus the value adapters and converters.

A ``Dialect`` is plain data that the compiled SQL builder reads (quote character,
placeholder style, feature flags, and a ``Syntax`` record of SQL templates for the
constructs no flag describes: JSON access, regular expressions, casts, EXTRACT,
case-sensitive LIKE, row locks, inserts without columns), its DDL rules (``DdlStyle``),
and two tables of functions keyed by value kind (``oxyde.sql.ir.KINDS``): ``adapters``
turn a Python value into what the driver binds, ``converters`` turn what the driver
returns into the Python value a model field holds. A kind missing from a table needs no
conversion. Backends may derive a variant of their dialect with driver-specific adapters
(``dataclasses.replace``); no module outside ``oxyde/sql/dialects`` and
``oxyde/backends`` branches on a dialect's name, and the SQL builder knows none.

``quote_ident`` and ``driver_text`` are the one place identifiers are quoted and literal
``%`` escaped, for compiled statements and DDL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

Adapter = Callable[[Any], Any]

# -- SQL templates -------------------------------------------------------------------------
#
# A template is a tuple of pieces: a str is SQL text, an int one of the slots below, filled
# in by the SQL builder. ``oxyde/_speedups/sqlbuild.py`` keeps a copy of these numbers (it
# imports nothing from oxyde); tests/speedups checks both copies agree.

#: the construct's first operand: the JSON document, the LIKE/regex target, the cast value
ARG: Final = 0
#: its second operand: the pattern, the right-hand side of a JSON comparison
ARG2: Final = 1
#: the comparison operator of a JSON comparison
OP: Final = 2
#: the bound JSON key path, as a text array (``ARRAY['a', '0']``)
PATH_ARRAY: Final = 3
#: the bound JSON key path, as a path string (``$."a"[0]``)
PATH_TEXT: Final = 4

Template = tuple[str | int, ...]


def json_type_test(type_of: Template, names: tuple[str, ...]) -> Template:
    """``<type of the value at the path> = 'name'`` (or ``IN (...)``, several names)."""
    if len(names) == 1:
        return (*type_of, f" = '{names[0]}'")
    return (*type_of, " IN (" + ", ".join(f"'{n}'" for n in names) + ")")


def json_compare(
    type_of: Template, names: tuple[str, ...], value: Template, rhs: Template = (ARG2,)
) -> Template:
    """A comparison with the JSON value at a path that only matches values of one JSON
    type: ``(<type test> AND <value> <op> <rhs>)``."""
    return ("(", *json_type_test(type_of, names), " AND ", *value, " ", OP, " ", *rhs, ")")


@dataclass(frozen=True)
class Syntax:
    """The SQL of the constructs no flag describes, as templates (see ``ARG`` above).

    The SQL builder reads it once per dialect; a missing template (None, or a key
    missing from a mapping) makes the construct an error naming the dialect.
    """

    #: the placeholder's text; with ``numbered`` it is followed by the 1-based number
    marker: str
    numbered: bool
    #: CAST of ARG to text / to a double
    cast_text: Template
    cast_float: Template
    #: an integer field of a date/time ARG, per field name (year, month, day, hour)
    extract: Mapping[str, Template]
    #: ARG LIKE ARG2, case-sensitive / case-insensitive, with the escape clause
    like: Template
    ilike: Template
    #: ARG matches the regular expression ARG2, case-sensitive / case-insensitive
    regex: Template | None = None
    iregex: Template | None = None
    #: the JSON value at a key path of ARG as text
    json_text: Template | None = None
    #: the condition "the key path exists in ARG" (a JSON null counts as present)
    json_has: Template | None = None
    #: per JSON type ("str", "num", "bool", "null"): the value at the path of ARG
    #: compared (OP) with ARG2, matching only values of that JSON type ("null": is null)
    json_cmp: Mapping[str, Template] = field(default_factory=dict)
    #: row lock clauses; ``lock_of``: FOR ... OF <tables> is spelled
    lock_update: str = " FOR UPDATE"
    lock_share: str = " FOR SHARE"
    lock_of: bool = True
    #: INSERT without columns: the first row, and each further one ("" when an insert
    #: without columns takes one row only)
    insert_defaults: str = " DEFAULT VALUES"
    insert_defaults_more: str = ""


@dataclass(frozen=True)
class DdlStyle:
    """How one database spells the DDL that is not a type name (``oxyde/sql/ddl.py``)."""

    #: enums are ``CREATE TYPE ... AS ENUM`` types (PostgreSQL)
    enum_types: bool
    #: foreign keys are declared inside CREATE TABLE (SQLite cannot add them later)
    inline_foreign_keys: bool
    #: indexes are declared inside CREATE TABLE (MySQL: idempotent with the table, and
    #: MySQL has no CREATE INDEX IF NOT EXISTS)
    inline_indexes: bool
    #: "statement" (COMMENT ON), "inline" (COMMENT '...') or "none"
    comments: str
    #: text after the closing parenthesis of CREATE TABLE
    table_options: str
    #: ``USING <method>`` on indexes
    index_methods: bool
    #: ``CREATE INDEX ... WHERE``
    partial_indexes: bool
    #: the schema qualifies the index name, not the table (SQLite)
    index_schema_on_name: bool
    #: REFERENCES may name a schema (SQLite: same database only)
    schema_in_references: bool
    #: DROP TABLE ... CASCADE
    drop_cascade: bool
    #: backslash is an escape character inside string literals (MySQL)
    backslash_escapes: bool
    #: ``'\\x..'`` (PostgreSQL bytea) or ``X'..'``
    hex_bytes_prefix: bool
    #: kinds whose DEFAULT must be an expression in parentheses (MySQL JSON/BLOB/TEXT)
    expression_default_kinds: frozenset[str] = frozenset()
    #: how ALTER changes a column (``oxyde/migrations/alter.py``): "in_place" (ALTER
    #: COLUMN), "restate" (MODIFY / CHANGE) or "rebuild" (a new table, rows copied)
    alter: str = "in_place"


#: values a statement leaves free below ``Dialect.max_params``, for what it binds besides
#: the rows or keys it is batched by (a filter's values, an upsert's conditions)
PARAM_MARGIN: Final = 1_000


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
    #: "pipes" (``a || b``) or "concat" (``CONCAT(a, b)``)
    concat_style: str
    #: literal SQL for TRUE / FALSE conditions
    true_sql: str
    false_sql: str
    #: "on_conflict" or "on_duplicate_key"
    upsert_style: str
    #: the constructs no flag describes
    syntax: Syntax
    #: CREATE / ALTER rules
    ddl: DdlStyle
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
    #: the server product behind the dialect where it matters beyond a flag: "mariadb"
    #: for MariaDB behind the MySQL dialect (``ANALYZE <stmt>`` instead of ``EXPLAIN
    #: ANALYZE``), "" otherwise
    server: str = ""
    #: closing identifier quote where it differs from ``quote`` (``[name]``)
    quote_end: str = ""
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
    #: the most values one statement may bind: SQLite's SQLITE_LIMIT_VARIABLE_NUMBER
    #: (32,766 since 3.32), PostgreSQL's and MySQL's protocols count a statement's
    #: parameters in 16 bits (65,535). Batched writes and IN lists stay under it
    #: (``per_statement``)
    max_params: int = 32_766
    #: keys per statement of a batched IN-list lookup (``prefetch()``, ``in_bulk()``) where
    #: fewer than ``max_params`` are faster; None: as many as ``per_statement`` allows
    in_batch: int | None = None

    def per_statement(self, per_item: int = 1, bound: int = 0) -> int:
        """Items (rows of ``per_item`` values, or IN-list keys) one statement takes
        when it also binds ``bound`` values of its own, with ``PARAM_MARGIN`` left free
        for those a caller does not count; at least one."""
        room = self.max_params - PARAM_MARGIN - bound
        return max(1, room // max(1, per_item))

    def in_list_size(self, bound: int = 0) -> int:
        """Keys one IN-list lookup statement takes (one placeholder each) when it also
        binds ``bound`` values: ``per_statement``, capped at ``in_batch``."""
        size = self.per_statement(bound=bound)
        return size if self.in_batch is None else min(size, self.in_batch)

    def supports_returning(self, statement: str) -> bool:
        """Whether ``statement`` ("insert", "update" or "delete") can take RETURNING."""
        return self.returning or statement in self.returning_on

    def quote_ident(self, name: str) -> str:
        """The one place where identifiers are quoted, so none reaches the SQL unquoted.

        The result is SQL; ``driver_text`` makes it what the driver takes."""
        end = self.quote_end or self.quote
        return self.quote + name.replace(end, end + end) + end

    def markers(self, count: int) -> list[str]:
        """``count`` bind markers in the dialect's placeholder style (numbered from 1),
        for statements written by hand rather than compiled from IR."""
        marker = self.syntax.marker
        if self.syntax.numbered:
            return [f"{marker}{i}" for i in range(1, count + 1)]
        return [marker] * count

    def driver_text(self, sql: str) -> str:
        """SQL text (no placeholders in it) as the driver takes it: drivers with ``%s``
        placeholders format every statement, so a literal ``%`` is written ``%%``."""
        return sql.replace("%", "%%") if self.placeholder == "format" else sql
