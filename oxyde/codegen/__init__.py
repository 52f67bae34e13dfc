"""Code generation: type stubs that give queries typed keyword arguments per field."""

from oxyde.codegen.stubs import render_module_stub, write_stubs

__all__ = ["render_module_stub", "write_stubs"]
