"""``Field()``: a Pydantic field plus the database options of one model field.

The database options travel inside the Pydantic ``FieldInfo`` as one ``DbFieldOptions``
object in its ``metadata`` list. Pydantic copies and merges metadata faithfully (through
``Annotated[...]``, inheritance and rebuilds) while it may rebuild the ``FieldInfo``
itself as a plain ``FieldInfo``, so the metadata entry is the one place that survives.
Pydantic ignores metadata objects it does not know.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from oxyde.meta.indexes import INDEX_METHODS

__all__ = [
    "FK_ACTIONS",
    "INDEX_METHODS",
    "DbFieldOptions",
    "Field",
    "OxydeFieldInfo",
    "check_db_options",
    "db_options_of",
    "merge_db_options",
]

FK_ACTIONS = ("CASCADE", "SET NULL", "RESTRICT", "NO ACTION")


@dataclass(frozen=True)
class DbFieldOptions:
    """The ``db_*`` arguments of one ``Field()`` call, as given."""

    pk: bool = False
    index: bool = False
    index_name: str | None = None
    index_method: str | None = None
    unique: bool = False
    nullable: bool | None = None
    column: str | None = None
    type: str | None = None
    default: str | None = None
    comment: str | None = None
    fk: str | None = None
    on_delete: str = "RESTRICT"
    on_update: str = "CASCADE"
    reverse_fk: str | None = None
    m2m: bool = False
    through: Any = None

    @property
    def is_virtual(self) -> bool:
        """A reverse-FK or many-to-many field: it has no column."""
        return self.reverse_fk is not None or self.m2m


_DEFAULT_OPTIONS = DbFieldOptions()
_OPTION_NAMES = frozenset("db_" + f.name for f in fields(DbFieldOptions))


# FieldInfo is marked final for type checkers only; Pydantic keeps subclass instances
# assigned as field defaults (FastAPI relies on that too).
class OxydeFieldInfo(FieldInfo):  # type: ignore[misc]
    """The ``FieldInfo`` that ``Field()`` returns; ``db`` holds its database options."""

    __slots__ = ("db",)

    db: DbFieldOptions

    @property
    def is_virtual(self) -> bool:
        return self.db.is_virtual


def Field(
    default: Any = PydanticUndefined,
    *,
    db_pk: bool = False,
    db_index: bool = False,
    db_index_name: str | None = None,
    db_index_method: str | None = None,
    db_unique: bool = False,
    db_nullable: bool | None = None,
    db_column: str | None = None,
    db_type: str | None = None,
    db_default: str | None = None,
    db_comment: str | None = None,
    db_fk: str | None = None,
    db_on_delete: str = "RESTRICT",
    db_on_update: str = "CASCADE",
    db_reverse_fk: str | None = None,
    db_m2m: bool = False,
    db_through: Any = None,
    **pydantic_kwargs: Any,
) -> Any:
    """A Pydantic ``Field`` with database options.

    Every keyword that ``pydantic.Field`` accepts passes through unchanged. The database
    options are checked when the model class is created, where the error can name the
    model and the field. It is typed ``Any`` like ``pydantic.Field`` so that
    ``x: int = Field(...)`` type-checks.
    """
    unknown = sorted(k for k in pydantic_kwargs if k.startswith("db_"))
    if unknown:
        # A misspelt database option must not end up as silent JSON-schema noise.
        raise TypeError(
            f"Field() got unknown database option(s) {', '.join(map(repr, unknown))}; "
            f"valid ones: {', '.join(sorted(_OPTION_NAMES))}"
        )
    options = DbFieldOptions(
        pk=db_pk,
        index=db_index,
        index_name=db_index_name,
        index_method=db_index_method,
        unique=db_unique,
        nullable=db_nullable,
        column=db_column,
        type=db_type,
        default=db_default,
        comment=db_comment,
        fk=db_fk,
        on_delete=db_on_delete,
        on_update=db_on_update,
        reverse_fk=db_reverse_fk,
        m2m=db_m2m,
        through=db_through,
    )
    if (
        options.is_virtual
        and default is PydanticUndefined
        and "default_factory" not in pydantic_kwargs
    ):
        # Virtual relations are filled by prefetch(); until then they are empty.
        pydantic_kwargs["default_factory"] = list
    base = pydantic.Field(default, **pydantic_kwargs)
    info = OxydeFieldInfo.__new__(OxydeFieldInfo)
    for cls in type(base).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot != "__weakref__" and hasattr(base, slot):
                setattr(info, slot, getattr(base, slot))
    info.db = options
    info.metadata = [*base.metadata, options]
    return info


def db_options_of(metadata: Iterable[Any]) -> DbFieldOptions | None:
    """The database options found in a field's metadata (the last one wins)."""
    found: DbFieldOptions | None = None
    for item in metadata:
        if isinstance(item, FieldInfo):
            # Field() inside Annotated[...], before Pydantic has merged it.
            inner = db_options_of(item.metadata)
            if inner is None:
                continue
            item = inner
        if isinstance(item, DbFieldOptions):
            found = item if found is None else merge_db_options(found, item)
    return found


