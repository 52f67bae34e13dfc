"""Models: ``Model``, ``Field``, ``Index``, ``Check`` and the table registry."""

from oxyde.meta.field import Field, OxydeFieldInfo
from oxyde.meta.indexes import Check, Index
from oxyde.meta.registry import (
    clear_registry,
    iter_tables,
    register_table,
    registered_tables,
    unregister_table,
)
from oxyde.models.base import Model

__all__ = [
    "Check",
    "Field",
    "Index",
    "Model",
    "OxydeFieldInfo",
    "clear_registry",
    "iter_tables",
    "register_table",
    "registered_tables",
    "unregister_table",
]
