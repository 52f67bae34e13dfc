"""PostgreSQL errors onto ``oxyde.exceptions``: SQLSTATE picks the class, ``code`` keeps it."""

from __future__ import annotations

import psycopg

from oxyde.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityError,
    NotNullViolationError,
    OperationalError,
    OxydeError,
    UniqueViolationError,
)

__all__ = ["map_error", "pool_timeout_error"]

_INTEGRITY: dict[str, type[IntegrityError]] = {
    "23505": UniqueViolationError,
    "23503": ForeignKeyViolationError,
    "23502": NotNullViolationError,
    "23514": CheckViolationError,
}


def map_error(exc: psycopg.Error) -> OxydeError:
    """The oxyde exception for a psycopg error; raise it ``from exc``.

    Class 23 (integrity constraint violation) maps onto ``IntegrityError`` and its four
    subclasses. Every other error, whether the statement was refused (syntax, unknown
    table, bad value) or the connection failed (class 08, cancel 57014, terminated
    57P01, serialization 40001, deadlock 40P01, or no SQLSTATE at all), is an
    ``OperationalError``: none of them is about the constraints of the data, and the
    SQLSTATE in ``code`` tells them apart.
    """
    state = exc.sqlstate
    message = _message(exc)
    if state is not None and state.startswith("23"):
        return _INTEGRITY.get(state, IntegrityError)(message, code=state)
    if state is None and isinstance(exc, psycopg.InterfaceError | psycopg.OperationalError):
        # libpq-level failures (connection closed or lost) carry no SQLSTATE; give
        # them class 08's generic code so callers can test one field.
        return OperationalError(message, code="08000")
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