def merge_db_options(first: DbFieldOptions, second: DbFieldOptions) -> DbFieldOptions:
    """Options of ``Annotated[T, Field(a)] = Field(b)``: b's explicit values win."""
    changes = {
        f.name: getattr(second, f.name)
        for f in fields(DbFieldOptions)
        if getattr(second, f.name) != getattr(_DEFAULT_OPTIONS, f.name)
    }
    return replace(first, **changes)


def _norm_action(value: Any, option: str, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where}: {option} must be a string, got {value!r}")
    action = " ".join(value.replace("_", " ").upper().split())
    if action not in FK_ACTIONS:
        raise ValueError(
            f"{where}: {option}={value!r} is not valid; choose one of "
            f"{', '.join(map(repr, FK_ACTIONS))}"
        )
    return action


def _check_str(value: Any, option: str, where: str) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise TypeError(f"{where}: {option} must be a non-empty string, got {value!r}")


def _check_bool(value: Any, option: str, where: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {option} must be True or False, got {value!r}")


def check_db_options(options: DbFieldOptions, where: str) -> DbFieldOptions:
    """Validate and normalise ``options``; ``where`` names the field ("Post.author").

    Returns the options with FK actions upper-cased and the index method lower-cased.
    """
    for name in ("pk", "index", "unique", "m2m"):
        _check_bool(getattr(options, name), f"db_{name}", where)
    _check_bool(options.nullable, "db_nullable", where, optional=True)
    for name in ("index_name", "column", "type", "default", "comment", "fk", "reverse_fk"):
        _check_str(getattr(options, name), f"db_{name}", where)
    on_delete = _norm_action(options.on_delete, "db_on_delete", where)
    on_update = _norm_action(options.on_update, "db_on_update", where)
    method = options.index_method
    if method is not None:
        if not isinstance(method, str) or method.lower() not in INDEX_METHODS:
            raise ValueError(
                f"{where}: db_index_method={method!r} is not valid; choose one of "
                f"{', '.join(map(repr, INDEX_METHODS))}"
            )
        method = method.lower()
    through = options.through
    if through is not None and not isinstance(through, (str, type)):
        raise TypeError(f"{where}: db_through must be a model class or its name, got {through!r}")
    if isinstance(through, str) and not through.strip():
        raise TypeError(f"{where}: db_through must not be empty")
    if options.m2m and through is None:
        raise ValueError(f"{where}: db_m2m=True needs db_through='ThroughModel'")
    if through is not None and not options.m2m:
        raise ValueError(f"{where}: db_through is only valid with db_m2m=True")
    if options.m2m and options.reverse_fk is not None:
        raise ValueError(f"{where}: db_m2m and db_reverse_fk cannot be combined")
    if options.is_virtual:
        stored = [
            f"db_{name}"
            for name in ("pk", "index", "unique", "column", "type", "default", "fk")
            if getattr(options, name) not in (None, False)
        ]
        if options.index_name is not None or options.index_method is not None:
            stored.append("db_index_name/db_index_method")
        if stored:
            kind = "db_m2m" if options.m2m else "db_reverse_fk"
            raise ValueError(
                f"{where}: {kind} fields have no column, so {', '.join(stored)} cannot apply"
            )
    return replace(options, on_delete=on_delete, on_update=on_update, index_method=method)
