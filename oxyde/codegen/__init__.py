"""Code generation: type stubs that give queries typed keyword arguments per field.

Layer: above ``oxyde.models`` and ``oxyde.queries`` (it reads the registered models and
the ``Query`` signatures); beside ``migrations`` and the integrations.
"""

from oxyde.codegen.stubs import render_module_stub, write_stubs

__all__ = ["render_module_stub", "write_stubs"]
