"""The worker thread of one apsw connection: it runs every call the loop does not run itself.

Calls that do not run on the loop (``onloop.py`` says which may) become a ``Job``: the
loop queues it and awaits a future that the worker resolves with
``loop.call_soon_threadsafe``. That hand-off measured cheaper than
``run_in_executor`` on a one-thread executor (no ``concurrent.futures.Future`` to
chain), and apsw releases the GIL while SQLite runs, so the loop stays responsive.

Jobs run one at a time in submission order, which is what keeps one operation at a
time on a connection. ``Worker.pending`` counts the jobs queued or running whose
outcome the loop has not received yet: only while it is 0 may the loop thread touch the
connection itself, so apsw never sees two threads at once. A job can be cancelled: the
connection's progress and busy handlers read ``Worker.current.cancelled`` and abort the
statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, Final

__all__ = ["IDLE", "Job", "Worker"]


class Job:
    """One call to run on the worker thread, and how to report its outcome."""

    __slots__ = ("cancelled", "done", "fn", "future", "loop", "waiter", "worker")

    def __init__(
        self, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.future = future
        #: set from the loop thread; read by the worker's SQLite handlers
        self.cancelled = False
        #: set on the loop thread once the worker has finished with the job
        self.done = False
        #: created when the awaiting task is cancelled, to wait for the worker
        self.waiter: asyncio.Future[None] | None = None
        #: set by ``Worker.submit``
        self.worker: Worker | None = None

    def finish(self, result: Any, error: BaseException | None) -> None:
        """Runs on the loop thread."""
        self.done = True
        worker = self.worker
        if worker is not None:
            worker.pending -= 1
        future = self.future
        if not future.done():
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Idle:
    """Stands for "no job" and for clean-up steps that must never be interrupted."""

    __slots__ = ()
    cancelled: Final = False


IDLE: Final = _Idle()

_STOP: Final = object()


class Worker:
    """A daemon thread running jobs from a queue until ``stop()``."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: the job running now; the SQLite handlers read ``current.cancelled``
        self.current: Job | _Idle = IDLE
        #: jobs submitted whose ``finish`` has not run on the loop yet (loop thread only)
        self.pending = 0
        # Daemon: a database the application forgot to close must not keep the
        # interpreter from exiting.
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, job: Job) -> None:
        """Queue ``job``; call on the loop thread."""
        job.worker = self
        self.pending += 1
        self._queue.put(job)

    def stop(self) -> None:
        """Let the thread end after the jobs already queued."""
        self._queue.put(_STOP)

    def _main(self) -> None:
        get = self._queue.get
        while True:
            job = get()
            if job is _STOP:
                return
            if job.cancelled:
                self._report(job, None, asyncio.CancelledError())
                continue
            self.current = job
            try:
                result = job.fn()
            except BaseException as exc:  # reported to the awaiting task
                self.current = IDLE
                self._report(job, None, exc)
            else:
                self.current = IDLE
                self._report(job, result, None)
            # The thread waits in get() with these locals alive: without this, a large
            # result would stay in memory until the next job that runs here (point reads
            # and small statements may never come to this thread again).
            job = result = None

    @staticmethod
    def _report(job: Job, result: Any, error: BaseException | None) -> None:
        # RuntimeError: the loop is closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(job.finish, result, error)
