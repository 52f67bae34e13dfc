"""OXYDE_IMPL picks compiled or pure speedups, all or nothing; every source is built."""

from __future__ import annotations
import __future__ as future_features

import ast
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from oxyde import _impl
from oxyde._speedups import _cython_shim

pytestmark = pytest.mark.speedups

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The oxyde package these tests run against (the source tree or an installed wheel).
PACKAGE_DIR = Path(_impl.__file__).resolve().parent
EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)

# Run in a fresh interpreter: the switch is read once, at import.
PROBE = """
import json, sys
from oxyde import _impl
modules = {}
for name in _impl.SPEEDUP_MODULES:
    module = getattr(_impl, name)
    cython_module = getattr(module, "cython", None)
    modules[name] = {
        "name": module.__name__,
        "file": module.__file__,
        "compiled": module._is_compiled(),
        "cython": getattr(cython_module, "__name__", None),
    }
public = ["oxyde._speedups." + name for name in _impl.SPEEDUP_MODULES]
print(json.dumps({
    "impl": _impl.impl,
    "requested": _impl.requested,
    "errors": _impl.import_errors,
    "modules": modules,
    "impl_file": _impl.__file__,
    "public_loaded": [name for name in public if name in sys.modules],
}))
"""

HIDE_CYTHON = "import sys; sys.modules['cython'] = None; sys.modules['Cython'] = None\n"


