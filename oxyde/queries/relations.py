"""How an unloaded relation is represented on an instance read from the database.

A relation field (forward FK, reverse FK, many-to-many) is *absent* from the instance's
``__dict__`` until ``join()`` or ``prefetch()`` puts a value there. Reading an absent
one raises ``RelationNotLoadedError`` (``Model.__getattr__``), serialisation leaves it
out (Pydantic serialises what ``__dict__`` holds), and a loaded ``None`` or ``[]``
reads as itself. Instances built by hand keep Pydantic's defaults, so they read as
usual.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from oxyde import _impl
from oxyde.meta.metadata import ModelMeta

_names: dict[ModelMeta, frozenset[str]] = {}


def relation_names(meta: ModelMeta) -> frozenset[str]:
    """Every relation field of the model: forward FKs, reverse FKs and many-to-many."""
    names = _names.get(meta)
    if names is None:
        names = frozenset(meta.foreign_keys) | frozenset(meta.reverse)
        _names[meta] = names
    return names


def is_loaded(instance: Any, name: str) -> bool:
    """Whether the relation ``name`` holds a value (possibly ``None`` or ``[]``)."""
    return name in instance.__dict__


def forget_relations(meta: ModelMeta, instances: Iterable[Any]) -> None:
    """Mark the relations of freshly loaded instances as not loaded.

    For instances that went through Pydantic (validation or ``model_construct``),
    which fills every field with its default.
    """
    names = relation_names(meta)
    if not names:
        return
    for instance in instances:
        data = instance.__dict__
        fields_set = instance.__pydantic_fields_set__
        for name in names:
            data.pop(name, None)
            fields_set.discard(name)


def set_relations(instances: list[Any], name: str, values: list[Any]) -> None:
    """Fill the relation ``name`` of loaded instances (``prefetch``): ``values[i]`` goes
    into ``instances[i].__dict__`` and ``name`` into its fields set."""
    rowload = _impl.rowload
    rowload.attach(instances, name, values)
    rowload.mark_set(instances, name)


__all__ = ["forget_relations", "is_loaded", "relation_names", "set_relations"]
