"""What the MySQL / MariaDB backend can do (``oxyde.backends.capabilities``); the
server's version decides RETURNING and the row-lock options, so the backend replaces
``CAPABILITIES`` with ``server_capabilities`` once it has met the server."""

from __future__ import annotations

from typing import Final

from oxyde.backends.capabilities import Capabilities, declare
from oxyde.backends.mysql.dialect import parse_server
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.dialects.mysql import MYSQL

#: (flavor, first version) for SKIP LOCKED and NOWAIT
_SKIP_LOCKED: Final = {"mariadb": (10, 6, 0), "mysql": (8, 0, 1)}
_NOWAIT: Final = {"mariadb": (10, 3, 0), "mysql": (8, 0, 1)}


def server_capabilities(dialect: Dialect, info: str) -> Capabilities:
    """The record for a server (``info``: its version string) spoken to in ``dialect``."""
    flavor, version = parse_server(info)
    return declare(
        dialect,
        # no COPY protocol; bulk writes are multi-row INSERTs in one transaction
        copy=False,
        # a lone statement runs on an idle connection without a lease
        runs_statements=True,
        # the client library sends one statement per round trip
        pipeline=False,
        savepoints=True,
        # each DDL statement commits implicitly
        transactional_ddl=False,
        # stream() reads an unbuffered result: nothing else runs on the connection
        # until it has been read or discarded
        server_side_cursor=False,
        skip_locked=version >= _SKIP_LOCKED[flavor],
        nowait=version >= _NOWAIT[flavor],
        # InnoDB writes from many connections at once
        single_writer=False,
        # FOREIGN_KEY_CHECKS is not switched by oxyde; drops follow dependency order
        foreign_key_suspension=False,
    )


#: before the server is known: the oldest supported MariaDB's
CAPABILITIES: Final[Capabilities] = server_capabilities(MYSQL, "10.6.0-MariaDB")
