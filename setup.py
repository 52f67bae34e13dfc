"""Builds the Cython extensions of ``oxyde._speedups``; all other metadata is in pyproject.toml.

Each module in ``SPEEDUP_MODULES`` is a Cython pure-Python-mode source,
``oxyde/_speedups/<name>.py``, compiled into an extension of the same name that the import
system prefers over the ``.py`` next to it. Environment switches:

``OXYDE_NO_EXTENSIONS=1``
    build nothing: the install is pure Python.
``OXYDE_REQUIRE_EXTENSIONS=1``
    a module that fails to compile fails the install (CI and wheels). Without it a failed
    build only warns, and oxyde runs its pure-Python implementation.
``OXYDE_DEBUG_BUILD=1``
    ``-O0 -g`` with C asserts on, Cython's annotated HTML next to each source, and line
    tracing (so coverage and profilers see lines inside the compiled code).
``OXYDE_STRIP=1``
    link the extensions stripped (no symbol table, no debug sections): the published wheels.
    Ignored by debug builds.

Release builds use ``-O2`` and keep ``-g1`` (function names and line tables) so native
profilers such as ``py-spy record --native`` can name frames inside the extensions; a
stripped build is smaller but those frames lose their names (the wheels workflow also
builds unstripped wheels on request for that).
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: Keep in step with ``oxyde._impl.SPEEDUP_MODULES`` (tests/speedups checks both).
SPEEDUP_MODULES = ("sqlbuild", "rowload")


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


class _Settings:
    """The build switches, read from the environment once."""

    def __init__(self) -> None:
        self.skip = _flag("OXYDE_NO_EXTENSIONS")
        self.required = _flag("OXYDE_REQUIRE_EXTENSIONS")
        self.debug = _flag("OXYDE_DEBUG_BUILD")
        # -s is the GNU/LLVM linkers' spelling; other platforms keep their symbols.
        self.strip = _flag("OXYDE_STRIP") and not self.debug and sys.platform.startswith("linux")
        if self.skip and self.required:
            sys.exit("OXYDE_NO_EXTENSIONS=1 and OXYDE_REQUIRE_EXTENSIONS=1 contradict each other")


SETTINGS = _Settings()


def _extensions() -> list[Extension]:
    if SETTINGS.skip:
        return []
    if SETTINGS.debug:
        compile_args = ["-O0", "-g", "-UNDEBUG"]
        macros = [("CYTHON_TRACE_NOGIL", "1")]
    else:
        compile_args = ["-O2", "-g1"]
        macros = []
    link_args = ["-s"] if SETTINGS.strip else []
    return [
        Extension(
            f"oxyde._speedups.{name}",
            [f"oxyde/_speedups/{name}.py"],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            define_macros=macros,
            # optional=True turns a compiler failure into a warning; the .py stays in use.
            optional=not SETTINGS.required,
        )
        for name in SPEEDUP_MODULES
    ]


class BuildSpeedups(build_ext):
    """Runs Cython when the extensions are really built, not on every metadata query."""

    def run(self) -> None:
        if self.extensions:
            self._cythonize()
        super().run()

    def _cythonize(self) -> None:
        try:
            from Cython.Build import cythonize
        except ImportError:
            if SETTINGS.required:
                raise
            print("oxyde: Cython is missing; installing without extensions", file=sys.stderr)
            self.extensions = []
            return
        directives: dict[str, object] = {
            "language_level": 3,
            "binding": True,
            "embedsignature": True,
        }
        if SETTINGS.debug:
            directives["linetrace"] = True
        try:
            generated = cythonize(
                self.extensions,
                compiler_directives=directives,
                annotate=SETTINGS.debug,
                # C files generated for another OXYDE_DEBUG_BUILD setting look up to date by
                # their timestamps; regenerate rather than reuse them.
                force=True,
            )
        except Exception as exc:
            if SETTINGS.required:
                raise
            print(f"oxyde: Cython failed ({exc}); installing without extensions", file=sys.stderr)
            self.extensions = []
            return
        # cythonize returns copies; setuptools has already prepared the originals, so only
        # their sources (.py -> generated .c) are taken over.
        c_sources = {extension.name: extension.sources for extension in generated}
        for extension in self.extensions:
            extension.sources = c_sources[extension.name]


if __name__ == "__main__":
    setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildSpeedups})
