"""Models: ``Model``, ``Field``, ``Index``, ``Check`` and the table registry."""

from oxyde.models.base import Model
from oxyde.models.field import Field, OxydeFieldInfo
from oxyde.models.indexes import Check, Index
from oxyde.models.registry import (
    clear_registry,
    iter_tables,
    register_table,
    registered_tables,
    unregister_table,
)

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
