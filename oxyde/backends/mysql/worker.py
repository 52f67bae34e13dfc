"""One thread per MySQL connection, running its blocking driver calls off the event loop.

mysqlclient releases the GIL inside its network calls, so a thread per connection gives
real concurrency; the driver forbids sharing a connection between threads, so each
connection keeps the same thread for its whole life. Jobs run in submission order: a
job submitted after a cancelled one starts only once that one has returned, which is
how the pool waits for a cancelled call to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def _deliver(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    # The awaiting task may have been cancelled (and its future with it) while the
    # thread was busy; the outcome is then dropped: the caller has moved on.
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class Worker:
    __slots__ = ("_queue", "_thread")

    def __init__(self, name: str) -> None:
        self._queue: SimpleQueue[_Job | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(*args)``; the future resolves on the caller's event loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, loop, fut))
        return fut

    def stop(self) -> None:
        """Let the thread exit once the jobs already queued have run."""
        self._queue.put(None)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        get = self._queue.get
        while True:
            job = get()
            if job is None:
                return
            fn, args, loop, fut = job
            del job
            try:
                value = fn(*args)
                ok = True
            except BaseException as exc:  # forwarded to the awaiting task
                value = exc
                ok = False
            # RuntimeError: the loop is closed, nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, fut, ok, value)
            del fn, args, fut, value
