"""``PoolSettings``: pool, timeout and per-backend connection options, validated once."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["Duration", "PoolSettings"]

#: A duration given by a user: seconds, or a ``timedelta``.
Duration = int | float | timedelta

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


@dataclass(frozen=True, init=False)
class PoolSettings:
    """Settings of one database's pool; every duration is stored as float seconds.

    ``None`` disables ``idle_timeout``, ``max_lifetime``, ``transaction_timeout`` and
    ``slow_query_threshold``. Invalid values raise ``ValueError`` naming the field.
    """

    max_connections: int
    min_connections: int
    acquire_timeout: float
    idle_timeout: float | None
    max_lifetime: float | None
    test_before_acquire: bool
    transaction_timeout: float | None
    transaction_cleanup_interval: float
    sqlite_journal_mode: str
    sqlite_synchronous: str
    sqlite_cache_size: int
    #: milliseconds
    sqlite_busy_timeout: int
    ssl_mode: str | None
    ssl_root_cert: str | None
    ssl_client_cert: str | None
    ssl_client_key: str | None
    pg_application_name: str | None
    pg_statement_cache_capacity: int
    #: PostgreSQL server-side prepared statements; False behind PgBouncer in
    #: transaction-pooling mode
    pg_prepare: bool
    #: seconds psycopg's pool keeps retrying a connection that failed to open (with
    #: back-off: 1 s, doubling) before it gives up on that attempt and logs an ERROR
    pg_reconnect_timeout: float
    mysql_charset: str
    mysql_collation: str | None
    #: queries slower than this are logged as a WARNING on ``oxyde.sql.slow``
    slow_query_threshold: float | None

    def __init__(
        self,
        max_connections: int = 10,
        min_connections: int = 1,
        acquire_timeout: Duration = 30,
        idle_timeout: Duration | None = 600,
        max_lifetime: Duration | None = 1800,
        test_before_acquire: bool = False,
        transaction_timeout: Duration | None = 300,
        transaction_cleanup_interval: Duration = 60,
        sqlite_journal_mode: str = "WAL",
        sqlite_synchronous: str | int = "NORMAL",
        sqlite_cache_size: int = 10000,
        sqlite_busy_timeout: int | timedelta = 5000,
        ssl_mode: str | None = None,
        ssl_root_cert: str | os.PathLike[str] | None = None,
        ssl_client_cert: str | os.PathLike[str] | None = None,
        ssl_client_key: str | os.PathLike[str] | None = None,
        pg_application_name: str | None = None,
        pg_statement_cache_capacity: int = 100,
        mysql_charset: str = "utf8mb4",
        mysql_collation: str | None = None,
        # Fields beyond the public Oxyde's come after its own (positional order).
        pg_prepare: bool = True,
        slow_query_threshold: Duration | None = None,
        pg_reconnect_timeout: Duration = 300,
    ) -> None:
        max_connections = _int("max_connections", max_connections, minimum=1)
        min_connections = _int("min_connections", min_connections, minimum=0)
        if min_connections > max_connections:
            raise ValueError(
                f"min_connections ({min_connections}) must not exceed "
                f"max_connections ({max_connections})"
            )
        values: dict[str, Any] = {
            "max_connections": max_connections,
            "min_connections": min_connections,
            "acquire_timeout": _seconds("acquire_timeout", acquire_timeout, positive=True),
            "idle_timeout": _opt_seconds("idle_timeout", idle_timeout, positive=True),
            "max_lifetime": _opt_seconds("max_lifetime", max_lifetime, positive=True),
            "test_before_acquire": _bool("test_before_acquire", test_before_acquire),
            "transaction_timeout": _opt_seconds(
                "transaction_timeout", transaction_timeout, positive=True
            ),
            "transaction_cleanup_interval": _seconds(
                "transaction_cleanup_interval", transaction_cleanup_interval, positive=True
            ),
            "sqlite_journal_mode": _choice(
                "sqlite_journal_mode", sqlite_journal_mode, _JOURNAL_MODES
            ),
            "sqlite_synchronous": _synchronous(sqlite_synchronous),
            "sqlite_cache_size": _int("sqlite_cache_size", sqlite_cache_size),
            "sqlite_busy_timeout": _busy_timeout(sqlite_busy_timeout),
            "ssl_mode": _ssl_mode(ssl_mode),
            "ssl_root_cert": _path("ssl_root_cert", ssl_root_cert),
            "ssl_client_cert": _path("ssl_client_cert", ssl_client_cert),
            "ssl_client_key": _path("ssl_client_key", ssl_client_key),
            "pg_application_name": _opt_str("pg_application_name", pg_application_name),
            "pg_statement_cache_capacity": _int(
                "pg_statement_cache_capacity", pg_statement_cache_capacity, minimum=0
            ),
            "pg_prepare": _bool("pg_prepare", pg_prepare),
            "pg_reconnect_timeout": _seconds(
                "pg_reconnect_timeout", pg_reconnect_timeout, positive=True
            ),
            "mysql_charset": _str("mysql_charset", mysql_charset),
            "mysql_collation": _opt_str("mysql_collation", mysql_collation),
            "slow_query_threshold": _opt_seconds(
                "slow_query_threshold", slow_query_threshold, positive=False
            ),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)


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


def _synchronous(value: object) -> str:
    # SQLite also accepts the numeric levels 0-3.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(_SYNCHRONOUS):
        return _SYNCHRONOUS[value]
    return _choice("sqlite_synchronous", value, _SYNCHRONOUS)


def _busy_timeout(value: object) -> int:
    if isinstance(value, timedelta):
        value = round(value.total_seconds() * 1000)
    return _int("sqlite_busy_timeout", value, minimum=0)


def _ssl_mode(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _SSL_MODES:
        return value.lower()
    raise ValueError(f"PoolSettings.ssl_mode must be one of {', '.join(_SSL_MODES)}; got {value!r}")


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
