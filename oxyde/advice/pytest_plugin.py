"""pytest: the advisor in a test suite, and tests that fail on N+1 queries or write loops.

    pytest --oxyde-advice            # watch every test; findings go to the log
    pytest --oxyde-advice-strict     # ... and fail a test that makes an N+1 or loop finding

or per test, with the advisor on or not::

    @pytest.mark.oxyde_strict                      # n_plus_one and loop_writes fail the test
    @pytest.mark.oxyde_strict("n_plus_one")        # only these kinds

Every task a test starts counts in the test's one scope; the findings of a test are in
the ``oxyde_findings`` fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from oxyde.advice import scopes
from oxyde.advice.findings import Finding
from oxyde.advice.settings import check_names

#: what strict mode fails on unless the marker names other kinds
STRICT_KINDS = frozenset({"n_plus_one", "loop_writes"})
_SCOPE = pytest.StashKey[scopes.Scope]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oxyde", "oxyde advisor")
    group.addoption(
        "--oxyde-advice",
        action="store_true",
        default=False,
        help="run the oxyde advisor in every test (findings go to the oxyde.advice logger)",
    )
    group.addoption(
        "--oxyde-advice-strict",
        action="store_true",
        default=False,
        help="fail a test whose queries make an N+1 or create()/save()-in-a-loop finding",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "oxyde_strict(*kinds): fail the test on advisor findings of these kinds "
        "(default: n_plus_one, loop_writes)",
    )


def _strict_kinds(item: pytest.Item) -> frozenset[str] | None:
    marker = item.get_closest_marker("oxyde_strict")
    if marker is not None:
        return check_names(marker.args) if marker.args else STRICT_KINDS
    if item.config.getoption("--oxyde-advice-strict"):
        return STRICT_KINDS
    return None


def _watched(item: pytest.Item) -> bool:
    return bool(item.config.getoption("--oxyde-advice")) or _strict_kinds(item) is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    # Opened before the fixtures run, so what they set up counts in the test too (a fixture
    # that seeds rows in a loop is worth hearing about).
    if _watched(item):
        manager = scopes.test_scope()
        item.stash[_SCOPE] = manager.__enter__()
        item.stash[_MANAGER] = manager
    return (yield)


_MANAGER = pytest.StashKey[Any]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    kinds = _strict_kinds(item)
    scope = item.stash.get(_SCOPE, None)
    if kinds and scope is not None:
        bad = [f for f in scope.findings if f.kind in kinds]
        if bad:
            lines = "\n".join(f"  {f.message}" for f in bad)
            pytest.fail(
                f"oxyde advisor: {len(bad)} finding(s) in strict mode:\n{lines}", pytrace=False
            )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        manager = item.stash.get(_MANAGER, None)
        if manager is not None:
            manager.__exit__(None, None, None)
            del item.stash[_MANAGER]


@pytest.fixture
def oxyde_findings(request: pytest.FixtureRequest) -> Iterator[list[Finding]]:
    """The advisor findings of the running test (the advisor watches it when asked for)."""
    scope = request.node.stash.get(_SCOPE, None)
    if scope is not None:
        yield scope.findings
        return
    with scopes.test_scope() as own:
        yield own.findings
