"""Which backends a test run selects (``OXYDE_TEST_BACKENDS``) and requires
(``OXYDE_TEST_REQUIRE``): read in one place by ``tests/conftest.py`` and by the modules
that test one backend only.

A backend left out of ``OXYDE_TEST_BACKENDS`` (when it is set) does not run at all. A
selected backend that cannot be reached skips its tests, unless ``OXYDE_TEST_REQUIRE``
names it (as CI does): then they fail.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import NoReturn

import pytest

ALL_BACKENDS = ("sqlite", "postgres", "mysql")


def env_list(name: str) -> list[str]:
    """A comma-separated environment variable, lower-cased, blanks dropped."""
    return [item.strip().lower() for item in os.environ.get(name, "").split(",") if item.strip()]


def _module_exists(backend: str) -> bool:
    # The installed package's backends (a source checkout's, or a wheel's when the tests
    # run against one from another directory).
    spec = importlib.util.find_spec("oxyde.backends")
    assert spec is not None and spec.origin is not None
    here = Path(spec.origin).parent
    return (here / f"{backend}.py").exists() or (here / backend / "__init__.py").exists()


def selected_backends() -> list[str]:
    """``OXYDE_TEST_BACKENDS``, or every backend this build has."""
    wanted = env_list("OXYDE_TEST_BACKENDS")
    if wanted:
        unknown = sorted(set(wanted) - set(ALL_BACKENDS))
        if unknown:
            raise pytest.UsageError(
                f"OXYDE_TEST_BACKENDS names unknown backends {unknown}; valid: {ALL_BACKENDS}"
            )
        return wanted
    return [name for name in ALL_BACKENDS if _module_exists(name)]


def required_backends() -> set[str]:
    return set(env_list("OXYDE_TEST_REQUIRE"))


def is_required(backend: str) -> bool:
    return backend in required_backends()


def skip_module_unless_selected(backend: str) -> None:
    """First thing in a module that tests ``backend`` only and imports its driver: skip
    the whole module when the run leaves that backend out."""
    if backend not in selected_backends():
        pytest.skip(f"{backend} is not in OXYDE_TEST_BACKENDS", allow_module_level=True)


def unreachable(backend: str, message: str) -> NoReturn:
    """Skip the test, or fail it when the run requires ``backend``."""
    if is_required(backend):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
