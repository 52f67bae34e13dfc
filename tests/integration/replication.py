"""Throwaway replicated pairs (a primary and one streaming replica) for the replica tests.

The machine's own servers allow no replication connections and keep no binary log, so
each pair is made from scratch in a temporary directory, on free 127.0.0.1 ports:

- PostgreSQL: ``initdb`` + ``pg_basebackup -R`` and two ``postgres`` processes, run as
  the ``postgres`` OS user when started as root (binaries from ``pg_config --bindir``,
  else ``/usr/lib/postgresql/<version>/bin``);
- MariaDB: two ``mariadbd`` with their own datadirs (``mariadb-install-db``), the binary
  log on the primary and ``CHANGE MASTER TO`` on the replica.

``Pair.stop_replica()`` kills the replica (an immediate shutdown: sessions die at once),
``Pair.start_replica()`` brings it back, ``Pair.delay_replica(seconds)`` makes it apply
changes that much later (``recovery_min_apply_delay`` / ``MASTER_DELAY``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MariaDBPair", "PostgresPair", "mariadb_pair", "missing_tools", "postgres_pair"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port} within {timeout}s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _pg_bindir() -> Path | None:
    config = shutil.which("pg_config")
    if config is not None:
        out = subprocess.run([config, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "postgres").exists() and (path / "pg_basebackup").exists():
            return path
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    return Path(found[0]).parent if found else None


def _mariadb_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and os.access(f"/usr/sbin/{name}", os.X_OK):
        found = f"/usr/sbin/{name}"
    return found


def missing_tools(kind: str) -> str | None:
    """Why a pair of ``kind`` ("postgres", "mysql") cannot be made here, or ``None``."""
    if kind == "postgres":
        bindir = _pg_bindir()
        if bindir is None:
            return "PostgreSQL server binaries (postgres, initdb, pg_basebackup) not found"
        if os.geteuid() == 0 and not _has_user("postgres"):
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
        return None
    for tool in ("mariadbd", "mariadb-install-db", "mariadb"):
        if _mariadb_tool(tool) is None:
            return f"{tool} not found (apt-get install mariadb-server mariadb-client)"
    if os.geteuid() == 0 and not _has_user("mysql"):
        return "running as root and there is no 'mysql' user to run MariaDB as"
    return None


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# -- PostgreSQL ----------------------------------------------------------------------------


class PostgresPair:
    """A PostgreSQL primary and its hot-standby replica."""

    def __init__(self, root: Path) -> None:
        bindir = _pg_bindir()
        assert bindir is not None
        self.bin = bindir
        self.root = root
        self.primary_dir = root / "primary"
        self.replica_dir = root / "replica"
        self.primary_port = _free_port()
        self.replica_port = _free_port()
        self.primary: subprocess.Popen[bytes] | None = None
        self.replica: subprocess.Popen[bytes] | None = None
        self._user = "postgres" if os.geteuid() == 0 else None

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            args, capture_output=True, text=True, check=False, user=self._user, group=self._user
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def _start(self, datadir: Path, port: int) -> subprocess.Popen[bytes]:
        log = datadir.parent / f"{datadir.name}.log"
        cmd = [
            str(self.bin / "postgres"),
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-k",
            str(self.root),
            "-c",
            "listen_addresses=127.0.0.1",
        ]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, user=self._user, group=self._user
            )
        _wait_port(port, proc, log)
        return proc

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            shutil.chown(self.root, self._user, self._user)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.primary_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        settings = (
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n"
            "synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 16MB\n"
            "max_connections = 60\nwal_receiver_status_interval = 1s\n"
            "hot_standby_feedback = on\n"
        )
        with (self.primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        self.primary = self._start(self.primary_dir, self.primary_port)
        self._run(
            str(self.bin / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(self.replica_dir),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        self.start_replica()

    def start_replica(self) -> None:
        self.replica = self._start(self.replica_dir, self.replica_port)

    def stop_replica(self) -> None:
        """An immediate shutdown: every session of the replica dies now."""
        _stop(self.replica, signal.SIGQUIT)
        self.replica = None

    def delay_replica(self, seconds: float) -> None:
        with (self.replica_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"recovery_min_apply_delay = '{int(seconds * 1000)}ms'\n")
        assert self.replica is not None
        self.replica.send_signal(signal.SIGHUP)  # a reload; the setting needs no restart

    def stop(self) -> None:
        _stop(self.replica, signal.SIGQUIT)
        _stop(self.primary, signal.SIGQUIT)


@contextlib.contextmanager
def postgres_pair() -> Iterator[PostgresPair]:
    with tempfile.TemporaryDirectory(prefix="oxyde-pgpair-") as tmp:
        os.chmod(tmp, 0o755)
        pair = PostgresPair(Path(tmp) / "pg")
        try:
            pair.start()
            yield pair
        finally:
            pair.stop()


# -- MariaDB -----------------------------------------------------------------------------------


class MariaDBPair:
    """A MariaDB primary with a binary log and a replica reading it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.primary_port = _free_port()
        self.replica_port = _free_port()
        self.primary: subprocess.Popen[bytes] | None = None
        self.replica: subprocess.Popen[bytes] | None = None
        self._user = "mysql" if os.geteuid() == 0 else None

    def url(self, port: int, database: str = "app") -> str:
        return f"mysql://root@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _datadir(self, name: str) -> Path:
        return self.root / name

    def _install(self, name: str) -> None:
        datadir = self._datadir(name)
        datadir.mkdir(parents=True)
        if self._user:
            shutil.chown(datadir, self._user, self._user)
        tool = _mariadb_tool("mariadb-install-db")
        assert tool is not None
        cmd = [
            tool,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        if self._user:
            cmd.append(f"--user={self._user}")
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{done.stdout}\n{done.stderr}")

    def _start(self, name: str, port: int, server_id: int) -> subprocess.Popen[bytes]:
        datadir = self._datadir(name)
        log = self.root / f"{name}.log"
        tool = _mariadb_tool("mariadbd")
        assert tool is not None
        cmd = [
            tool,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={datadir}/mysqld.sock",
            f"--pid-file={datadir}/mysqld.pid",
            f"--server-id={server_id}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--sync-binlog=0",
            "--performance-schema=OFF",
            "--max-connections=200",
        ]
        if server_id == 1:
            cmd += ["--log-bin=binlog", "--binlog-format=ROW"]
        else:
            cmd += ["--relay-log=relay", "--read-only=ON", "--skip-slave-start"]
        if self._user:
            cmd.append(f"--user={self._user}")
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _wait_port(port, proc, log)
        return proc

    def sql(self, name: str, statement: str) -> str:
        """Run ``statement`` as root over the server's socket; its output."""
        client = _mariadb_tool("mariadb")
        assert client is not None
        datadir = self._datadir(name)
        done = subprocess.run(
            [
                client,
                "--no-defaults",
                f"--socket={datadir}/mysqld.sock",
                "-uroot",
                "-N",
                "-e",
                statement,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{statement!r} on {name} failed: {done.stderr}")
        return done.stdout

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self._install("primary")
        self._install("replica")
        self.primary = self._start("primary", self.primary_port, 1)
        self.replica = self._start("replica", self.replica_port, 2)
        grant = (
            "SET sql_log_bin = 0; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; "
            "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
        )
        self.sql("primary", grant)
        self.sql("replica", grant.replace("SET sql_log_bin = 0; ", ""))
        self.sql(
            "replica",
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={self.primary_port}, "
            "MASTER_USER='root', MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, "
            "MASTER_USE_GTID=slave_pos; START SLAVE;",
        )
        self.sql("primary", "CREATE DATABASE app")
        self.wait_replicated(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'app'", "1"
        )

    def wait_replicated(self, query: str, expected: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql("replica", query).strip() == expected:
                return
            time.sleep(0.05)
        status = self.sql("replica", "SHOW SLAVE STATUS\\G")
        raise RuntimeError(f"the replica did not catch up:\n{status}")

    def start_replica(self) -> None:
        self.replica = self._start("replica", self.replica_port, 2)
        self.sql("replica", "START SLAVE")

    def stop_replica(self) -> None:
        _stop(self.replica, signal.SIGKILL)
        self.replica = None

    def delay_replica(self, seconds: float) -> None:
        self.sql(
            "replica",
            f"STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={int(seconds)}; START SLAVE;",
        )

    def stop(self) -> None:
        _stop(self.replica)
        _stop(self.primary)


@contextlib.contextmanager
def mariadb_pair() -> Iterator[MariaDBPair]:
    with tempfile.TemporaryDirectory(prefix="oxyde-mariadbpair-") as tmp:
        os.chmod(tmp, 0o755)
        pair = MariaDBPair(Path(tmp) / "mariadb")
        try:
            pair.start()
            yield pair
        finally:
            pair.stop()
