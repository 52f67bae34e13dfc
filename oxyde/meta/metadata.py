"""Per-model metadata computed once at class creation: columns, keys, relations.

Everything the query layer, the SQL compiler, DDL and row loading need to know about a
table model lives here, as plain data, so that none of them inspects Pydantic field
info on the hot path. ``Model._db_meta`` holds one ``ModelMeta`` per table model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Lookup names allowed per value kind (``meta/types.py`` gives each column its list;
#: ``queries/resolve.py`` checks a lookup against it and builds its condition).
COMMON_LOOKUPS = ("exact", "in", "isnull", "ne")
ORDERED_LOOKUPS = ("gt", "gte", "lt", "lte", "range", "between")
STRING_LOOKUPS = (
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "regex",
    "iregex",
)
DATE_LOOKUPS = ("year", "month", "day")
DATETIME_LOOKUPS = ("year", "month", "day", "date", "hour")


@dataclass(eq=False)
class ForeignKey:
    """A forward foreign key declared as ``author: Author | None = Field(...)``."""

    #: the relation field, e.g. "author"; after a ``join`` it holds the related model
    name: str
    #: the synthetic scalar field, e.g. "author_id"
    field_name: str
    #: the database column of that field (``db_column`` or ``field_name``)
    column: str
    #: the related model class, resolved once every forward reference is known
    target: Any
    #: the field of the target the key points to (its primary key unless ``db_fk``)
    target_field: str
    on_delete: str = "RESTRICT"
    on_update: str = "CASCADE"
    nullable: bool = True


@dataclass(eq=False)
class ReverseRelation:
    """A virtual one-to-many (``db_reverse_fk``) or many-to-many (``db_m2m``) field."""

    name: str
    #: the model on the other side (a class, resolved lazily)
    target: Any
    #: reverse FK: the FK field name on ``target`` pointing back at us
    fk_name: str | None = None
    #: many-to-many: the through model and its two FK field names
    through: Any = None
    through_source: str | None = None
    through_target: str | None = None
    many_to_many: bool = False


@dataclass(eq=False)
class Column:
    """A stored column of a table model."""

    #: Python field name
    name: str
    #: database column name
    column: str
    #: value kind, one of ``oxyde.sql.ir.KINDS``
    kind: str
    #: the annotation with ``None`` stripped (``int`` for ``int | None``)
    python_type: Any
    nullable: bool = False
    primary_key: bool = False
    #: an integer primary key the database numbers
    auto_increment: bool = False
    unique: bool = False
    index: bool = False
    index_name: str | None = None
    index_method: str | None = None
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    #: verbatim DDL type
    db_type: str | None = None
    #: raw SQL DEFAULT
    db_default: str | None = None
    #: Python default rendered as a DDL literal where it is a plain constant
    default: Any = None
    has_default: bool = False
    comment: str | None = None
    #: set when this column is the scalar side of a forward FK
    fk: ForeignKey | None = None
    #: for ``kind == "enum"``: the Enum class; for ``kind == "array"``: the item kind
    enum_cls: Any = None
    item_kind: str | None = None
    item_type: Any = None
    #: a datetime column that holds instants (``AwareDatetime`` or ``db_type=TIMESTAMPTZ``):
    #: values read back aware, in UTC, on every backend
    timezone: bool = False
    #: lookups this column accepts, in a stable order for error messages
    lookups: tuple[str, ...] = ()


@dataclass(eq=False)
class ModelMeta:
    model: Any
    table_name: str
    schema: str | None = None
    comment: str | None = None
    #: stored columns by field name, in declaration order
    columns: dict[str, Column] = field(default_factory=dict)
    #: field name of the column with a given database name
    field_by_column: dict[str, str] = field(default_factory=dict)
    pk: Column | None = None
    #: forward FKs by relation name ("author")
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)
    #: virtual reverse-FK and M2M fields by name
    reverse: dict[str, ReverseRelation] = field(default_factory=dict)
    indexes: list[Any] = field(default_factory=list)
    constraints: list[Any] = field(default_factory=list)
    unique_together: list[tuple[str, ...]] = field(default_factory=list)
    #: default ORDER BY, Django style ("-created_at", "id")
    ordering: tuple[str, ...] = ()
    #: every model field that is not stored (relations, reverse, m2m, computed)
    virtual: frozenset[str] = frozenset()
    #: True when loading rows must go through Pydantic validation (custom
    #: validators, model_post_init...): see ``oxyde/queries/rowplan.py``
    needs_validation: bool = False