def run_probe(
    impl: str | None, root: Path, *, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("OXYDE_IMPL", None)
    if impl is not None:
        env["OXYDE_IMPL"] = impl
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", prelude + PROBE],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def probe(impl: str | None, root: Path = PACKAGE_DIR.parent, **kwargs: str) -> dict[str, Any]:
    result = run_probe(impl, root, **kwargs)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    # The probe must have used the tree we meant, not another copy on sys.path.
    assert Path(report["impl_file"]).resolve().parent == (root / "oxyde").resolve()
    return report


def all_compiled() -> bool:
    try:
        for name in _impl.SPEEDUP_MODULES:
            _impl.load_compiled(name)
    except ImportError:
        return False
    return True


def copy_package(destination: Path, keep_extensions: tuple[str, ...] = ()) -> Path:
    """A copy of the oxyde package without compiled files, except those of keep_extensions."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {"__pycache__"}
        skipped.update(n for n in names if n.endswith((*EXTENSION_SUFFIXES, ".c", ".html")))
        return skipped

    shutil.copytree(PACKAGE_DIR, destination / "oxyde", ignore=ignore)
    for name in keep_extensions:
        extension = Path(_impl.load_compiled(name).__file__ or "")
        shutil.copy2(extension, destination / "oxyde" / "_speedups" / extension.name)
    return destination


@pytest.fixture(scope="module")
def pure_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_package(tmp_path_factory.mktemp("pure"))


# -- the three modes on the tree under test ------------------------------------------------


def test_python_mode_loads_the_py_sources_under_private_names() -> None:
    report = probe("python")
    assert report["impl"] == "python"
    assert report["errors"] == {}
    for name, module in report["modules"].items():
        assert module["file"].endswith(f"{name}.py")
        assert module["compiled"] is False
        assert module["name"] == f"oxyde._speedups._py_{name}"
    # The compiled modules are not even imported, so no compiled object can leak in.
    assert report["public_loaded"] == []


def test_c_mode_loads_the_extensions(compiled: Callable[[str], ModuleType]) -> None:
    for name in _impl.SPEEDUP_MODULES:
        compiled(name)
    report = probe("c")
    assert report["impl"] == "c"
    for name, module in report["modules"].items():
        assert module["file"].endswith(EXTENSION_SUFFIXES)
        assert module["compiled"] is True
        assert module["name"] == f"oxyde._speedups.{name}"


@pytest.mark.parametrize("value", [None, "", " Auto "])
def test_auto_mode_takes_compiled_exactly_when_all_are_there(value: str | None) -> None:
    report = probe(value)
    assert report["requested"] == "auto"
    expected = "c" if all_compiled() else "python"
    assert report["impl"] == expected
    assert {m["compiled"] for m in report["modules"].values()} == {expected == "c"}
    assert (report["errors"] == {}) == (expected == "c")


def test_an_unknown_value_names_the_valid_ones() -> None:
    result = run_probe("bogus", PACKAGE_DIR.parent)
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert "OXYDE_IMPL='bogus'" in result.stderr
    assert "use one of: auto, c, python" in result.stderr


# -- trees with missing extensions -----------------------------------------------------------


def test_without_extensions_auto_falls_back_and_says_why(pure_tree: Path) -> None:
    report = probe("auto", pure_tree)
    assert report["impl"] == "python"
    assert set(report["errors"]) == set(_impl.SPEEDUP_MODULES)
    assert all("not compiled" in why for why in report["errors"].values())
    assert report["public_loaded"] == []


def test_without_extensions_c_mode_fails_naming_the_module(pure_tree: Path) -> None:
    result = run_probe("c", pure_tree)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    for name in _impl.SPEEDUP_MODULES:
        assert f"oxyde._speedups.{name}" in result.stderr
    assert "not compiled" in result.stderr


def test_one_missing_extension_means_no_compiled_module_at_all(
    tmp_path: Path, compiled: Callable[[str], ModuleType]
) -> None:
    first, *rest = _impl.SPEEDUP_MODULES
    compiled(first)
    root = copy_package(tmp_path, keep_extensions=(first,))

    report = probe("auto", root)
    assert report["impl"] == "python"
    assert set(report["errors"]) == set(rest)
    for module in report["modules"].values():
        assert module["compiled"] is False
        assert module["file"].endswith(".py")

    result = run_probe("c", root)
    assert result.returncode != 0
    assert all(f"oxyde._speedups.{name}" in result.stderr for name in rest)
    assert f"oxyde._speedups.{first}:" not in result.stderr


def test_an_extension_older_than_its_source_is_not_used(
    tmp_path: Path, compiled: Callable[[str], ModuleType]
) -> None:
    for name in _impl.SPEEDUP_MODULES:
        compiled(name)
    root = copy_package(tmp_path, keep_extensions=_impl.SPEEDUP_MODULES)
    (root / "setup.py").write_text("# marks a source checkout\n", encoding="utf-8")
    stale, *_ = _impl.SPEEDUP_MODULES
    source = root / "oxyde" / "_speedups" / f"{stale}.py"
    # Same time for every file first: an installed wheel's files carry the order pip
    # extracted them in, which can leave an extension microseconds older than its source.
    now = max(p.stat().st_mtime for p in source.parent.iterdir())
    for path in source.parent.iterdir():
        os.utime(path, (now, now))
    os.utime(source, (now + 10, now + 10))

    report = probe("auto", root)
    assert report["impl"] == "python"
    assert list(report["errors"]) == [stale]
    assert "older than" in report["errors"][stale]

    result = run_probe("c", root)
    assert result.returncode != 0
    assert f"{stale}.py" in result.stderr
    assert "older than" in result.stderr


def test_pure_modules_run_without_cython_installed(pure_tree: Path) -> None:
    report = probe("python", pure_tree, prelude=HIDE_CYTHON)
    assert report["impl"] == "python"
    for module in report["modules"].values():
        assert module["cython"] == "oxyde._speedups._cython_shim"


# -- in-process helpers ----------------------------------------------------------------------


def test_load_pure_is_one_module_per_name_apart_from_the_compiled_one() -> None:
    for name in _impl.SPEEDUP_MODULES:
        pure = _impl.load_pure(name)
        assert _impl.load_pure(name) is pure
        assert sys.modules[f"oxyde._speedups._py_{name}"] is pure
        assert pure._is_compiled() is False
        assert (pure.__file__ or "").endswith(".py")
    with pytest.raises(ValueError, match="sqlbuild"):
        _impl.load_pure("nosuchmodule")
    with pytest.raises(ValueError, match="rowload"):
        _impl.load_compiled("nosuchmodule")


# -- completeness ----------------------------------------------------------------------------


def setup_speedup_modules() -> tuple[str, ...]:
    tree = ast.parse((REPO_ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "SPEEDUP_MODULES"
            for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return value
    raise AssertionError("setup.py defines no SPEEDUP_MODULES")


def speedup_sources() -> list[Path]:
    return sorted(
        path
        for path in (REPO_ROOT / "oxyde" / "_speedups").glob("*.py")
        if not path.name.startswith("_")
    )


@pytest.mark.skipif(not (REPO_ROOT / "setup.py").exists(), reason="needs the source tree")
def test_every_speedup_source_is_built_and_switched() -> None:
    sources = {path.stem for path in speedup_sources()}
    assert sources == set(setup_speedup_modules())
    assert setup_speedup_modules() == _impl.SPEEDUP_MODULES


def public_names(module: ModuleType) -> set[str]:
    # Modules (``cython``) and ``from __future__`` flags exist only in the pure module.
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, ModuleType | future_features._Feature)
    }


@pytest.mark.parametrize("name", _impl.SPEEDUP_MODULES)
def test_compiled_and_pure_expose_the_same_names(
    name: str, impls: Callable[[str], tuple[ModuleType, ModuleType]]
) -> None:
    pure, compiled = impls(name)
    assert public_names(compiled) == public_names(pure)
    assert getattr(compiled, "__all__", None) == getattr(pure, "__all__", None)
    assert compiled._is_compiled() is True


def cython_names_used(source: Path) -> set[str]:
    """Dotted ``cython.x.y`` names a module uses, and any ``from cython import``."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "cython":
            used.update(f"from cython import {alias.name}" for alias in node.names)
        if not isinstance(node, ast.Attribute):
            continue
        parts = [node.attr]
        value = node.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id == "cython":
            used.add(".".join(reversed(parts)))
    return used


@pytest.mark.skipif(not speedup_sources(), reason="needs the source tree")
@pytest.mark.parametrize("source", speedup_sources(), ids=lambda path: path.stem)
def test_the_shim_provides_every_cython_name_a_source_uses(source: Path) -> None:
    missing = []
    for dotted in sorted(cython_names_used(source)):
        target: object = _cython_shim
        try:
            for part in dotted.split("."):
                target = getattr(target, part)
        except AttributeError:
            missing.append(dotted)
    assert missing == [], f"add these to oxyde/_speedups/_cython_shim.py: {missing}"


def defined_names(path: Path) -> set[str]:
    """Public names a module defines at top level (assignments, functions, classes)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


@pytest.mark.skipif(
    not (REPO_ROOT / "typings" / "cython.pyi").exists(), reason="needs the source tree"
)
def test_the_type_stub_and_the_shim_offer_the_same_names() -> None:
    stub = defined_names(REPO_ROOT / "typings" / "cython.pyi")
    shim = defined_names(Path(_cython_shim.__file__ or ""))
    assert stub == shim


def test_the_shim_behaves_like_uncompiled_cython() -> None:
    assert _cython_shim.compiled is False

    @_cython_shim.cfunc
    @_cython_shim.boundscheck(False)
    @_cython_shim.locals(i=_cython_shim.Py_ssize_t)
    def double(i: int) -> int:
        return i * 2

    assert double(21) == 42
    with _cython_shim.nogil:
        assert _cython_shim.cast(_cython_shim.int, 3.9) == 3
    assert _cython_shim.declare(_cython_shim.Py_ssize_t) == 0
    assert _cython_shim.declare(_cython_shim.double, 1.5) == 1.5
    assert _cython_shim.cdiv(-7, 2) == -3
    assert _cython_shim.cmod(-7, 2) == -1
    with pytest.raises(AttributeError, match="_cython_shim"):
        _cython_shim.no_such_directive  # noqa: B018
