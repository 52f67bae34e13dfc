"""MySQL / MariaDB error numbers mapped onto ``oxyde.exceptions``."""

from __future__ import annotations

from typing import Final

import MySQLdb

from oxyde.exceptions import (
    CheckViolationError,
    ConnectionLostError,
    DataError,
    ForeignKeyViolationError,
    NotNullViolationError,
    OperationalError,
    OxydeError,
    UniqueViolationError,
)

_BY_ERRNO: Final[dict[int, type[OxydeError]]] = {
    1022: UniqueViolationError,  # ER_DUP_KEY
    1062: UniqueViolationError,  # ER_DUP_ENTRY
    1586: UniqueViolationError,  # ER_DUP_ENTRY_WITH_KEY_NAME
    1216: ForeignKeyViolationError,  # ER_NO_REFERENCED_ROW
    1217: ForeignKeyViolationError,  # ER_ROW_IS_REFERENCED
    1451: ForeignKeyViolationError,  # ER_ROW_IS_REFERENCED_2
    1452: ForeignKeyViolationError,  # ER_NO_REFERENCED_ROW_2
    1048: NotNullViolationError,  # ER_BAD_NULL_ERROR
    1364: NotNullViolationError,  # ER_NO_DEFAULT_FOR_FIELD
    3819: CheckViolationError,  # MySQL ER_CHECK_CONSTRAINT_VIOLATED
    4025: CheckViolationError,  # MariaDB ER_CONSTRAINT_FAILED
    1264: DataError,  # ER_WARN_DATA_OUT_OF_RANGE
    1690: DataError,  # ER_DATA_OUT_OF_RANGE (arithmetic overflow)
    1366: DataError,  # ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    1406: DataError,  # ER_DATA_TOO_LONG
    1265: DataError,  # WARN_DATA_TRUNCATED
    1292: DataError,  # ER_TRUNCATED_WRONG_VALUE
    1365: DataError,  # ER_DIVISION_BY_ZERO
}

#: Errors after which the session is gone or its protocol state is unknown: the
#: connection must be closed, never reused. Client errors (2000-2999) all qualify.
_FATAL: Final[frozenset[int]] = frozenset(
    {
        1053,  # ER_SERVER_SHUTDOWN
        1152,  # ER_ABORTING_CONNECTION
        1153,  # ER_NET_PACKET_TOO_LARGE
        1154,  # ER_NET_READ_ERROR_FROM_PIPE
        1156,  # ER_NET_PACKETS_OUT_OF_ORDER
        1157,  # ER_NET_UNCOMPRESS_ERROR
        1158,  # ER_NET_READ_ERROR
        1159,  # ER_NET_READ_INTERRUPTED
        1160,  # ER_NET_ERROR_ON_WRITE
        1161,  # ER_NET_WRITE_INTERRUPTED
        1927,  # MariaDB ER_CONNECTION_KILLED
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT
    }
)

#: Errors that say the session itself is gone (killed, server shut down, network):
#: ``ConnectionLostError``. The other fatal ones leave a live but unusable protocol.
_LOST: Final[frozenset[int]] = frozenset(
    {
        1053,  # ER_SERVER_SHUTDOWN
        1152,  # ER_ABORTING_CONNECTION
        1154,  # ER_NET_READ_ERROR_FROM_PIPE
        1158,  # ER_NET_READ_ERROR
        1159,  # ER_NET_READ_INTERRUPTED
        1160,  # ER_NET_ERROR_ON_WRITE
        1161,  # ER_NET_WRITE_INTERRUPTED
        1927,  # MariaDB ER_CONNECTION_KILLED
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT
        2006,  # CR_SERVER_GONE_ERROR
        2013,  # CR_SERVER_LOST
        2055,  # CR_SERVER_LOST_EXTENDED
    }
)

#: Client error numbers: CR_MIN_ERROR .. CR_MAX_ERROR.
_CLIENT_ERRORS = range(2000, 3000)


def errno_of(exc: BaseException) -> int | None:
    """The server or client error number a driver exception carries, if any."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def is_fatal(errno: int | None) -> bool:
    """Whether a connection that raised ``errno`` must be discarded."""
    return errno is not None and (errno in _FATAL or errno in _CLIENT_ERRORS)


def is_lost(exc: MySQLdb.Error) -> bool:
    """Whether the driver error says the connection died (``ConnectionLostError``).
    mysqlclient raises ``InterfaceError`` for a call on a connection it has closed."""
    return isinstance(exc, MySQLdb.InterfaceError) or errno_of(exc) in _LOST


def map_error(exc: MySQLdb.Error) -> OxydeError:
    """The typed oxyde error for a driver error; ``code`` keeps the errno.

    A lost connection is a ``ConnectionLostError``; anything else that is not about
    the data (syntax, unknown table, deadlock, lock wait timeout, interrupted
    statement) is an ``OperationalError``.
    """
    errno = errno_of(exc)
    args = exc.args
    message = str(args[1]) if len(args) > 1 else str(exc)
    cls: type[OxydeError]
    if is_lost(exc):
        cls = ConnectionLostError
    else:
        cls = _BY_ERRNO.get(errno, OperationalError) if errno is not None else OperationalError
    if errno is not None:
        message = f"({errno}) {message}"
    error = cls(message, code=errno)
    error.__cause__ = exc
    return error
