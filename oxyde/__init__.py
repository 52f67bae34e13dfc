"""oxyde: an async ORM with a Django-style API on Pydantic v2 models.

PostgreSQL (psycopg 3), SQLite (apsw) and MySQL/MariaDB (mysqlclient); SQL assembly and
row loading are compiled with Cython (``oxyde.__impl__`` says which implementation runs).

The packages form layers, each importing only the ones below it (top first): ``cli``;
``migrations``, ``codegen`` and the integrations (``fastapi``, ``testing``, ``otel``,
``events``); ``models``; ``queries``; ``advice``; ``db``; ``backends``; ``sql``;
``meta``; ``_impl`` and its helpers; ``_speedups``, ``exceptions``. This module gathers
the public names from all of them. ``make lint`` checks the order (``lint-imports``, see
``pyproject.toml``); docs/architecture.md explains it.
"""

from oxyde import db
from oxyde._impl import impl as __impl__
from oxyde._version import __version__
from oxyde.db import (
    AsyncDatabase,
    PoolSettings,
    atomic,
    create_tables,
    disconnect_all,
    drop_tables,
    get_connection,
    register_connection,
)
from oxyde.exceptions import (
    CheckViolationError,
    ConnectionLostError,
    DataError,
    FieldError,
    FieldLookupError,
    FieldLookupValueError,
    ForeignKeyViolationError,
    IntegrityError,
    ManagerError,
    MultipleObjectsReturned,
    NotFoundError,
    NotNullViolationError,
    OperationalError,
    OxydeError,
    ProgrammingError,
    RelationNotLoadedError,
    TransactionTimeoutError,
    UniqueViolationError,
)
from oxyde.models import Check, Field, Index, Model
from oxyde.queries import (
    Avg,
    Coalesce,
    Concat,
    Count,
    F,
    Max,
    Min,
    Q,
    Query,
    QueryManager,
    RawSQL,
    Sum,
    execute_raw,
)

__all__ = [
    "AsyncDatabase",
    "Avg",
    "Check",
    "CheckViolationError",
    "Coalesce",
    "Concat",
    "ConnectionLostError",
    "Count",
    "DataError",
    "F",
    "Field",
    "FieldError",
    "FieldLookupError",
    "FieldLookupValueError",
    "ForeignKeyViolationError",
    "Index",
    "IntegrityError",
    "ManagerError",
    "Max",
    "Min",
    "Model",
    "MultipleObjectsReturned",
    "NotFoundError",
    "NotNullViolationError",
    "OperationalError",
    "OxydeError",
    "PoolSettings",
    "ProgrammingError",
    "Q",
    "Query",
    "QueryManager",
    "RawSQL",
    "RelationNotLoadedError",
    "Sum",
    "TransactionTimeoutError",
    "UniqueViolationError",
    "__impl__",
    "__version__",
    "atomic",
    "create_tables",
    "db",
    "disconnect_all",
    "drop_tables",
    "execute_raw",
    "get_connection",
    "register_connection",
]
