"""The blocking side of one MySQL connection: every method runs on its worker thread.

A ``Session`` owns one ``MySQLdb`` connection and the state the pool needs to decide
whether the connection may be reused: ``broken`` (closed, lost, or its protocol state
unknown), ``lost`` (the server or the network ended it), ``in_tx`` (a transaction begun
through ``begin``), ``dirty`` (raw SQL changed the session's transaction state behind
our back) and ``result`` (an unread unbuffered result). Methods translate driver errors
to ``oxyde.exceptions`` and set those flags before raising, so the async side reads a
truthful state once the call has returned.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any, Final

import MySQLdb
from MySQLdb.constants import CLIENT

from oxyde.backends.mysql.errors import errno_of, is_fatal, is_lost, map_error
from oxyde.exceptions import ConnectionLostError, OperationalError, OxydeError

Row = tuple[Any, ...]

ISOLATION_LEVELS: Final[dict[str, bytes]] = {
    "read uncommitted": b"READ UNCOMMITTED",
    "read committed": b"READ COMMITTED",
    "repeatable read": b"REPEATABLE READ",
    "serializable": b"SERIALIZABLE",
}

#: Raw statements that open a transaction or change how the session commits. After one
#: of them the connection's transaction state is no longer what ``in_tx`` says.
_TX_CONTROL = re.compile(
    rb"\s*(?:BEGIN|START\s+TRANSACTION|SET\s+(?:SESSION\s+|@@(?:SESSION\.)?)?AUTOCOMMIT"
    rb"|LOCK\s+TABLES?|XA\s)",
    re.IGNORECASE,
)
_TX_FIRST_BYTES: Final = b"BbSsLlXx \t\r\n"

#: mysqlclient splits ``executemany`` INSERTs into statements of at most this many bytes.
#: Its 64 KiB default costs round trips; MySQL 8 and MariaDB 10.6 accept 16 MiB packets
#: or more by default (``max_allowed_packet``).
MAX_STATEMENT_BYTES: Final = 512 * 1024


#: rows converted per ``fetch_row`` call: mysqlclient converts a stored result holding
#: the GIL, so the event loop's thread only gets it back between two calls (1,000 rows
#: take about 1 ms; 100,000 in one call held the loop for 100 ms)
FETCH_SLICE: Final = 1000


def _all_rows(res: Any) -> list[Row]:
    """Every row of a stored result, ``FETCH_SLICE`` at a time."""
    rows: list[Row] = []
    while True:
        part = res.fetch_row(FETCH_SLICE)
        rows.extend(part)
        if len(part) < FETCH_SLICE:
            return rows


def normalize_isolation(level: str) -> bytes:
    """The SQL keyword of an isolation level, or ``ValueError`` (never interpolated)."""
    key = " ".join(level.replace("_", " ").replace("-", " ").lower().split())
    try:
        return ISOLATION_LEVELS[key]
    except KeyError:
        choices = ", ".join(sorted(ISOLATION_LEVELS))
        raise ValueError(f"unknown isolation level {level!r}; choose one of {choices}") from None


class Session:
    __slots__ = (
        "broken",
        "dirty",
        "fd",
        "in_tx",
        "lost",
        "raw",
        "result",
        "server_info",
        "thread_id",
    )

    def __init__(self, raw: Any) -> None:
        # Typed loosely: the driver's stubs leave its C methods unannotated.
        self.raw: Any = raw
        self.broken = False
        #: the server or the network ended the session (counted as ``connections_lost``)
        self.lost = False
        self.in_tx = False
        self.dirty = False
        self.result: Any = None
        # Read once: the driver refuses to touch a connection while its thread is in
        # a call, and the pool needs both while a call runs (KILL QUERY, shutdown).
        self.thread_id: int = self.raw.thread_id()
        self.fd: int = self.raw.fileno()
        self.server_info: str = self.raw.get_server_info()

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def connect(
        cls, params: dict[str, Any], init_sql: Sequence[str], require_tls: bool = False
    ) -> Session:
        try:
            raw: Any = MySQLdb.connect(**params)
        except MySQLdb.Error as exc:
            raise _as_operational(exc) from exc
        session = cls(raw)
        try:
            if require_tls:
                # MariaDB Connector/C lets ssl_mode=REQUIRED fall back to plain text when
                # the server has no TLS; check rather than trust it.
                raw.query(b"SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                rows = raw.store_result().fetch_row(0)
                if not rows or not rows[0][1]:
                    session.close()
                    raise OperationalError(
                        "ssl_mode requires TLS but the connection is not encrypted "
                        "(the server does not offer TLS)",
                        code=2026,
                    )
            for sql in init_sql:
                raw.query(sql.encode(raw.encoding))
                session._discard_results()
        except MySQLdb.Error as exc:
            session.close()
            raise _as_operational(exc) from exc
        return session

    # -- statements ------------------------------------------------------------------

    def _bind(self, sql: str, params: Sequence[Any]) -> bytes:
        raw = self.raw
        query = sql.encode(raw.encoding)
        if query[:1] in _TX_FIRST_BYTES and _TX_CONTROL.match(query):
            self.dirty = True
        literal = raw.literal
        string_literal = raw.string_literal
        encoding = raw.encoding
        # mysqlclient's literal() per value is a Python method with a chain of isinstance
        # checks; ints, strings and NULLs (most values) are spelled here the way it spells
        # them (str(int), its C string_literal on the connection's encoding, NULL), the
        # rest still go through it. A 100-row INSERT binds 600 values.
        out: list[bytes] = []
        append = out.append
        try:
            for v in params:
                t = type(v)
                if t is int:
                    append(b"%d" % v)
                elif t is str:
                    append(string_literal(v.encode(encoding)))
                elif v is None:
                    append(b"NULL")
                else:
                    append(literal(v))
            # Formatting always runs, even without values, so ``%%`` means ``%`` in every
            # statement (the "format" placeholder style).
            return query % tuple(out)
        except (TypeError, ValueError) as exc:
            raise OperationalError(f"cannot bind {len(params)} parameter(s): {exc}") from exc

    def _fail(self, exc: MySQLdb.Error) -> OxydeError:
        if is_lost(exc):
            self.broken = self.lost = True
        elif is_fatal(errno_of(exc)):
            self.broken = True
        return map_error(exc)

    def _discard_results(self) -> None:
        """Consume every result of the last statement (CALL returns several)."""
        raw = self.raw
        res = raw.store_result()
        if res is not None:
            res.discard()
        while raw.more_results():
            if raw.next_result() != 0:
                break
            res = raw.store_result()
            if res is not None:
                res.discard()

    def fetch(
        self, sql: str, params: Sequence[Any], write: bool, described: bool
    ) -> tuple[list[str], list[Row]]:
        raw = self.raw
        try:
            raw.query(self._bind(sql, params))
            res = raw.store_result()
            if res is None:
                names: list[str] = []
                # No RETURNING: a write reports the key the server generated (for a
                # multi-row INSERT, the first one) as a one-column row. Not when the
                # caller wants column names (raw SQL, explain): a nameless row is no row.
                insert_id = raw.insert_id() if write and not described else 0
                rows: list[Row] = [(insert_id,)] if insert_id else []
            else:
                rows = _all_rows(res)
                names = [d[0] for d in res.describe()] if described else []
            if raw.more_results():
                self._discard_results()
        except MySQLdb.Error as exc:
            raise self._fail(exc) from exc
        return names, rows

    def execute(self, sql: str, params: Sequence[Any]) -> int:
        raw = self.raw
        try:
            raw.query(self._bind(sql, params))
            count: int = raw.affected_rows()
            if raw.field_count() or raw.more_results():
                self._discard_results()
        except MySQLdb.Error as exc:
            raise self._fail(exc) from exc
        return count

    def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        """Every parameter set or none: inside the open transaction a savepoint, else a
        transaction of its own (mysqlclient splits long INSERTs into several
        statements, and autocommit would keep the ones before a failure)."""
        raw = self.raw
        nested = self.in_tx
        encoding = raw.encoding
        query = sql.encode(encoding)
        if query[:1] in _TX_FIRST_BYTES and _TX_CONTROL.match(query):
            self.dirty = True
        try:
            raw.query(b"SAVEPOINT `oxyde_many`" if nested else b"START TRANSACTION")
            cursor = raw.cursor()
            cursor.max_stmt_length = MAX_STATEMENT_BYTES
            try:
                count = cursor.executemany(query, params_seq) or 0
            finally:
                cursor.close()
            raw.query(b"RELEASE SAVEPOINT `oxyde_many`" if nested else b"COMMIT")
        except BaseException as exc:
            self._undo_many(nested)
            if isinstance(exc, MySQLdb.Error):
                raise self._fail(exc) from exc
            if isinstance(exc, (TypeError, ValueError)):
                raise OperationalError(f"cannot bind parameters: {exc}") from exc
            raise
        return int(count)

    def _undo_many(self, nested: bool) -> None:
        if self.broken:
            return
        try:
            self.raw.query(b"ROLLBACK TO SAVEPOINT `oxyde_many`" if nested else b"ROLLBACK")
        except MySQLdb.Error:
            # Unknown state: close rather than risk a half-applied batch being committed.
            self.broken = True

    # -- transactions ----------------------------------------------------------------

    def begin(self, isolation: bytes | None, read_only: bool) -> None:
        if self.in_tx:
            # START TRANSACTION would silently commit the open one.
            raise OperationalError("a transaction is already open on this connection")
        raw = self.raw
        try:
            if isolation is not None:
                # Applies to the next transaction only.
                raw.query(b"SET TRANSACTION ISOLATION LEVEL " + isolation)
            raw.query(b"START TRANSACTION READ ONLY" if read_only else b"START TRANSACTION")
        except MySQLdb.Error as exc:
            raise self._fail(exc) from exc
        self.in_tx = True

    def commit(self) -> None:
        try:
            self.raw.query(b"COMMIT")
        except MySQLdb.Error as exc:
            error = self._fail(exc)
            self.rollback()
            raise error from exc
        self.in_tx = False

    def rollback(self) -> None:
        """Never raises: if ROLLBACK cannot run, the connection is marked broken and
        closing it makes the server roll back."""
        self.in_tx = False
        if self.broken:
            return
        try:
            self.raw.query(b"ROLLBACK")
        except MySQLdb.Error:
            self.broken = True

    def run_control(self, statement: bytes) -> None:
        """A savepoint statement (the name is already quoted)."""
        try:
            self.raw.query(statement)
        except MySQLdb.Error as exc:
            raise self._fail(exc) from exc

    # -- unbuffered results ----------------------------------------------------------

    def stream_open(self, sql: str, params: Sequence[Any]) -> None:
        raw = self.raw
        try:
            raw.query(self._bind(sql, params))
            self.result = raw.use_result()
        except MySQLdb.Error as exc:
            raise self._fail(exc) from exc

    def stream_next(self, size: int) -> list[Row]:
        res = self.result
        if res is None:
            return []
        try:
            rows: tuple[Row, ...] = res.fetch_row(size)
            if len(rows) < size:
                # A short chunk means the end: the result is fully read.
                self.result = None
                if self.raw.more_results():
                    self._discard_results()
        except MySQLdb.Error as exc:
            self.result = None
            # An error while rows are still arriving leaves the protocol in doubt.
            self.broken = True
            self.lost = self.lost or is_lost(exc)
            raise map_error(exc) from exc
        return list(rows)

    def stream_drain(self) -> None:
        res, self.result = self.result, None
        if res is None:
            return
        try:
            res.discard()
            if self.raw.more_results():
                self._discard_results()
        except MySQLdb.Error:
            self.broken = True

    # -- health ----------------------------------------------------------------------

    def ping(self) -> None:
        try:
            self.raw.ping()
        except MySQLdb.Error as exc:
            self.broken = self.lost = True
            error = _as_operational(exc)
            raise ConnectionLostError(str(error), code=error.code) from exc

    def close(self) -> None:
        self.broken = True
        self.in_tx = False
        with contextlib.suppress(MySQLdb.Error):
            self.raw.close()
        # Dropped after the close so the driver has no stream left to drain.
        self.result = None


def _as_operational(exc: MySQLdb.Error) -> OperationalError:
    """Connect-time failures are all operational, whatever their errno."""
    errno = errno_of(exc)
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    error = OperationalError(f"({errno}) {message}" if errno else message, code=errno)
    error.__cause__ = exc
    return error


#: Client flags every pooled connection uses: affected-row counts are rows *matched*
#: (as on PostgreSQL and SQLite), so ``update()`` of an unchanged row still counts it.
CLIENT_FLAGS: Final = CLIENT.FOUND_ROWS
