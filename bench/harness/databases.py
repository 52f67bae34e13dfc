"""The contenders' databases: one per contender and server, with the schema, the seeded
rows, and a fast way back to them after a test that writes.

Every contender gets its own SQLite file or server database (``bench_<contender>``, after
the URL's database name when that is not the server's default), so no
contender ever sees another's data. The seeded rows are loaded once per database into
``users/posts/tags/post_tags`` and copied to ``seed_*`` tables; restoring is then a
server-side ``TRUNCATE`` plus ``INSERT ... SELECT`` that keeps every table's identity, so
cached statements in the contenders' connections stay valid.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from worker import spec
from worker.suite import Target

TABLES = ("users", "posts", "tags", "post_tags")

_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "email VARCHAR(255) NOT NULL UNIQUE, age INTEGER NOT NULL, "
        "is_active INTEGER NOT NULL DEFAULT 1, created_at TEXT DEFAULT CURRENT_TIMESTAMP)",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, "
        "user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
        "title VARCHAR(200) NOT NULL, content TEXT DEFAULT '', views INTEGER DEFAULT 0, "
        "created_at TEXT DEFAULT CURRENT_TIMESTAMP)",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE)",
        "CREATE TABLE post_tags (id INTEGER PRIMARY KEY, "
        "post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE, "
        "tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE)",
        "CREATE INDEX posts_user_id_idx ON posts (user_id)",
        "CREATE INDEX post_tags_post_id_idx ON post_tags (post_id)",
        "CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id)",
    ),
    "postgres": (
        "CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "email VARCHAR(255) NOT NULL UNIQUE, age INTEGER NOT NULL, "
        "is_active BOOLEAN NOT NULL DEFAULT TRUE, created_at TIMESTAMPTZ DEFAULT NOW())",
        "CREATE TABLE posts (id SERIAL PRIMARY KEY, "
        "user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
        "title VARCHAR(200) NOT NULL, content TEXT DEFAULT '', views INTEGER DEFAULT 0, "
        "created_at TIMESTAMPTZ DEFAULT NOW())",
        "CREATE TABLE tags (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE)",
        "CREATE TABLE post_tags (id SERIAL PRIMARY KEY, "
        "post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE, "
        "tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE)",
        "CREATE INDEX posts_user_id_idx ON posts (user_id)",
        "CREATE INDEX post_tags_post_id_idx ON post_tags (post_id)",
        "CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id)",
    ),
    "mysql": (
        "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "email VARCHAR(255) NOT NULL UNIQUE, age INT NOT NULL, "
        "is_active BOOLEAN NOT NULL DEFAULT TRUE, "
        "created_at DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
        "CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, "
        "title VARCHAR(200) NOT NULL, content TEXT, views INT DEFAULT 0, "
        "created_at DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6), "
        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE) ENGINE=InnoDB",
        "CREATE TABLE tags (id INT AUTO_INCREMENT PRIMARY KEY, "
        "name VARCHAR(50) NOT NULL UNIQUE) ENGINE=InnoDB",
        "CREATE TABLE post_tags (id INT AUTO_INCREMENT PRIMARY KEY, post_id INT NOT NULL, "
        "tag_id INT NOT NULL, "
        "FOREIGN KEY (post_id) REFERENCES posts(id) ON DELETE CASCADE, "
        "FOREIGN KEY (tag_id) REFERENCES tags(id) ON DELETE CASCADE) ENGINE=InnoDB",
    ),
}

#: ``items``, read by the ``large`` tests only, so made only when one of them runs. No
#: foreign key: the tests that delete users must not delete items, and the restore
#: truncates ``users`` without touching it.
_LARGE_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TABLE items (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, "
        "value INTEGER NOT NULL, label VARCHAR(20) NOT NULL)",
        "CREATE INDEX items_user_id_idx ON items (user_id)",
    ),
    "postgres": (
        "CREATE TABLE items (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL, "
        "value INTEGER NOT NULL, label VARCHAR(20) NOT NULL)",
        "CREATE INDEX items_user_id_idx ON items (user_id)",
    ),
    "mysql": (
        "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, "
        "value INT NOT NULL, label VARCHAR(20) NOT NULL, INDEX items_user_id_idx (user_id)) "
        "ENGINE=InnoDB",
    ),
}

_COLUMNS = {
    "users": ("id", "name", "email", "age", "is_active", "created_at"),
    "posts": ("id", "user_id", "title", "content", "views", "created_at"),
    "tags": ("id", "name"),
    "post_tags": ("id", "post_id", "tag_id"),
    "items": ("id", "user_id", "value", "label"),
}


def _rows(kind: str) -> dict[str, list[tuple[Any, ...]]]:
    data = spec.dataset()

    def when(value: Any) -> Any:
        # SQLite keeps timestamps as text in CURRENT_TIMESTAMP's own layout; PostgreSQL
        # gets an instant (UTC), MariaDB a naive DATETIME.
        if kind == "sqlite":
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if kind == "postgres":
            from datetime import UTC

            return value.replace(tzinfo=UTC)
        return value

    def flag(value: bool) -> Any:
        return int(value) if kind == "sqlite" else value

    return {
        "users": [
            (u.id, u.name, u.email, u.age, flag(u.is_active), when(u.created_at))
            for u in data.users
        ],
        "posts": [
            (p.id, p.user_id, p.title, p.content, p.views, when(p.created_at)) for p in data.posts
        ],
        "tags": list(data.tags),
        "post_tags": list(data.post_tags),
    }


class Server(Protocol):
    """One database kind: make each contender's database, and restore its seeded rows."""

    kind: str

    def target(self, contender: str, pool_size: int) -> Target: ...

    def create(self, contender: str, *, large: bool = False) -> None:
        """Make the contender's database with the seeded rows (and ``items`` when
        ``large``)."""
        ...

    def restore(self, contender: str) -> None: ...


