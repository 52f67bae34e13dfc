"""Models: ``Model``, ``Field``, ``Index``, ``Check`` and the table registry.

``Model`` (``base.py``) is the Pydantic class with its ``objects`` manager and instance
methods; ``Field``, ``Index``, ``Check`` and the registry functions are defined in
``oxyde.meta`` and exported here, where users import them.

Layer: the top of the core, above ``oxyde.queries``; it may import every layer below.
Nothing in the core imports it, only ``oxyde`` itself and the integrations.
"""

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
