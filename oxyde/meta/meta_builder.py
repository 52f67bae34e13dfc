"""``class Meta`` parsing, relation specs, and building a model's ``ModelMeta``.

A model class carries a ``ModelState`` (its parsed ``Meta`` and the relation fields found
in its annotations, inherited ones included). Once every relation target is known, the
registry calls ``build_model_meta`` to turn the state and the Pydantic fields into the
plain ``ModelMeta`` that queries, DDL and row loading read.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic._internal._model_construction import init_private_attributes
from pydantic.fields import FieldInfo
from pydantic.functional_validators import (
    AfterValidator,
    BeforeValidator,
    PlainValidator,
    WrapValidator,
)
from pydantic_core import PydanticUndefined

from oxyde.meta.field import (
    DbFieldOptions,
    check_db_options,
    db_options_of,
    merge_db_options,
)
from oxyde.meta.indexes import Check, Index
from oxyde.meta.metadata import Column, ForeignKey, ModelMeta, ReverseRelation
from oxyde.meta.types import TypeInfo, describe, lookups_for, split_optional

__all__ = [
    "META_KEYS",
    "ForwardSpec",
    "ModelState",
    "TableOptions",
    "VirtualSpec",
    "build_model_meta",
    "key_type_info",
    "needs_validation",
    "parse_meta",
    "primary_key_field",
]

META_KEYS = (
    "is_table",
    "table_name",
    "schema",
    "comment",
    "indexes",
    "constraints",
    "unique_together",
    "ordering",
)

_NO_OPTIONS = DbFieldOptions()
# db_type values under which an integer primary key is still numbered by the database.
_SERIAL_TYPES = frozenset({"SERIAL", "BIGSERIAL", "SMALLSERIAL"})
_DDL_DEFAULT_TYPES = (
    str,
    int,
    float,
    Decimal,
    uuid.UUID,
    dt.date,
    dt.time,
    dt.timedelta,
    bytes,
    enum.Enum,
)


@dataclass(frozen=True)
class TableOptions:
    """The options of a model's own ``class Meta``."""

    is_table: bool = False
    table_name: str = ""
    schema: str | None = None
    comment: str | None = None
    indexes: tuple[Index, ...] = ()
    constraints: tuple[Check, ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    ordering: tuple[str, ...] = ()


@dataclass
class ForwardSpec:
    """A forward FK field found in a class body: ``author: Author | None``."""

    name: str
    #: the scalar field holding the key ("author_id")
    field_name: str
    #: the target class, or its name until it is defined
    target: Any
    options: DbFieldOptions
    #: the relation annotation allows None
    nullable: bool
    #: the user declared the scalar field themselves (its type is theirs)
    declared: bool = False
    #: the scalar field has its final type (not the ``Any`` stand-in)
    typed: bool = False

    @property
    def resolved(self) -> bool:
        return not isinstance(self.target, str)


@dataclass
class VirtualSpec:
    """A reverse-FK (``db_reverse_fk``) or many-to-many (``db_m2m``) field."""

    name: str
    target: Any
    options: DbFieldOptions


@dataclass
class ModelState:
    """What the metaclass learnt about a class, kept on it as ``__oxyde_state__``."""

    options: TableOptions
    forward: dict[str, ForwardSpec] = field(default_factory=dict)
    virtual: dict[str, VirtualSpec] = field(default_factory=dict)
    #: the Pydantic schema must be rebuilt before the model is used (types were tightened)
    needs_rebuild: bool = False
    #: why the model is still pending, for ``assert_no_pending_models``
    waiting_for: list[str] = field(default_factory=list)

    def inherit(self) -> ModelState:
        """A copy for a subclass: specs are per class because resolution mutates them."""
        return ModelState(
            options=self.options,
            forward={k: replace(v) for k, v in self.forward.items()},
            virtual={k: replace(v) for k, v in self.virtual.items()},
        )


# -- class Meta --------------------------------------------------------------------------


def _meta_items(meta: type) -> dict[str, Any]:
    """Attributes of a Meta class and its bases (``class Meta(Base.Meta)``), own first."""
    items: dict[str, Any] = {}
    for klass in meta.__mro__:
        if klass is object:
            continue
        for key, value in vars(klass).items():
            if not key.startswith("__") and key not in items:
                items[key] = value
    return items


def _names_tuple(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of field names, got {value!r}") from None
    for item in names:
        if not isinstance(item, str) or not item:
            raise TypeError(f"{what} must hold field names, got {item!r}")
    return names


def parse_meta(meta: Any, model_name: str) -> TableOptions:
    """Read a model's ``class Meta`` (None when it has none)."""
    if meta is None:
        return TableOptions(table_name=model_name.lower())
    if not isinstance(meta, type):
        raise TypeError(f"{model_name}.Meta must be a class, got {meta!r}")
    items = _meta_items(meta)
    unknown = sorted(set(items) - set(META_KEYS))
    if unknown:
        raise TypeError(
            f"{model_name}.Meta has unknown option(s) {', '.join(map(repr, unknown))}; "
            f"valid ones: {', '.join(META_KEYS)}"
        )
    where = f"{model_name}.Meta"
    is_table = items.get("is_table", False)
    if not isinstance(is_table, bool):
        raise TypeError(f"{where}.is_table must be True or False, got {is_table!r}")
    table_name = items.get("table_name") or model_name.lower()
    if not isinstance(table_name, str):
        raise TypeError(f"{where}.table_name must be a string, got {table_name!r}")
    schema = items.get("schema")
    if schema is not None and (not isinstance(schema, str) or not schema):
        raise TypeError(f"{where}.schema must be a non-empty string, got {schema!r}")
    comment = items.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise TypeError(f"{where}.comment must be a string, got {comment!r}")
    indexes = tuple(items.get("indexes") or ())
    for index in indexes:
        if not isinstance(index, Index):
            raise TypeError(f"{where}.indexes must hold Index(...) objects, got {index!r}")
    constraints = tuple(items.get("constraints") or ())
    for check in constraints:
        if not isinstance(check, Check):
            raise TypeError(f"{where}.constraints must hold Check(...) objects, got {check!r}")
    raw_unique = items.get("unique_together") or ()
    if isinstance(raw_unique, str):
        raise TypeError(f"{where}.unique_together must be a sequence of field-name tuples")
    groups = list(raw_unique)
    if groups and all(isinstance(g, str) for g in groups):
        # Django also accepts one flat tuple for a single constraint.
        groups = [tuple(groups)]
    unique_together = tuple(_names_tuple(g, f"{where}.unique_together") for g in groups)
    ordering = _names_tuple(items.get("ordering") or (), f"{where}.ordering")
    return TableOptions(
        is_table=is_table,
        table_name=table_name,
        schema=schema,
        comment=comment,
        indexes=indexes,
        constraints=constraints,
        unique_together=unique_together,
        ordering=ordering,
    )


# -- keys of other models ----------------------------------------------------------------


def _state_of(model: type) -> ModelState | None:
    state = model.__dict__.get("__oxyde_state__")
    return state if isinstance(state, ModelState) else None


def primary_key_field(model: type[BaseModel]) -> str | None:
    """The name of the field marked ``db_pk=True`` (directly or on a relation)."""
    state = _state_of(model)
    if state is not None:
        for spec in state.forward.values():
            if spec.options.pk:
                return spec.field_name
    for name, info in model.model_fields.items():
        if state is not None and (name in state.forward or name in state.virtual):
            continue
        options = db_options_of(info.metadata)
        if options is not None and options.pk:
            return name
    return None


def key_type_info(model: type[BaseModel], field_name: str, where: str) -> TypeInfo | None:
    """The type of ``model.field_name`` as the target of a foreign key.

    None while that field is itself a foreign key whose target is not known yet.
    """
    state = _state_of(model)
    info = model.model_fields.get(field_name)
    if state is not None:
        if field_name in state.forward or field_name in state.virtual:
            raise TypeError(
                f"{where}: {model.__name__}.{field_name} is a relation; point db_fk at a "
                "stored field"
            )
        for spec in state.forward.values():
            if spec.field_name == field_name and not spec.declared:
                if not spec.typed or not spec.resolved:
                    return None
                return key_type_info(spec.target, _target_field(spec), where)
    if info is None:
        raise TypeError(f"{where}: {model.__name__} has no field {field_name!r} to refer to")
    options = db_options_of(info.metadata) or _NO_OPTIONS
    return describe(
        info.annotation, info.metadata, where=f"{model.__name__}.{field_name}", db_type=options.type
    )


def _target_field(spec: ForwardSpec) -> str:
    if spec.options.fk is not None:
        return spec.options.fk
    pk = primary_key_field(spec.target)
    if pk is None:
        raise TypeError(
            f"{spec.target.__name__} has no primary key, so a foreign key to it needs "
            f"db_fk='<unique field>'"
        )
    return pk


def target_field_of(spec: ForwardSpec, where: str) -> str:
    """The target field of a resolved FK, checked to be the PK or a unique field."""
    target = spec.target
    name = _target_field(spec)
    if name not in target.model_fields:
        raise TypeError(f"{where}: db_fk={name!r} is not a field of {target.__name__}")
    if name != primary_key_field(target):
        options = db_options_of(target.model_fields[name].metadata) or _NO_OPTIONS
        state = _state_of(target)
        single_unique = state is not None and (
            (name,) in state.options.unique_together
            or any(ix.unique and ix.fields == (name,) for ix in state.options.indexes)
        )
        if not (options.unique or single_unique):
            raise TypeError(
                f"{where}: db_fk={name!r} must name the primary key or a unique field of "
                f"{target.__name__}"
            )
    return name


# -- validation need ---------------------------------------------------------------------

_VALUE_VALIDATORS = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)
_TRANSFORMING_CONFIG = ("str_strip_whitespace", "str_to_lower", "str_to_upper", "use_enum_values")


def _transforms(metadata: Iterable[Any]) -> bool:
    """Metadata that changes a valid value while validating it."""
    for item in metadata:
        if isinstance(item, _VALUE_VALIDATORS):
            return True
        if isinstance(item, FieldInfo) and _transforms(item.metadata):
            return True
        for attr in ("strip_whitespace", "to_lower", "to_upper"):
            if getattr(item, attr, None):
                return True
    return False


def _user_post_init(model: type[BaseModel]) -> bool:
    """A ``model_post_init`` written by the user (not Pydantic's private-attribute setup)."""
    for klass in model.__mro__:
        if klass is BaseModel:
            return False
        if klass.__dict__.get("__oxyde_user_post_init__") is not None:
            return True
        method = klass.__dict__.get("model_post_init")
        if method is None:
            continue
        func = getattr(method, "__func__", method)
        func = getattr(func, "__wrapped__", func)
        # relation/key agreement (oxyde/models/relstate.py) changes nothing a row holds
        if func is not init_private_attributes and not getattr(func, "__oxyde_relations__", False):
            return True
    return False


def needs_validation(model: type[BaseModel]) -> bool:
    """Whether building instances from trusted rows must go through ``model_validate``.

    True when Pydantic validation would give a different object than assigning the
    converted column values: validators (field, model, or ``Annotated`` ones),
    ``model_post_init``, value-transforming config, or ``extra`` other than "ignore".
    """
    decorators = model.__pydantic_decorators__
    if (
        decorators.field_validators
        or decorators.model_validators
        or decorators.validators
        or decorators.root_validators
    ):
        return True
    if _user_post_init(model):
        return True
    config = model.model_config
    if config.get("extra", "ignore") != "ignore":
        return True
    if any(config.get(key) for key in _TRANSFORMING_CONFIG):
        return True
    for info in model.model_fields.values():
        if _transforms(info.metadata) or _transforms(split_optional(info.annotation)[2]):
            return True
    return False


# -- building ModelMeta ------------------------------------------------------------------


def _ddl_default(info: FieldInfo) -> tuple[Any, bool]:
    """The Python default when it is a constant the DDL can write as a literal."""
    default = info.default
    if default is PydanticUndefined or default is None or info.default_factory is not None:
        return None, False
    if isinstance(default, _DDL_DEFAULT_TYPES):
        return default, True
    return None, False


def _column(
    name: str,
    column: str,
    info: TypeInfo,
    options: DbFieldOptions,
    nullable: bool,
    where: str,
    *,
    fk: ForeignKey | None = None,
    default: tuple[Any, bool] = (None, False),
) -> Column:
    if options.pk and options.nullable:
        raise ValueError(f"{where}: a primary key cannot be db_nullable=True")
    if options.pk:
        nullable = False
    auto_increment = (
        options.pk
        and fk is None
        and info.kind == "int"
        and options.default is None
        and (options.type is None or options.type.strip().upper() in _SERIAL_TYPES)
    )
    return Column(
        name=name,
        column=column,
        kind=info.kind,
        python_type=info.python_type,
        nullable=nullable,
        primary_key=options.pk,
        auto_increment=auto_increment,
        unique=options.unique,
        index=(options.index or options.index_name is not None or options.index_method is not None)
        and not options.pk,
        index_name=options.index_name,
        index_method=options.index_method,
        max_length=info.max_length,
        max_digits=info.max_digits,
        decimal_places=info.decimal_places,
        db_type=options.type,
        db_default=options.default,
        default=default[0],
        has_default=default[1],
        comment=options.comment,
        fk=fk,
        enum_cls=info.enum_cls,
        item_kind=info.item_kind,
        item_type=info.item_type,
        timezone=info.timezone
        or (options.type or "").strip().upper() in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"),
        lookups=lookups_for(info.kind, foreign_key=fk is not None),
    )


def _resolve_names(
    names: Iterable[str],
    columns: Mapping[str, Column],
    relations: Mapping[str, ForwardSpec],
    where: str,
    *,
    allow_desc: bool = False,
) -> tuple[str, ...]:
    """Field names of a Meta option, relation names replaced by their key field."""
    out: list[str] = []
    for raw in names:
        prefix = ""
        name = raw
        if allow_desc and name.startswith("-"):
            prefix, name = "-", name[1:]
        if allow_desc and name == "pk":
            # Django's alias for the primary key, as in order_by("-pk").
            name = next((c.name for c in columns.values() if c.primary_key), name)
        if name in relations:
            name = relations[name].field_name
        if name not in columns:
            raise TypeError(
                f"{where} refers to unknown field {raw!r}; stored fields: {', '.join(columns)}"
            )
        out.append(prefix + name)
    return tuple(out)


def build_model_meta(
    model: type[BaseModel], state: ModelState, reverse: Mapping[str, ReverseRelation]
) -> ModelMeta:
    """The ``ModelMeta`` of a table model whose relations are all resolved."""
    model_name = model.__name__
    options = state.options
    by_field = {spec.field_name: spec for spec in state.forward.values()}
    columns: dict[str, Column] = {}
    foreign_keys: dict[str, ForeignKey] = {}
    for name, info in model.model_fields.items():
        if name in state.forward or name in state.virtual:
            continue
        where = f"{model_name}.{name}"
        own = db_options_of(info.metadata)
        spec = by_field.get(name)
        if spec is None:
            opts = check_db_options(own or _NO_OPTIONS, where)
            type_info = describe(info.annotation, info.metadata, where=where, db_type=opts.type)
            nullable = (
                opts.nullable
                if opts.nullable is not None
                else (type_info.nullable or info.default is None)
            )
            columns[name] = _column(
                name,
                opts.column or name,
                type_info,
                opts,
                nullable,
                where,
                default=_ddl_default(info),
            )
            continue
        # The scalar side of a forward FK: typed like the target's key.
        rel_where = f"{model_name}.{spec.name}"
        opts = spec.options
        if own is not None:
            # A declared key field may carry column options; the relation's win.
            opts = check_db_options(merge_db_options(own, spec.options), where)
        target_field = target_field_of(spec, rel_where)
        key_info = key_type_info(spec.target, target_field, rel_where)
        if key_info is None:  # pragma: no cover - the registry only builds resolved models
            raise TypeError(f"{rel_where}: the key type of {spec.target.__name__} is unknown")
        nullable = opts.nullable if opts.nullable is not None else spec.nullable
        if opts.on_delete == "SET NULL" and not nullable:
            raise ValueError(
                f"{rel_where}: db_on_delete='SET NULL' needs a nullable column; annotate it "
                f"`{spec.name}: {spec.target.__name__} | None` or set db_nullable=True"
            )
        column_name = opts.column or name
        fk = ForeignKey(
            name=spec.name,
            field_name=name,
            column=column_name,
            target=spec.target,
            target_field=target_field,
            on_delete=opts.on_delete,
            on_update=opts.on_update,
            nullable=nullable,
        )
        foreign_keys[spec.name] = fk
        # A key column takes the target's kind and sizes, never its identity or
        # uniqueness: those come from the relation field's own options.
        columns[name] = _column(name, column_name, key_info, opts, nullable, where, fk=fk)

    field_by_column: dict[str, str] = {}
    for name, col in columns.items():
        if col.column in field_by_column:
            raise TypeError(
                f"{model_name}: fields {field_by_column[col.column]!r} and {name!r} both use "
                f"column {col.column!r}"
            )
        field_by_column[col.column] = name

    pks = [col for col in columns.values() if col.primary_key]
    if len(pks) > 1:
        raise TypeError(
            f"{model_name}: only one field can be db_pk=True, got {', '.join(c.name for c in pks)}"
        )

    where = f"{model_name}.Meta"
    indexes = [
        replace(ix, fields=_resolve_names(ix.fields, columns, state.forward, f"{where}.indexes"))
        for ix in options.indexes
    ]
    unique_together = [
        _resolve_names(group, columns, state.forward, f"{where}.unique_together")
        for group in options.unique_together
    ]
    ordering = _resolve_names(
        options.ordering, columns, state.forward, f"{where}.ordering", allow_desc=True
    )
    virtual = frozenset(state.forward) | frozenset(state.virtual)
    virtual |= frozenset(model.__pydantic_computed_fields__)
    return ModelMeta(
        model=model,
        table_name=options.table_name,
        schema=options.schema,
        comment=options.comment,
        columns=columns,
        field_by_column=field_by_column,
        pk=pks[0] if pks else None,
        foreign_keys=foreign_keys,
        reverse=dict(reverse),
        indexes=indexes,
        constraints=list(options.constraints),
        unique_together=unique_together,
        ordering=ordering,
        virtual=virtual,
        needs_validation=needs_validation(model),
    )
