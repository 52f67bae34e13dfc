"""Connections and transactions: ``init/close/connect/lifespan``, ``AsyncDatabase``,
``PoolSettings`` (defined in ``oxyde.backends.settings``), read replicas (``Replica``), the
connection registry, ``atomic`` and ``create_tables``.

Layer: above ``oxyde.backends``; it may import the backends and the layers below them
(``sql``, ``meta``, ``_impl``, ``exceptions``), never ``advice``, ``queries`` or ``models``.
"""

from __future__ import annotations

from oxyde.backends.settings import PoolSettings
from oxyde.db import transaction
from oxyde.db.database import AsyncDatabase
from oxyde.db.lifecycle import close, connect, init, lifespan
from oxyde.db.registry import (
    disconnect_all,
    get_connection,
    register_connection,
    unregister_connection,
)
from oxyde.db.replicas import Replica
from oxyde.db.routing import RoutingError
from oxyde.db.schema import create_tables, drop_tables
from oxyde.db.transaction import Transaction as AsyncTransaction
from oxyde.db.transaction import atomic, get_active_transaction, on_commit
from oxyde.exceptions import TransactionTimeoutError

__all__ = [
    "AsyncDatabase",
    "AsyncTransaction",
    "PoolSettings",
    "Replica",
    "RoutingError",
    "TransactionTimeoutError",
    "atomic",
    "close",
    "connect",
    "create_tables",
    "disconnect_all",
    "drop_tables",
    "get_active_transaction",
    "get_connection",
    "init",
    "lifespan",
    "on_commit",
    "register_connection",
    "transaction",
    "unregister_connection",
]
