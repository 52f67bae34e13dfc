"""The one switch between the compiled and the pure-Python ``oxyde._speedups`` modules.

``OXYDE_IMPL`` is read once, at import:

``auto`` (the default)
    the compiled modules, if *every* one of them imports and reports ``_is_compiled()``;
    otherwise the pure-Python sources for all of them. Never a mix: the two sides may
    define their own classes (a compiled ``RowPlan`` is not a pure one), so objects from
    one must never meet functions of the other. ``import_errors`` says why the compiled
    side was not taken.
``c``
    the compiled modules or an ``ImportError`` naming the module that failed and why.
``python``
    the ``.py`` sources, even when compiled extensions sit next to them. They are loaded
    under private names (``oxyde._speedups._py_<name>``) so that the compiled module keeps
    its own name and both can live in one process.

Everything else in oxyde uses ``oxyde._impl.sqlbuild`` and ``oxyde._impl.rowload``; tests
use ``load_pure`` and ``load_compiled`` to hold both implementations at once.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final, Literal

__all__ = [
    "IMPL_CHOICES",
    "SPEEDUP_MODULES",
    "impl",
    "import_errors",
    "load_compiled",
    "load_pure",
    "requested",
    "rowload",
    "sqlbuild",
]

#: The compiled modules; ``setup.py`` builds the same list (a test keeps the two equal).
SPEEDUP_MODULES: Final = ("sqlbuild", "rowload")

#: The values ``OXYDE_IMPL`` accepts.
IMPL_CHOICES: Final = ("auto", "c", "python")

_PACKAGE: Final = "oxyde._speedups"
_ENV_VAR: Final = "OXYDE_IMPL"

_log = logging.getLogger("oxyde")


def _check_name(name: str) -> None:
    if name not in SPEEDUP_MODULES:
        raise ValueError(
            f"{name!r} is not a speedup module; expected one of: {', '.join(SPEEDUP_MODULES)}"
        )


def _package_dirs() -> list[Path]:
    package = importlib.import_module(_PACKAGE)
    return [Path(entry) for entry in package.__path__]


def _pure_source(name: str) -> Path:
    for directory in _package_dirs():
        candidate = directory / f"{name}.py"
        if candidate.is_file():
            return candidate
    raise ImportError(f"no source file {name}.py in {_PACKAGE}", name=f"{_PACKAGE}.{name}")


def _is_extension(module: ModuleType) -> bool:
    origin = getattr(module.__spec__, "origin", None) or ""
    return origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def _check_fresh(name: str, extension: Path) -> None:
    """In a source checkout, refuse an extension built from an older version of its source.

    Without this, editing ``<name>.py`` and running the tests would silently exercise the
    previous compiled code. Installed packages are not checked: a wheel's files carry
    unpacking times, not build times.
    """
    if not (extension.parent.parent.parent / "setup.py").is_file():
        return
    built = extension.stat().st_mtime
    for source in (extension.with_name(f"{name}.py"), extension.with_name(f"{name}.pxd")):
        if source.is_file() and source.stat().st_mtime > built:
            raise ImportError(
                f"{_PACKAGE}.{name}: the compiled extension {extension.name} is older than "
                f"{source.name}; rebuild it (`make install` or `pip install -e .`) or set "
                "OXYDE_IMPL=python",
                name=f"{_PACKAGE}.{name}",
            )


def load_pure(name: str) -> ModuleType:
    """The pure-Python ``oxyde._speedups.<name>``, loaded from its ``.py`` file.

    It lives in ``sys.modules`` as ``oxyde._speedups._py_<name>``, whatever is loaded under
    the public name, so it is the same module object on every call.
    """
    _check_name(name)
    private_name = f"{_PACKAGE}._py_{name}"
    loaded = sys.modules.get(private_name)
    if loaded is not None:
        return loaded
    source = _pure_source(name)
    spec = importlib.util.spec_from_file_location(private_name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source} as {private_name}", name=private_name)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as the import system does: dataclasses, typing and pickle
    # look classes up through sys.modules[cls.__module__].
    sys.modules[private_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[private_name]
        raise
    return module


def load_compiled(name: str) -> ModuleType:
    """The compiled extension ``oxyde._speedups.<name>``; ``ImportError`` saying why if not.

    The pure source is never imported under the public name as a side effect: if no
    extension file is there, this fails before importing anything.
    """
    _check_name(name)
    full_name = f"{_PACKAGE}.{name}"
    module = sys.modules.get(full_name)
    if module is None:
        spec = importlib.util.find_spec(full_name)
        origin = spec.origin if spec is not None else None
        if origin is None or not origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            raise ImportError(
                f"{full_name} is not compiled: no extension module next to its source "
                f"(found {origin or 'nothing'}). Build it with `pip install -e .` (Cython and "
                "a C compiler needed) or set OXYDE_IMPL=python",
                name=full_name,
            )
        _check_fresh(name, Path(origin))
        try:
            module = importlib.import_module(full_name)
        except ImportError as exc:
            raise ImportError(
                f"{full_name}: the compiled extension {origin} failed to import: {exc}",
                name=full_name,
            ) from exc
    if not _is_extension(module):
        raise ImportError(
            f"{full_name} was already imported from its pure-Python source "
            f"({module.__file__}), not from a compiled extension",
            name=full_name,
        )
    if not module._is_compiled():
        raise ImportError(
            f"{full_name} ({module.__file__}) reports _is_compiled() == False: it was built "
            "without Cython's compiled mode",
            name=full_name,
        )
    return module


def _requested_impl() -> str:
    raw = os.environ.get(_ENV_VAR, "")
    value = raw.strip().lower() or "auto"
    if value not in IMPL_CHOICES:
        raise ValueError(f"{_ENV_VAR}={raw!r} is not valid; use one of: {', '.join(IMPL_CHOICES)}")
    return value


def _select(
    wanted: str,
) -> tuple[Literal["c", "python"], dict[str, ModuleType], dict[str, str]]:
    if wanted == "python":
        return "python", {name: load_pure(name) for name in SPEEDUP_MODULES}, {}
    compiled: dict[str, ModuleType] = {}
    errors: dict[str, str] = {}
    for name in SPEEDUP_MODULES:
        try:
            compiled[name] = load_compiled(name)
        except ImportError as exc:
            errors[name] = str(exc)
    if not errors:
        return "c", compiled, errors
    if wanted == "c":
        reasons = "; ".join(f"{_PACKAGE}.{name}: {why}" for name, why in errors.items())
        raise ImportError(f"{_ENV_VAR}=c but the compiled speedups are not usable: {reasons}")
    _log.debug("oxyde uses its pure-Python speedups: %s", errors)
    return "python", {name: load_pure(name) for name in SPEEDUP_MODULES}, errors


#: What ``OXYDE_IMPL`` asked for: ``"auto"``, ``"c"`` or ``"python"``.
requested: Final = _requested_impl()

impl: Literal["c", "python"]
#: Why each compiled module that failed was not used (empty when none failed or
#: ``OXYDE_IMPL=python`` skipped them).
import_errors: dict[str, str]
impl, _modules, import_errors = _select(requested)

if TYPE_CHECKING:
    # Type checkers see the sources; the compiled modules expose the same names (tested).
    from oxyde._speedups import rowload, sqlbuild
else:
    sqlbuild = _modules["sqlbuild"]
    rowload = _modules["rowload"]
