"""PostgreSQL errors onto ``oxyde.exceptions``: SQLSTATE picks the class, ``code`` keeps it."""

from __future__ import annotations

import psycopg

from oxyde.exceptions import (
    CheckViolationError,
    ConnectionLostError,
    DataError,
    ForeignKeyViolationError,
    IntegrityError,
    NotNullViolationError,
    OperationalError,
    OxydeError,
    UniqueViolationError,
)

__all__ = ["map_error", "pool_timeout_error"]

#: SQLSTATEs that end the session: the connection is dead once they arrive. Class 08
#: (connection exception) too, except the two a connect attempt raises.
_LOST: frozenset[str] = frozenset(
    {
        "57P01",  # admin_shutdown: pg_terminate_backend(), a fast shutdown
        "57P02",  # crash_shutdown
        "57P05",  # idle_session_timeout
        "25P03",  # idle_in_transaction_session_timeout
    }
)
_CONNECT_ONLY: frozenset[str] = frozenset({"08001", "08004"})

_INTEGRITY: dict[str, type[IntegrityError]] = {
    "23505": UniqueViolationError,
    "23503": ForeignKeyViolationError,
    "23502": NotNullViolationError,
    "23514": CheckViolationError,
}


def map_error(exc: psycopg.Error) -> OxydeError:
    """The oxyde exception for a psycopg error; raise it ``from exc``.

    Class 23 (integrity constraint violation) maps onto ``IntegrityError`` and its four
    subclasses, class 22 (data exception) onto ``DataError``. A session that died
    (class 08 after connecting, a terminated or crashed backend, an idle-session
    timeout, or a libpq failure without SQLSTATE) is a ``ConnectionLostError``. Every
    other error, whether the statement was refused (syntax, unknown table) or the
    connection failed otherwise (cancel 57014, serialization 40001, deadlock 40P01), is an
    ``OperationalError``: none of them is about the constraints of the data, and the
    SQLSTATE in ``code`` tells them apart.
    """
    state = exc.sqlstate
    message = _message(exc)
    if state is not None and state.startswith("23"):
        return _INTEGRITY.get(state, IntegrityError)(message, code=state)
    if state is not None and state.startswith("22"):
        # class 22, data exception: out of range, bad value, division by zero...
        return DataError(message, code=state)
    if state is None and isinstance(exc, psycopg.InterfaceError | psycopg.OperationalError):
        # libpq-level failures (connection closed or lost) carry no SQLSTATE; give
        # them class 08's generic code so callers can test one field.
        return ConnectionLostError(message, code="08000")
    if state is not None and (
        state in _LOST or (state.startswith("08") and state not in _CONNECT_ONLY)
    ):
        return ConnectionLostError(message, code=state)
    return OperationalError(message, code=state)


def pool_timeout_error(where: str, seconds: float, reason: str | None) -> OperationalError:
    """No connection within ``acquire_timeout``: say where, for how long, and why if
    a connect attempt told us (``reason``)."""
    message = f"could not get a connection to PostgreSQL at {where} within {seconds:g}s"
    if reason:
        message += f": {reason}"
    return OperationalError(message, code="08001")


def _message(exc: psycopg.Error) -> str:
    diag = exc.diag
    parts = [str(exc).strip() or type(exc).__name__]
    # The server's DETAIL names the offending key; psycopg leaves it out of str().
    if diag.message_detail and diag.message_detail not in parts[0]:
        parts.append(f"DETAIL: {diag.message_detail}")
    where = [
        f"{label} {value}"
        for label, value in (
            ("table", diag.table_name),
            ("column", diag.column_name),
            ("constraint", diag.constraint_name),
        )
        if value
    ]
    if where:
        parts.append("(" + ", ".join(where) + ")")
    return "\n".join(parts)