def _db_name(contender: str, admin_db: str = "") -> str:
    """``bench_<contender>``; prefixed with the database of the given URL when that is not
    the server's own, so runs pointed at different databases of one server (people sharing
    a machine) never drop each other's."""
    name = "bench_" + contender.replace("-", "_")
    if admin_db and admin_db not in ("postgres", "mysql"):
        name = f"{admin_db}_{name}"
    return name


@dataclass
class SQLiteServer:
    """SQLite files under the scratch folder; set up with the standard library's sqlite3."""

    folder: Path
    kind: str = "sqlite"

    def path(self, contender: str) -> Path:
        return self.folder / f"{contender}.sqlite3"

    def target(self, contender: str, pool_size: int) -> Target:
        path = self.path(contender).resolve()
        return Target(
            kind="sqlite", url=f"sqlite:///{path}", database=str(path), pool_size=pool_size
        )

    def _connect(self, contender: str) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path(contender), isolation_level=None, timeout=30)
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def create(self, contender: str, *, large: bool = False) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(contender)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        conn = self._connect(contender)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN")
            for statement in _DDL["sqlite"]:
                conn.execute(statement)
            for table, rows in _rows("sqlite").items():
                conn.executemany(_insert_sql(table, "?"), rows)
            for table in TABLES:
                conn.execute(f"CREATE TABLE seed_{table} AS SELECT * FROM {table}")
            if large:
                for statement in _LARGE_DDL["sqlite"]:
                    conn.execute(statement)
                conn.executemany(_insert_sql("items", "?"), spec.large_items())
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
        finally:
            conn.close()

    def restore(self, contender: str) -> None:
        conn = self._connect(contender)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for table in reversed(TABLES):
                conn.execute(f"DELETE FROM {table}")
            for table in TABLES:
                conn.execute(f"INSERT INTO {table} SELECT * FROM seed_{table}")
            conn.execute("COMMIT")
            # The deletes leave free pages; a checkpoint keeps the WAL from growing all run.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()


def _insert_sql(table: str, mark: str) -> str:
    columns = _COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


@dataclass
class PostgresServer:
    """PostgreSQL databases ``bench_<contender>``; set up with psycopg."""

    admin_url: str
    kind: str = "postgres"

    def _parts(self) -> tuple[str, int, str, str, str]:
        url = urlsplit(self.admin_url)
        return (
            url.hostname or "127.0.0.1",
            url.port or 5432,
            unquote(url.username or "postgres"),
            unquote(url.password or ""),
            url.path.lstrip("/") or "postgres",
        )

    def _name(self, contender: str) -> str:
        return _db_name(contender, self._parts()[4])

    def target(self, contender: str, pool_size: int) -> Target:
        host, port, user, password, _ = self._parts()
        name = self._name(contender)
        auth = user + (f":{password}" if password else "")
        return Target(
            kind="postgres",
            url=f"postgresql://{auth}@{host}:{port}/{name}",
            host=host,
            port=port,
            user=user,
            password=password,
            database=name,
            pool_size=pool_size,
        )

    def _connect(self, database: str) -> Any:
        import psycopg

        host, port, user, password, _ = self._parts()
        return psycopg.connect(
            host=host, port=port, user=user, password=password, dbname=database, autocommit=True
        )

    def create(self, contender: str, *, large: bool = False) -> None:
        name = self._name(contender)
        with self._connect(self._parts()[4]) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        with self._connect(name) as conn:
            for statement in _DDL["postgres"]:
                conn.execute(statement)
            with conn.cursor() as cur:
                for table, rows in _rows("postgres").items():
                    columns = ", ".join(_COLUMNS[table])
                    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            for table in TABLES:
                conn.execute(f"CREATE TABLE seed_{table} AS SELECT * FROM {table}")
                _pg_sync_sequence(conn, table)
            if large:
                for statement in _LARGE_DDL["postgres"]:
                    conn.execute(statement)
                columns = ", ".join(_COLUMNS["items"])
                with conn.cursor() as cur, cur.copy(f"COPY items ({columns}) FROM STDIN") as copy:
                    for row in spec.large_items():
                        copy.write_row(row)
            conn.execute("VACUUM ANALYZE")

    def restore(self, contender: str) -> None:
        with self._connect(self._name(contender)) as conn:
            # A contender holding a lock would otherwise stall the whole run.
            conn.execute("SET lock_timeout = '20s'")
            with conn.transaction():
                conn.execute(f"TRUNCATE {', '.join(TABLES)}")
                for table in TABLES:
                    conn.execute(f"INSERT INTO {table} SELECT * FROM seed_{table}")
                    _pg_sync_sequence(conn, table)
            conn.execute(f"ANALYZE {', '.join(TABLES)}")

    def drop(self, contender: str) -> None:
        with self._connect(self._parts()[4]) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self._name(contender)}" WITH (FORCE)')


