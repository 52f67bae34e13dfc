"""``PoolSettings``: pool, timeout and per-backend connection options, validated once."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar, overload

__all__ = ["Duration", "PoolSettings"]

#: A duration given by a user: seconds, or a ``timedelta``.
Duration = int | float | timedelta
_Path = str | os.PathLike[str]

_JOURNAL_MODES = ("DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF")
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
# PostgreSQL (libpq sslmode) and MySQL (ssl-mode) spellings; each backend maps the
# one it understands and rejects the other's at connect.
_SSL_MODES = (
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
    "disabled",
    "preferred",
    "required",
    "verify_ca",
    "verify_identity",
    "verify-identity",
)


def _int(name: str, value: object, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"PoolSettings.{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"PoolSettings.{name} must be >= {minimum}, got {value}")
    return value


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"PoolSettings.{name} must be True or False, got {value!r}")
    return value


def _seconds(name: str, value: object, *, positive: bool) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ValueError(
            f"PoolSettings.{name} must be a number of seconds or a timedelta, got {value!r}"
        )
    if math.isnan(seconds) or seconds < 0 or (positive and seconds == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"PoolSettings.{name} must be {bound} seconds, got {value!r}")
    return seconds


def _opt_seconds(name: str, value: object, *, positive: bool) -> float | None:
    return None if value is None else _seconds(name, value, positive=positive)


def _choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value.upper() in choices:
        return value.upper()
    raise ValueError(f"PoolSettings.{name} must be one of {', '.join(choices)}; got {value!r}")


def _journal_mode(name: str, value: object) -> str:
    return _choice(name, value, _JOURNAL_MODES)


def _synchronous(name: str, value: object) -> str:
    # SQLite also accepts the numeric levels 0-3.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(_SYNCHRONOUS):
        return _SYNCHRONOUS[value]
    return _choice(name, value, _SYNCHRONOUS)


def _busy_timeout(name: str, value: object) -> int:
    if isinstance(value, timedelta):
        value = round(value.total_seconds() * 1000)
    return _int(name, value, minimum=0)


def _ssl_mode(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _SSL_MODES:
        return value.lower()
    raise ValueError(f"PoolSettings.{name} must be one of {', '.join(_SSL_MODES)}; got {value!r}")


def _path(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise ValueError(f"PoolSettings.{name} must be a file path, got {value!r}")


def _str(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"PoolSettings.{name} must be a non-empty string, got {value!r}")
    return value


def _opt_str(name: str, value: object) -> str | None:
    return None if value is None else _str(name, value)


In = TypeVar("In")
Out = TypeVar("Out")


class _Setting(Generic[In, Out]):
    """One validated field of ``PoolSettings``: a dataclass field whose descriptor checks
    and normalises the value given (type ``In``) into the value kept (type ``Out``), with
    an error naming the field. Type checkers read ``In`` as the ``__init__`` parameter
    and ``Out`` as the attribute."""

    __slots__ = ("check", "default", "name")

    def __init__(self, default: In, check: Callable[[str, Any], Out]) -> None:
        self.default = default
        self.check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: Any) -> In: ...
    @overload
    def __get__(self, obj: object, owner: Any) -> Out: ...
    def __get__(self, obj: object | None, owner: Any) -> Any:
        if obj is None:  # the dataclass machinery asks the class for the default
            return self.default
        return obj.__dict__[self.name]

    def __set__(self, obj: object, value: In) -> None:
        # reached through object.__setattr__ in the generated __init__ (and replace());
        # the frozen dataclass refuses any later assignment before it gets here
        obj.__dict__[self.name] = self.check(self.name, value)


def _at_least(minimum: int) -> Callable[[str, Any], int]:
    return functools.partial(_int, minimum=minimum)


def _duration(*, positive: bool = True) -> Callable[[str, Any], float]:
    return functools.partial(_seconds, positive=positive)


def _opt_duration(*, positive: bool = True) -> Callable[[str, Any], float | None]:
    return functools.partial(_opt_seconds, positive=positive)


@dataclass(frozen=True)
class PoolSettings:
    """Settings of one database's pool; every duration is stored as float seconds.

    ``None`` disables ``idle_timeout``, ``max_lifetime``, ``transaction_timeout`` and
    ``slow_query_threshold``. Invalid values raise ``ValueError`` naming the field.
    Fields are positional in this order (the public Oxyde's first, oxyde's own after).
    """

    max_connections: _Setting[int, int] = _Setting(10, _at_least(1))
    min_connections: _Setting[int, int] = _Setting(1, _at_least(0))
    acquire_timeout: _Setting[Duration, float] = _Setting(30, _duration())
    idle_timeout: _Setting[Duration | None, float | None] = _Setting(600, _opt_duration())
    max_lifetime: _Setting[Duration | None, float | None] = _Setting(1800, _opt_duration())
    test_before_acquire: _Setting[bool, bool] = _Setting(False, _bool)
    transaction_timeout: _Setting[Duration | None, float | None] = _Setting(300, _opt_duration())
    transaction_cleanup_interval: _Setting[Duration, float] = _Setting(60, _duration())
    sqlite_journal_mode: _Setting[str, str] = _Setting("WAL", _journal_mode)
    sqlite_synchronous: _Setting[str | int, str] = _Setting("NORMAL", _synchronous)
    sqlite_cache_size: _Setting[int, int] = _Setting(10000, _int)
    #: milliseconds
    sqlite_busy_timeout: _Setting[int | timedelta, int] = _Setting(5000, _busy_timeout)
    ssl_mode: _Setting[str | None, str | None] = _Setting(None, _ssl_mode)
    ssl_root_cert: _Setting[_Path | None, str | None] = _Setting(None, _path)
    ssl_client_cert: _Setting[_Path | None, str | None] = _Setting(None, _path)
    ssl_client_key: _Setting[_Path | None, str | None] = _Setting(None, _path)
    pg_application_name: _Setting[str | None, str | None] = _Setting(None, _opt_str)
    pg_statement_cache_capacity: _Setting[int, int] = _Setting(100, _at_least(0))
    mysql_charset: _Setting[str, str] = _Setting("utf8mb4", _str)
    mysql_collation: _Setting[str | None, str | None] = _Setting(None, _opt_str)
    #: PostgreSQL server-side prepared statements; False behind PgBouncer in
    #: transaction-pooling mode
    pg_prepare: _Setting[bool, bool] = _Setting(True, _bool)
    #: queries slower than this are logged as a WARNING on ``oxyde.sql.slow``
    slow_query_threshold: _Setting[Duration | None, float | None] = _Setting(
        None, _opt_duration(positive=False)
    )
    #: seconds psycopg's pool keeps retrying a connection that failed to open (with
    #: back-off: 1 s, doubling) before it gives up on that attempt and logs an ERROR
    pg_reconnect_timeout: _Setting[Duration, float] = _Setting(300, _duration())

    def __post_init__(self) -> None:
        if self.min_connections > self.max_connections:
            raise ValueError(
                f"PoolSettings.min_connections ({self.min_connections}) must not exceed "
                f"max_connections ({self.max_connections})"
            )
