"""A throwaway PgBouncer in transaction-pooling mode in front of the test PostgreSQL server.

Used two ways:

- ``start_pgbouncer(upstream_url)``: a context manager yielding the URL of a PgBouncer
  on a free local port; ``pgbouncer_for_tests()`` wraps it for a fixture (as the
  ``pgbouncer_url`` fixture here does);
- ``python -m tests.integration.pgbouncer [COMMAND...]``: runs COMMAND (default: the
  integration suite) with ``OXYDE_TEST_POSTGRES_URL`` pointing at a PgBouncer, with
  server-side prepared statements off (``?prepare_threshold=none``), so every PostgreSQL
  test runs through transaction pooling; ``OXYDE_TEST_POSTGRES_DIRECT_URL`` keeps the
  server's own address for tests that inspect server sessions.

PgBouncer is found on ``PATH`` or in ``/usr/sbin``. When it is missing the fixture skips,
or fails if ``OXYDE_TEST_REQUIRE`` names ``postgres`` (CI installs it).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.support.backends import is_required

__all__ = [
    "find_pgbouncer",
    "pgbouncer_for_tests",
    "pgbouncer_url",
    "postgres_url",
    "start_pgbouncer",
]

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("OXYDE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found is None and os.access("/usr/sbin/pgbouncer", os.X_OK):
        found = "/usr/sbin/pgbouncer"
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited with {proc.returncode}:\n{text}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on port {port} within {timeout}s")


@contextlib.contextmanager
def start_pgbouncer(
    upstream_url: str, *, pool_size: int = 4, port: int | None = None
) -> Iterator[str]:
    """Run PgBouncer (``pool_mode = transaction``) in front of ``upstream_url``; yield
    the URL that reaches the same database through it. ``pool_size`` server
    connections at most per database/user pair; ``port`` a fixed local port (to
    restart a bouncer where clients expect it), else a free one."""
    binary = find_pgbouncer()
    if binary is None:
        raise FileNotFoundError("pgbouncer is not installed")
    up = urlsplit(upstream_url)
    user = up.username or "postgres"
    database = up.path.lstrip("/") or user
    target = [f"host={up.hostname or '127.0.0.1'}", f"port={up.port or 5432}", f"user={user}"]
    if up.password:
        target.append(f"password={up.password}")
    port = port or _free_port()
    with tempfile.TemporaryDirectory(prefix="oxyde-pgbouncer-") as tmp:
        workdir = Path(tmp)
        log = workdir / "pgbouncer.log"
        (workdir / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = {' '.join(target)}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {port}",
                    "unix_socket_dir =",
                    # Every client logs in as the upstream user configured above.
                    "auth_type = any",
                    "pool_mode = transaction",
                    f"default_pool_size = {pool_size}",
                    "max_client_conn = 200",
                    "server_reset_query =",
                    f"logfile = {log}",
                    f"pidfile = {workdir / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        command = [binary, str(workdir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: drop to an unprivileged account.
            account = "postgres" if _has_user("postgres") else "nobody"
            entry = pwd.getpwnam(account)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
            command[1:1] = ["-u", account]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, proc, log, timeout=10.0)
            auth = quote(user, safe="")
            yield f"postgresql://{auth}@127.0.0.1:{port}/{quote(database, safe='')}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def pgbouncer_for_tests(upstream_url: str | None = None) -> Iterator[str]:
    """Body of a fixture yielding the URL of a PgBouncer (transaction mode) in front of
    the test server: skips, or fails when PostgreSQL is required, without pgbouncer."""
    if find_pgbouncer() is None:
        message = "pgbouncer is not installed (apt-get install pgbouncer)"
        if is_required("postgres"):
            pytest.fail(message)
        pytest.skip(message)
    with start_pgbouncer(upstream_url or postgres_url()) as url:
        yield url


@pytest.fixture(scope="module")
def pgbouncer_url() -> Iterator[str]:
    """URL of a module-wide PgBouncer in transaction mode in front of the test server."""
    yield from pgbouncer_for_tests()


def main(argv: list[str]) -> int:
    command = argv or [sys.executable, "-m", "pytest", "tests/integration", "-q"]
    with start_pgbouncer(postgres_url(), pool_size=8) as url:
        env = dict(
            os.environ,
            OXYDE_TEST_POSTGRES_URL=f"{url}?prepare_threshold=none",
            OXYDE_TEST_POSTGRES_DIRECT_URL=postgres_url(),
        )
        print(f"pgbouncer (transaction mode) at {url}", file=sys.stderr)
        return subprocess.call(command, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