def _pg_sync_sequence(conn: Any, table: str) -> None:
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
    )


@dataclass
class MySQLServer:
    """MariaDB / MySQL databases ``bench_<contender>``; set up with mysqlclient."""

    admin_url: str
    kind: str = "mysql"

    def _parts(self) -> tuple[str, int, str, str, str]:
        url = urlsplit(self.admin_url)
        return (
            url.hostname or "127.0.0.1",
            url.port or 3306,
            unquote(url.username or "root"),
            unquote(url.password or ""),
            url.path.lstrip("/") or "mysql",
        )

    def _name(self, contender: str) -> str:
        return _db_name(contender, self._parts()[4])

    def target(self, contender: str, pool_size: int) -> Target:
        host, port, user, password, _ = self._parts()
        name = self._name(contender)
        auth = user + (f":{password}" if password else "")
        return Target(
            kind="mysql",
            url=f"mysql://{auth}@{host}:{port}/{name}",
            host=host,
            port=port,
            user=user,
            password=password,
            database=name,
            pool_size=pool_size,
        )

    def _connect(self, database: str | None) -> Any:
        import MySQLdb

        host, port, user, password, _ = self._parts()
        kwargs: dict[str, Any] = {
            "host": host,
            "port": port,
            "user": user,
            "password": password,
            "charset": "utf8mb4",
            "autocommit": True,
        }
        if database:
            kwargs["database"] = database
        return MySQLdb.connect(**kwargs)

    def _run(self, conn: Any, statements: Iterable[str]) -> None:
        cur = conn.cursor()
        try:
            for statement in statements:
                cur.execute(statement)
        finally:
            cur.close()

    def create(self, contender: str, *, large: bool = False) -> None:
        name = self._name(contender)
        admin = self._connect(None)
        try:
            self._run(
                admin,
                (
                    f"DROP DATABASE IF EXISTS `{name}`",
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                ),
            )
        finally:
            admin.close()
        conn = self._connect(name)
        try:
            self._run(conn, _DDL["mysql"])
            cur = conn.cursor()
            try:
                for table, rows in _rows("mysql").items():
                    # mysqlclient turns this into multi-row INSERTs.
                    for chunk in _chunks(rows, 2000):
                        cur.executemany(_insert_sql(table, "%s"), chunk)
            finally:
                cur.close()
            if large:
                self._run(conn, _LARGE_DDL["mysql"])
                cur = conn.cursor()
                try:
                    for chunk in _chunks(spec.large_items(), 5000):
                        cur.executemany(_insert_sql("items", "%s"), chunk)
                finally:
                    cur.close()
            self._run(conn, (f"CREATE TABLE seed_{t} AS SELECT * FROM {t}" for t in TABLES))
            self._run(conn, (f"ANALYZE TABLE {', '.join(TABLES)}",))
        finally:
            conn.close()

    def restore(self, contender: str) -> None:
        conn = self._connect(self._name(contender))
        try:
            statements = [
                "SET SESSION lock_wait_timeout = 20",
                "SET FOREIGN_KEY_CHECKS = 0",
                *(f"TRUNCATE TABLE {t}" for t in TABLES),
                *(f"INSERT INTO {t} SELECT * FROM seed_{t}" for t in TABLES),
                "SET FOREIGN_KEY_CHECKS = 1",
            ]
            self._run(conn, statements)
        finally:
            conn.close()

    def drop(self, contender: str) -> None:
        admin = self._connect(None)
        try:
            self._run(admin, (f"DROP DATABASE IF EXISTS `{self._name(contender)}`",))
        finally:
            admin.close()


def _chunks(rows: Sequence[tuple[Any, ...]], size: int) -> Iterable[Sequence[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def server(kind: str, *, scratch: Path, postgres_url: str, mysql_url: str) -> Server:
    if kind == "sqlite":
        return SQLiteServer(scratch / "sqlite")
    if kind == "postgres":
        return PostgresServer(postgres_url)
    if kind == "mysql":
        return MySQLServer(mysql_url)
    raise ValueError(f"unknown database {kind!r}; expected one of {', '.join(spec.DATABASES)}")
