"""Database URLs: which backend a URL names, and its parts (host, database, options)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["SCHEMES", "DatabaseURL", "parse_url"]

#: URL scheme -> backend name. The backend name selects the module in ``oxyde.backends``.
SCHEMES: Mapping[str, str] = MappingProxyType(
    {
        "postgresql": "postgres",
        "postgres": "postgres",
        "mysql": "mysql",
        "mariadb": "mysql",
        "sqlite": "sqlite",
    }
)

MEMORY = ":memory:"


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL.

    For SQLite, ``database`` is the file path as given (relative paths are relative to
    the working directory) or ``":memory:"``; host, port and credentials are unused.
    """

    url: str
    scheme: str
    #: "postgres", "mysql" or "sqlite"
    backend: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    database: str | None = None
    #: query-string options, passed to the driver by the backend
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_memory(self) -> bool:
        return self.backend == "sqlite" and self.database == MEMORY

    def redacted(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return _mask(self.url)

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"DatabaseURL({self.redacted()!r})"


def parse_url(url: str) -> DatabaseURL:
    """Split ``url`` into a ``DatabaseURL``; ``ValueError`` for an unknown scheme or a
    malformed URL."""
    if not isinstance(url, str):
        raise TypeError(f"a database URL must be a string, not {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    if not sep and url.lower().startswith("sqlite::memory:"):
        # The public Oxyde's in-memory form, which has no "//" at all.
        return _parse_sqlite(url, "sqlite", url[len("sqlite:") :])
    backend = SCHEMES.get(scheme.lower()) if sep else None
    if backend is None:
        valid = ", ".join(f"{s}://" for s in SCHEMES)
        shown = f"'{scheme}://'" if sep else "no scheme"
        raise ValueError(
            f"unsupported database URL {_mask(url)!r} ({shown}); valid schemes: {valid}"
        )
    scheme = scheme.lower()
    if backend == "sqlite":
        return _parse_sqlite(url, scheme, rest)
    return _parse_server(url, scheme, backend)


def _parse_sqlite(url: str, scheme: str, rest: str) -> DatabaseURL:
    # The public Oxyde's rule (its driver's): everything after ``sqlite://`` is the path,
    # so ``sqlite://app.db`` is relative and ``sqlite:///abs/app.db`` absolute (a generic
    # URL parser would read ``app.db`` as a host). ``/:memory:`` is taken as in-memory
    # too rather than as a file at the root of the filesystem.
    path, _, query = rest.partition("?")
    path = unquote(path)
    if path in (MEMORY, "/" + MEMORY):
        path = MEMORY
    elif path.startswith("//"):
        # ``sqlite:////abs/app.db`` (four slashes) is the same absolute path.
        path = "/" + path.lstrip("/")
    if not path:
        raise ValueError(
            f"SQLite URL {url!r} names no file; use sqlite://relative/path.db, "
            "sqlite:///absolute/path.db or sqlite::memory:"
        )
    return DatabaseURL(
        url=url, scheme=scheme, backend="sqlite", database=path, options=_options(url, query)
    )


def _parse_server(url: str, scheme: str, backend: str) -> DatabaseURL:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid port in database URL {_mask(url)!r}") from exc
    database = unquote(parts.path[1:]) if parts.path.startswith("/") else None
    return DatabaseURL(
        url=url,
        scheme=scheme,
        backend=backend,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        database=database or None,
        options=_options(url, parts.query),
    )


def _options(url: str, query: str) -> Mapping[str, str]:
    if not query:
        return MappingProxyType({})
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise ValueError(f"malformed query string in database URL {_mask(url)!r}") from exc
    return MappingProxyType(dict(pairs))


def _mask(url: str) -> str:
    # Used before a URL is known to be well formed: hide anything between ':' and '@'.
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{hostpart}" if ":" in userinfo else url
