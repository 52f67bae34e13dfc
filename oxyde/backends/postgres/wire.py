"""One connection's statements at the libpq level: encoding, prepared statements, results.

psycopg's cursors are built for generality (any placeholder style, row factories, a
result kept for later fetches); oxyde needs none of that, and on a point query their
bookkeeping costs as much as the round trip's client side. ``Wire`` talks to the
connection's ``PGconn`` directly, in pipeline mode, with psycopg's own (C) adapters:

- ``send`` queues one statement and a Sync, so the statement is alone in its implicit
  transaction (outside a transaction block) and an error aborts nothing else;
- the prepared-statement cache follows psycopg's rules (``prepare_threshold``
  executions before preparing, at most ``capacity`` kept, least recently used dropped
  first) but lives here, under names of its own. It is the only one on the connection:
  the pool turns psycopg's own off, because psycopg answers every ROLLBACK with
  ``DEALLOCATE ALL`` once it has prepared anything, which would also remove these;
- ``outcome`` turns the results of one Sync group into rows, a row count or an error.

Scripts (several statements in one string) and commands without parameters never come
here: they need the simple query protocol.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.pq import ExecStatus

from oxyde import _slicing
from oxyde.backends.base import Row
from oxyde.backends.postgres.errors import map_error
from oxyde.exceptions import OxydeError

__all__ = [
    "COUNT",
    "DESCRIBED",
    "ROWS",
    "Unconverted",
    "Wire",
    "drops_prepared",
    "one_query",
    "rows_in_slices",
    "wire_of",
]

#: what a caller wants back from a statement
ROWS: Final = 0
COUNT: Final = 1
DESCRIBED: Final = 2

_TUPLES_OK: Final = ExecStatus.TUPLES_OK
_FATAL_ERROR: Final = ExecStatus.FATAL_ERROR

#: SQLSTATEs after which a statement sent as prepared is worth one more try: the
#: statement is gone from the session (``DISCARD ALL``, ``DEALLOCATE``) or its cached
#: plan no longer fits the table (``cached plan must not change result type``).
_STALE_PREPARED: Final = frozenset({"26000", "0A000"})

#: results from this many rows are decoded with the garbage collector paused: every row
#: is a new tuple the collector would otherwise keep traversing while the result grows
#: (none of them can be garbage yet)
PAUSE_GC_ROWS: Final = 1000

# Unique in the process, so a name can never collide with one left in a session.
_names = itertools.count(1)

_AUTO: Final = PyFormat.AUTO
_formats_cache: dict[int, list[PyFormat]] = {}


def _formats(n: int) -> list[PyFormat]:
    formats = _formats_cache.get(n)
    if formats is None:
        formats = _formats_cache[n] = [_AUTO] * n
    return formats


class Wire:
    """The statement state of one psycopg connection; made once per connection."""

    __slots__ = (
        "_counts",
        "_encoded",
        "_prepared",
        "capacity",
        "encoding",
        "pgconn",
        "preparing",
        "threshold",
        "tx",
    )

    def __init__(self, raw: AsyncConnection[Any], threshold: int | None, capacity: int) -> None:
        self.pgconn = raw.pgconn
        self.tx = Transformer(raw)
        self.encoding = raw.info.encoding
        #: executions before a statement is prepared; None: never
        self.threshold = threshold if capacity > 0 else None
        self.capacity = capacity
        # (sql, parameter types) -> name, least recently used first
        self._prepared: OrderedDict[tuple[bytes, Any], bytes] = OrderedDict()
        # (sql, parameter types) -> executions so far, for statements not yet prepared
        self._counts: dict[tuple[bytes, Any], int] = {}
        self._encoded: dict[str, bytes] = {}
        #: the name the last ``send`` queued a PREPARE for (None: it prepared nothing);
        #: an entry is only trusted once its Sync group shows the PREPARE succeeded
        self.preparing: bytes | None = None

    def send(self, sql: str, params: Sequence[Any], fresh: bool = False) -> bytes | None:
        """Queue ``sql`` with ``params`` and a Sync (no I/O wait); the name it runs
        under when prepared, else None. ``fresh``: never reuse a prepared statement
        (a retry after the server lost it). Binding errors raise before anything is
        queued."""
        query = self._encoded.get(sql)
        if query is None:
            query = self._encode(sql)
        tx = self.tx
        try:
            values = tx.dump_sequence(params, _formats(len(params)))
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        types = tx.types
        formats = tx.formats
        pgconn = self.pgconn
        name: bytes | None = None
        self.preparing = None
        if self.threshold is not None:
            key = (query, types)
            prepared = self._prepared
            name = None if fresh else prepared.get(key)
            if name is not None:
                prepared.move_to_end(key)
                pgconn.send_query_prepared(name, values, formats)
            else:
                seen = self._counts.get(key, 0)
                if seen >= self.threshold:
                    name = self.preparing = self._prepare(key, query, types)
                    pgconn.send_query_prepared(name, values, formats)
                else:
                    self._count(key, seen)
        if name is None:
            pgconn.send_query_params(query, values, types, formats)
        pgconn.pipeline_sync()
        return name

    def _encode(self, sql: str) -> bytes:
        query = sql.encode(self.encoding)
        if len(self._encoded) >= 4 * max(self.capacity, 100):
            self._encoded.clear()
        self._encoded[sql] = query
        return query

    def _count(self, key: tuple[bytes, Any], seen: int) -> None:
        counts = self._counts
        if len(counts) >= 4 * max(self.capacity, 100):
            # Shapes seen once and never again (raw SQL with literals) must not pile up.
            counts.clear()
        counts[key] = seen + 1

    def _prepare(self, key: tuple[bytes, Any], query: bytes, types: Any) -> bytes:
        """Queue the PREPARE of ``key`` (after dropping the least used one when full)."""
        pgconn = self.pgconn
        prepared = self._prepared
        if len(prepared) >= self.capacity:
            _, old = prepared.popitem(last=False)
            # In the same Sync group as the statement: it is answered in order and, if
            # it fails, the statement fails with it and is retried fresh.
            pgconn.send_query_params(b"DEALLOCATE " + old, None)
        self._counts.pop(key, None)
        name = b"_oxyde_%d" % next(_names)
        prepared[key] = name
        pgconn.send_prepare(name, query, types)
        return name

    def forget(self, name: bytes | None, state: str | None) -> bool:
        """After a statement sent as ``name`` failed with SQLSTATE ``state``: drop what
        the server no longer has, in or out of a transaction; whether running the
        statement again (fresh) may succeed."""
        if name is None or state not in _STALE_PREPARED:
            return False
        if state == "26000":
            # Whatever removed this one (DISCARD ALL, DEALLOCATE ALL) removed the rest.
            self._prepared.clear()
        else:
            self.unprepare(name)
        return True

    def unprepare(self, name: bytes) -> None:
        """Drop ``name``: its PREPARE failed or was never answered (an aborted group, a
        cancelled exchange). If the server made it after all, it merely stays unused:
        names are never reused."""
        for key, value in self._prepared.items():
            if value == name:
                del self._prepared[key]
                break

    def clear(self) -> None:
        """Forget every prepared statement: the session lost them (``DISCARD ALL``,
        ``DEALLOCATE ALL``, a reset)."""
        self._prepared.clear()

    def names(self) -> list[bytes]:
        """The names believed prepared on the session, least recently used first."""
        return list(self._prepared.values())

    def sliced(self, result: Any, mode: int) -> bool:
        """Whether ``result`` has rows enough to be converted by ``outcome_in_slices``
        rather than ``outcome``."""
        return mode != COUNT and result.status == _TUPLES_OK and _slicing.large(result.ntuples)

    async def outcome_in_slices(self, result: Any, mode: int) -> Any:
        """``outcome`` for a large result (``sliced``), converted a slice at a time with
        the loop let in between."""
        rows = await rows_in_slices(self.tx, result)
        if mode == ROWS:
            return rows
        encoding = self.encoding
        return [result.fname(i).decode(encoding) for i in range(result.nfields)], rows

    def outcome(self, result: Any, mode: int) -> Any:
        """What a caller gets from the main result of a statement (never an error)."""
        if mode == ROWS:
            if result.status != _TUPLES_OK:
                return []
            return self._rows(result)
        if mode == COUNT:
            count = result.command_tuples
            if count is None:
                count = result.ntuples if result.status == _TUPLES_OK else 0
            return count
        if result.status != _TUPLES_OK:
            return [], []
        encoding = self.encoding
        names = [result.fname(i).decode(encoding) for i in range(result.nfields)]
        return names, self._rows(result)

    def _rows(self, result: Any) -> list[Row]:
        tx = self.tx
        n = result.ntuples
        paused = n >= PAUSE_GC_ROWS and gc.isenabled()
        if paused:
            gc.disable()
        try:
            tx.set_pgresult(result)
            rows: list[Row] = tx.load_rows(0, n, tuple)
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        finally:
            if paused:
                gc.enable()
        return rows

    def error(self, result: Any) -> OxydeError:
        """The oxyde exception for a FATAL_ERROR result (psycopg's as its cause)."""
        return _mapped(error_from_result(result, encoding=self.encoding))


class Unconverted:
    """A large result handed over as it came, for its task to convert in slices (a
    reader callback converting it would hold the loop for the whole result)."""

    __slots__ = ("mode", "result")

    def __init__(self, result: Any, mode: int) -> None:
        self.result = result
        self.mode = mode


async def rows_in_slices(context: Any, result: Any) -> list[Row]:
    """The rows of ``result`` as tuples, converted a slice at a time (``oxyde._slicing``)
    with the loop let in between, by a transformer of their own made from ``context``
    (a connection, or its transformer): the connection's may serve other statements in
    the meantime, and the result stays valid whatever runs on the connection."""
    tx = Transformer(context)
    rows: list[Row] = []
    extend = rows.extend

    def step(start: int, stop: int) -> None:
        # every row is a new tuple that cannot be garbage yet: no collection meanwhile
        paused = stop - start >= PAUSE_GC_ROWS and gc.isenabled()
        if paused:
            gc.disable()
        try:
            extend(tx.load_rows(start, stop, tuple))
        finally:
            if paused:
                gc.enable()

    try:
        tx.set_pgresult(result)
        await _slicing.run_slices(result.ntuples, step)
    except psycopg.Error as exc:
        raise _mapped(exc) from exc
    return rows


def _mapped(exc: psycopg.Error) -> OxydeError:
    error = map_error(exc)
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error


#: statements that remove a session's prepared statements (any of them, in a script)
_DROPS_PREPARED: Final = re.compile(r"\b(?:DISCARD|DEALLOCATE)\b", re.IGNORECASE)


def drops_prepared(sql: str) -> bool:
    """Whether ``sql`` may remove prepared statements (``DISCARD ALL``, ``DEALLOCATE``):
    after it the cache starts over rather than trust names the session may have lost."""
    return _DROPS_PREPARED.search(sql) is not None


def one_query(sql: str) -> bool:
    """Whether SQL without parameters is a single query the extended protocol takes: a
    SELECT (or WITH) and no ``;``. Scripts and commands (some refuse to run in a
    pipeline, like VACUUM) keep the simple protocol."""
    head = sql[:64].lstrip()[:6].upper()
    return (head == "SELECT" or head[:4] == "WITH") and ";" not in sql


def wire_of(raw: AsyncConnection[Any], threshold: int | None, capacity: int) -> Wire:
    """The connection's ``Wire``, made on first use and kept as long as the connection."""
    wire: Wire | None = getattr(raw, "oxyde_wire", None)
    if wire is None or wire.pgconn is not raw.pgconn:
        wire = Wire(raw, threshold, capacity)
        raw.oxyde_wire = wire  # type: ignore[attr-defined]
    return wire
