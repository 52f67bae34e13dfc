"""Which SQLite statements may run on the event loop's own thread, and what bounds them.

A point query costs SQLite a few microseconds, and a hand-off to the connection's worker
thread costs ten times that, so a short statement is cheaper to run where the caller is.
It must never stall the loop, though: on the loop a statement runs under a time budget
(``LOOP_BUDGET``, checked by a progress handler every ``LOOP_CHECK_STEPS`` VM steps) and
a busy handler that never sleeps. When either gives up, the statement is aborted and run
again on the worker thread, which is only correct when the aborted attempt left nothing
behind. SQLite guarantees that for:

* a read-only statement, in or out of a transaction: an interrupted read rolls nothing
  back (``sqlite3VdbeHalt`` skips the rollback for a read-only statement interrupted);
* a write in autocommit mode: its implicit transaction is rolled back as a whole.

It does not for a write inside an explicit transaction: interrupting one rolls the whole
transaction back. Those, multi-statement SQL, transaction control, PRAGMAs and DDL always
go to the worker. A write also stays off the loop when its commit would wait for the disk
(anything but WAL with ``synchronous`` at NORMAL or OFF, or an in-memory database).

A statement that ran over its budget goes straight to the worker for its next few calls
(doubling up to ``MAX_SKIP``), so a query that is always long pays the aborted attempt
rarely. And since a call that completes on the loop never yields to it, ``pause_due``
tells the caller to yield once per ``YIELD_INTERVAL`` of such calls.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import apsw

__all__ = [
    "LOOP_BUDGET",
    "LOOP_CHECK_STEPS",
    "YIELD_INTERVAL",
    "StatementInfo",
    "classify",
    "mark_paused",
    "pause_due",
]

#: Longest a statement may run on the loop before it is moved to the worker (seconds).
LOOP_BUDGET: Final = 0.001
#: VM steps between two looks at the clock while on the loop (about 50-100 us of work).
LOOP_CHECK_STEPS: Final = 2_000
#: Calls that complete on the loop yield to it at least this often (seconds).
YIELD_INTERVAL: Final = 0.001
#: Calls that skip the loop after an overrun: 1, 2, 4... up to this many.
MAX_SKIP: Final = 64
#: SQL texts remembered; past this the cache starts over (shapes come from code, so a
#: real application stays far below it).
MAX_STATEMENTS: Final = 4096

_DML: Final = frozenset({"SELECT", "WITH", "VALUES", "INSERT", "UPDATE", "DELETE", "REPLACE"})


class StatementInfo:
    """What the loop needs to know about one SQL text."""

    __slots__ = ("loop_ok", "overruns", "skip", "write")

    def __init__(self, *, loop_ok: bool, write: bool) -> None:
        #: one DML statement: may be tried on the loop at all
        self.loop_ok = loop_ok
        #: it changes data (so only in autocommit mode on the loop)
        self.write = write
        #: calls still to send straight to the worker after an overrun
        self.skip = 0
        #: overruns in a row, for the back-off
        self.overruns = 0

    def overran(self) -> None:
        self.overruns = min(self.overruns + 1, 7)
        self.skip = min(1 << (self.overruns - 1), MAX_SKIP)

    def fitted(self) -> None:
        self.overruns = 0


_statements: dict[str, StatementInfo] = {}


def classify(db: apsw.Connection, sql: str) -> StatementInfo | None:
    """The info for ``sql`` (prepared once on ``db`` to ask SQLite), or None when it cannot
    be prepared here (the worker then runs it and reports the error)."""
    info = _statements.get(sql)
    if info is not None:
        return info
    import apsw.ext

    head = sql.lstrip()[:7].upper()
    keyword = head.split(None, 1)[0] if head.strip() else ""
    if keyword.rstrip("(") not in _DML:
        info = StatementInfo(loop_ok=False, write=True)
    else:
        try:
            details = apsw.ext.query_info(db, sql)
        except Exception:
            return None
        remaining = details.query_remaining
        single = remaining is None or not remaining.strip(" \t\r\n;")
        info = StatementInfo(loop_ok=single, write=not details.is_readonly)
    if len(_statements) >= MAX_STATEMENTS:
        _statements.clear()
    _statements[sql] = info
    return info


_last_pause = 0.0


def pause_due() -> bool:
    """True when calls that completed on the loop have kept it for ``YIELD_INTERVAL``."""
    return time.perf_counter() - _last_pause > YIELD_INTERVAL


def mark_paused() -> None:
    global _last_pause
    _last_pause = time.perf_counter()
