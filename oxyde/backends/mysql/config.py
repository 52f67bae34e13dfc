"""What a ``mysql://`` URL and ``PoolSettings`` say, as ``MySQLdb.connect`` arguments."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from oxyde.backends.mysql.convert import CONVERSIONS
from oxyde.backends.mysql.session import CLIENT_FLAGS

if TYPE_CHECKING:
    from oxyde.backends.settings import PoolSettings
    from oxyde.backends.url import DatabaseURL

SCHEMES: Final = frozenset({"mysql", "mariadb"})

#: Session settings every connection starts with: strict, so a value that does not fit
#: raises instead of being truncated; UTC, so server-side timestamps (``NOW()``,
#: ``CURRENT_TIMESTAMP`` defaults) follow the rule that stored instants are UTC.
DEFAULT_SQL_MODE: Final = (
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)
_SQL_MODE = re.compile(r"^[A-Za-z_,]*$")
_IDENT = re.compile(r"^[A-Za-z0-9_]+$")

_SSL_MODES: Final[dict[str, str]] = {
    "disable": "DISABLED",
    "disabled": "DISABLED",
    "allow": "PREFERRED",
    "prefer": "PREFERRED",
    "preferred": "PREFERRED",
    "require": "REQUIRED",
    "required": "REQUIRED",
    "verify-ca": "VERIFY_CA",
    "verify_ca": "VERIFY_CA",
    "verify-full": "VERIFY_IDENTITY",
    "verify-identity": "VERIFY_IDENTITY",
    "verify_identity": "VERIFY_IDENTITY",
}

#: URL query options passed to the driver, with the type each one takes.
_INT_OPTIONS: Final = frozenset({"connect_timeout", "read_timeout", "write_timeout", "client_flag"})
_BOOL_OPTIONS: Final = frozenset({"compress", "local_infile"})
_STR_OPTIONS: Final = frozenset(
    {
        "unix_socket",
        "auth_plugin",
        "read_default_file",
        "read_default_group",
        "server_public_key_path",
        "local_infile_dir",
        "named_pipe",
    }
)
#: URL options oxyde interprets itself.
_OWN_OPTIONS: Final = frozenset(
    {"charset", "collation", "ssl_mode", "ssl_ca", "ssl_cert", "ssl_key"}
    | {"sql_mode", "init_command"}
)


def seconds(value: float | timedelta | None) -> float | None:
    """A duration from ``PoolSettings`` in seconds (None or a non-positive value: off)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    value = float(value)
    return value if value > 0 else None


@dataclass(frozen=True)
class ConnectConfig:
    #: keyword arguments of ``MySQLdb.connect``
    params: dict[str, Any]
    #: statements run right after connecting (a user ``init_command``)
    init_sql: tuple[str, ...] = ()
    #: where the server is, for messages (never the password)
    where: str = ""
    #: refuse a connection that is not encrypted (ssl_mode required or stricter)
    require_tls: bool = False


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def connect_config(url: DatabaseURL, settings: PoolSettings) -> ConnectConfig:
    if url.scheme not in SCHEMES:
        raise ValueError(f"not a MySQL URL: {url.scheme}:// (use mysql:// or mariadb://)")
    params: dict[str, Any] = {
        "host": url.host or "localhost",
        "autocommit": True,
        "binary_prefix": True,  # bytes reach LONGBLOB columns untouched by the charset
        "multi_statements": False,  # one statement per call: results cannot pile up
        "use_unicode": True,
        "client_flag": CLIENT_FLAGS,
        "conv": CONVERSIONS,
    }
    if url.username:
        params["user"] = url.username
    if url.password is not None:
        params["password"] = url.password
    if url.port is not None:
        params["port"] = url.port
    database = url.database or ""
    if database:
        params["database"] = database

    options = dict(url.options)
    for key, value in options.items():
        if key in _INT_OPTIONS:
            params[key] = int(value) | (CLIENT_FLAGS if key == "client_flag" else 0)
        elif key in _BOOL_OPTIONS:
            params[key] = _flag(value)
        elif key in _STR_OPTIONS:
            params[key] = value
        elif key not in _OWN_OPTIONS:
            known = sorted(_INT_OPTIONS | _BOOL_OPTIONS | _STR_OPTIONS | _OWN_OPTIONS)
            raise ValueError(f"unknown MySQL URL option {key!r}; known: {', '.join(known)}")

    acquire = seconds(settings.acquire_timeout)
    if "connect_timeout" not in params:
        # The driver's own bound; the pool also gives up after acquire_timeout.
        params["connect_timeout"] = max(1, math.ceil(acquire)) if acquire else 10

    charset = options.get("charset") or settings.mysql_charset or "utf8mb4"
    collation = options.get("collation") or settings.mysql_collation
    for name, ident in (("charset", charset), ("collation", collation)):
        if ident and not _IDENT.match(ident):
            raise ValueError(f"invalid MySQL {name}: {ident!r}")
    params["charset"] = charset
    if collation:
        params["collation"] = collation

    ssl_mode = options.get("ssl_mode") or settings.ssl_mode
    if ssl_mode:
        try:
            params["ssl_mode"] = _SSL_MODES[ssl_mode.lower()]
        except KeyError:
            choices = ", ".join(sorted(_SSL_MODES))
            raise ValueError(f"unknown ssl_mode {ssl_mode!r}; choose one of {choices}") from None
    ssl: dict[str, str] = {}
    for key, path in (
        ("ca", options.get("ssl_ca") or settings.ssl_root_cert),
        ("cert", options.get("ssl_cert") or settings.ssl_client_cert),
        ("key", options.get("ssl_key") or settings.ssl_client_key),
    ):
        if path:
            ssl[key] = str(path)
    if ssl:
        params["ssl"] = ssl

    sql_mode = options.get("sql_mode", DEFAULT_SQL_MODE)
    if not _SQL_MODE.match(sql_mode):
        raise ValueError(f"invalid sql_mode: {sql_mode!r}")
    params["init_command"] = f"SET SESSION sql_mode='{sql_mode}', time_zone='+00:00'"

    init_sql = (options["init_command"],) if options.get("init_command") else ()
    where = f"{params['host']}:{params.get('port', 3306)}/{database}"
    require_tls = params.get("ssl_mode") in ("REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
    return ConnectConfig(params=params, init_sql=init_sql, where=where, require_tls=require_tls)
