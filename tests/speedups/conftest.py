"""Fixtures that hand tests both implementations of a speedup module in one process."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType

import pytest

from oxyde import _impl

ImplPair = tuple[ModuleType, ModuleType]


def compiled_required() -> bool:
    """A missing compiled module fails (instead of skipping) under OXYDE_IMPL=c and in CI."""
    return os.environ.get("OXYDE_IMPL", "").strip().lower() == "c" or bool(os.environ.get("CI"))


def compiled_or_skip(name: str) -> ModuleType:
    """The compiled module; skips the test locally when it is missing, fails it in CI."""
    try:
        return _impl.load_compiled(name)
    except ImportError as exc:
        if compiled_required():
            pytest.fail(f"compiled {name} is required here but unavailable: {exc}")
        pytest.skip(f"compiled {name} unavailable: {exc}")


@pytest.fixture
def compiled() -> Callable[[str], ModuleType]:
    """``compiled("rowload")`` -> the compiled module, under the skip/fail rule above."""
    return compiled_or_skip


@pytest.fixture
def impls() -> Callable[[str], ImplPair]:
    """``impls("sqlbuild")`` -> ``(pure_module, compiled_module)``.

    Locally, a module that is not compiled skips the test; under ``OXYDE_IMPL=c`` or in CI
    it fails it, so a broken build never passes as a skipped one.
    """

    def get(name: str) -> ImplPair:
        return _impl.load_pure(name), compiled_or_skip(name)

    return get
