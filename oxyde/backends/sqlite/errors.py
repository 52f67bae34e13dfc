"""apsw exceptions -> ``oxyde.exceptions``, keyed by SQLite's extended result codes."""

from __future__ import annotations

import apsw

from oxyde.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityError,
    NotNullViolationError,
    OperationalError,
    OxydeError,
    ProgrammingError,
    UniqueViolationError,
)

__all__ = ["map_error"]

_CONSTRAINTS: dict[int, type[IntegrityError]] = {
    apsw.SQLITE_CONSTRAINT_UNIQUE: UniqueViolationError,
    apsw.SQLITE_CONSTRAINT_PRIMARYKEY: UniqueViolationError,
    apsw.SQLITE_CONSTRAINT_FOREIGNKEY: ForeignKeyViolationError,
    apsw.SQLITE_CONSTRAINT_NOTNULL: NotNullViolationError,
    apsw.SQLITE_CONSTRAINT_CHECK: CheckViolationError,
}

# Primary result codes that say the statement itself is wrong; every other primary code
# is about the database, the file or the connection (busy, locked, interrupted, I/O,
# cannot open, full, corrupt, read-only...) and becomes an OperationalError.
_PROGRAMMING = frozenset(
    {
        apsw.SQLITE_ERROR,
        apsw.SQLITE_MISMATCH,
        apsw.SQLITE_RANGE,
        apsw.SQLITE_TOOBIG,
        apsw.SQLITE_MISUSE,
        apsw.SQLITE_AUTH,
    }
)

# apsw's own errors carry no result code.
_APSW_PROGRAMMING = (
    apsw.BindingsError,
    apsw.ExecutionCompleteError,
    apsw.IncompleteExecutionError,
    apsw.ExecTraceAbort,
)


def map_error(exc: apsw.Error) -> OxydeError:
    """The oxyde exception for an apsw error, with ``code`` set to the extended result
    code and ``__cause__`` to the apsw exception."""
    code: int | None = getattr(exc, "extendedresult", None)
    message = str(exc)
    mapped: OxydeError
    if code is None:
        kind: type[OxydeError] = (
            ProgrammingError if isinstance(exc, _APSW_PROGRAMMING) else OperationalError
        )
        mapped = kind(message)
    else:
        primary = code & 0xFF
        if primary == apsw.SQLITE_CONSTRAINT:
            mapped = _CONSTRAINTS.get(code, IntegrityError)(message, code=code)
        elif primary in _PROGRAMMING:
            mapped = ProgrammingError(message, code=code)
        else:
            mapped = OperationalError(message, code=code)
    mapped.__cause__ = exc
    return mapped
