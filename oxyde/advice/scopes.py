"""Where the advisor counts: a collect() block, the running test, or else the task.

A scope holds what one unit of work did (a request, a test, a task): the query shapes it
ran with their key values, its writes per call site, the instances it read. Findings are
made once per pattern and scope and kept in it; ``collect()`` hands them to its caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from oxyde.advice import switch
from oxyde.advice.findings import Finding
from oxyde.advice.settings import AdvisorSettings

__all__ = ["Scope", "collect", "current", "test_scope"]

#: shapes, write sites and read instances kept per scope before it starts over
MAX_ENTRIES = 2048


class Scope:
    __slots__ = ("findings", "keys", "loaded", "pending", "reported", "writes")

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        #: query shape -> distinct key values seen (until a finding is made)
        self.keys: dict[Any, set[tuple[Any, ...]]] = {}
        #: (model, operation, call site) -> calls
        self.writes: dict[tuple[Any, ...], int] = {}
        #: id(instance) -> (weak reference, numeric field values as read)
        self.loaded: dict[int, tuple[Any, dict[str, Any]]] = {}
        #: pattern key -> its finding, so a pattern is reported once
        self.reported: dict[Any, Finding] = {}
        #: background plan checks started for this scope
        self.pending: set[asyncio.Task[None]] = set()

    def bound(self, table: dict[Any, Any]) -> None:
        if len(table) >= MAX_ENTRIES:
            table.clear()


class _State:
    settings: AdvisorSettings = AdvisorSettings()
    enabled = False  # process-wide, for every task
    blocks = 0  # open collect() blocks and test scopes
    test: Scope | None = None


state = _State()
_block: ContextVar[Scope | None] = ContextVar("oxyde_advice_scope", default=None)
# Set in a task's own context on its first statement: tasks it starts afterwards inherit
# the same scope (a request's helpers count with it), tasks started before do not.
_task: ContextVar[Scope | None] = ContextVar("oxyde_advice_task_scope", default=None)


def refresh_switch() -> None:
    switch.on = state.enabled or state.blocks > 0


def current() -> Scope | None:
    """The scope a statement run now counts in, or ``None`` when nobody listens here."""
    scope = _block.get()
    if scope is not None:
        return scope
    if state.test is not None:
        return state.test
    if not state.enabled:
        return None
    scope = _task.get()
    if scope is None:
        scope = Scope()
        _task.set(scope)
    return scope


async def _wait(scope: Scope) -> None:
    while scope.pending:
        await asyncio.gather(*list(scope.pending), return_exceptions=True)


@asynccontextmanager
async def collect(*, wait: bool = True) -> AsyncIterator[list[Finding]]:
    """``async with collect() as found:``: the advisor watches the block (even when it is
    not enabled process-wide) and ``found`` lists its findings.

    With ``wait`` (the default) the exit waits for the block's background plan checks,
    so missing-index findings are in ``found`` too.
    """
    scope = Scope()
    token = _block.set(scope)
    state.blocks += 1
    refresh_switch()
    try:
        yield scope.findings
        if wait:
            await _wait(scope)
    finally:
        _block.reset(token)
        state.blocks -= 1
        refresh_switch()


@contextmanager
def test_scope() -> Iterator[Scope]:
    """One scope for everything a test runs, in any task (the pytest plugin's)."""
    scope = Scope()
    state.test = scope
    state.blocks += 1
    refresh_switch()
    try:
        yield scope
    finally:
        state.test = None
        state.blocks -= 1
        refresh_switch()
