"""Query hooks: functions called before and after every statement oxyde runs.

```python
from oxyde import events

def report(event: events.QueryEvent) -> None:
    metrics.observe(event.operation, event.duration, failed=event.error is not None)

hook = events.add_query_hook(after=report)
...
hook.remove()
```

Hooks are plain (sync) functions called on the event loop around the statement: keep
them short. ``before`` gets the event with ``sql``, ``params``, ``alias``, ``backend``,
``operation``, ``in_transaction`` and ``started``; ``after`` gets the same event with
``duration``, ``rows`` and ``error`` (the exception, or None) filled in. A hook that
raises is logged on ``oxyde.events`` and does not affect the query. With no hook
installed, statements pay one flag test for this.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from oxyde.db import querylog
from oxyde.db.querylog import QueryEvent

__all__ = ["QueryEvent", "QueryHook", "add_query_hook", "remove_all_query_hooks"]

Hook = Callable[[QueryEvent], Any]


class QueryHook:
    """An installed pair of hooks; ``remove()`` uninstalls it (also a context manager)."""

    __slots__ = ("_pair",)

    def __init__(self, pair: tuple[Hook | None, Hook | None]) -> None:
        self._pair = pair

    @property
    def installed(self) -> bool:
        return any(pair is self._pair for pair in querylog.hooks)

    def remove(self) -> None:
        """Uninstall these hooks (idempotent)."""
        querylog.hooks = tuple(pair for pair in querylog.hooks if pair is not self._pair)
        querylog.refresh()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


def add_query_hook(*, before: Hook | None = None, after: Hook | None = None) -> QueryHook:
    """Call ``before(event)`` before and ``after(event)`` after every statement."""
    if before is None and after is None:
        raise TypeError("add_query_hook() needs before=, after= or both")
    for name, hook in (("before", before), ("after", after)):
        if hook is not None and not callable(hook):
            raise TypeError(f"add_query_hook({name}=...) takes a callable, got {hook!r}")
    pair = (before, after)
    querylog.hooks = (*querylog.hooks, pair)
    querylog.refresh()
    return QueryHook(pair)


def remove_all_query_hooks() -> None:
    """Uninstall every query hook."""
    querylog.hooks = ()
    querylog.refresh()
