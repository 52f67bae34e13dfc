"""The MySQL / MariaDB backend on mysqlclient (the optional extra ``oxyde-cy[mysql]``).

``MySQLBackend`` is what ``AsyncDatabase`` opens for ``mysql://`` and ``mariadb://``
URLs; ``MySQLConnection`` is one borrowed connection.
"""

from __future__ import annotations

from oxyde.backends.mysql.connection import MySQLConnection
from oxyde.backends.mysql.pool import MySQLBackend

__all__ = ["MySQLBackend", "MySQLConnection"]
