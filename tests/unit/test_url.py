"""Database URLs: schemes, SQLite path forms, server parts, options, bad input."""

from __future__ import annotations

import pytest

from oxyde.backends import backend_class
from oxyde.backends.url import parse_url


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://app.db", "app.db"),
        ("sqlite://data/app.db", "data/app.db"),
        ("sqlite:///var/lib/app.db", "/var/lib/app.db"),
        ("sqlite:////var/lib/app.db", "/var/lib/app.db"),
        ("sqlite::memory:", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://:memory:", ":memory:"),
        ("sqlite://my%20db.db", "my db.db"),
        ("sqlite:///tmp/app/test.db", "/tmp/app/test.db"),
    ],
)
def test_sqlite_paths(url: str, path: str) -> None:
    parsed = parse_url(url)
    assert parsed.backend == "sqlite"
    assert parsed.database == path
    assert parsed.is_memory is (path == ":memory:")


def test_sqlite_options_are_kept() -> None:
    parsed = parse_url("sqlite://app.db?temp_store=memory&mmap_size=0")
    assert parsed.database == "app.db"
    assert dict(parsed.options) == {"temp_store": "memory", "mmap_size": "0"}


def test_sqlite_url_without_a_path_is_rejected() -> None:
    with pytest.raises(ValueError, match="names no file"):
        parse_url("sqlite://")


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("postgresql://u:p@db.example:6543/app", "postgres"),
        ("postgres://u:p@db.example:6543/app", "postgres"),
        ("mysql://u:p@db.example:6543/app", "mysql"),
        ("mariadb://u:p@db.example:6543/app", "mysql"),
        ("POSTGRESQL://u:p@db.example:6543/app", "postgres"),
    ],
)
def test_server_urls(url: str, backend: str) -> None:
    parsed = parse_url(url)
    assert parsed.backend == backend
    assert (parsed.username, parsed.password) == ("u", "p")
    assert (parsed.host, parsed.port, parsed.database) == ("db.example", 6543, "app")


def test_credentials_are_percent_decoded_and_masked() -> None:
    parsed = parse_url("postgresql://me:s%40cret@localhost/app?sslmode=require")
    assert parsed.password == "s@cret"
    assert dict(parsed.options) == {"sslmode": "require"}
    assert "s%40cret" not in parsed.redacted()
    assert "***" in str(parsed)
    assert "cret" not in repr(parsed)


def test_server_url_without_port_or_database() -> None:
    parsed = parse_url("postgresql://localhost")
    assert (parsed.host, parsed.port, parsed.database) == ("localhost", None, None)


@pytest.mark.parametrize("url", ["oracle://x/y", "app.db", "http://x", ""])
def test_unknown_scheme_lists_the_valid_ones(url: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_url(url)
    message = str(info.value)
    for scheme in ("postgresql://", "postgres://", "mysql://", "mariadb://", "sqlite://"):
        assert scheme in message


def test_unknown_scheme_message_hides_the_password() -> None:
    with pytest.raises(ValueError) as info:
        parse_url("oracle://scott:tiger@host/db")
    assert "tiger" not in str(info.value)


def test_bad_port() -> None:
    with pytest.raises(ValueError, match="port"):
        parse_url("postgresql://localhost:notaport/db")


def test_backend_class_by_scheme_or_name() -> None:
    from oxyde.backends.sqlite import SQLiteBackend

    assert backend_class("sqlite") is SQLiteBackend
    with pytest.raises(ValueError, match="unknown backend"):
        backend_class("oracle")


def test_importing_oxyde_imports_no_server_driver() -> None:
    import subprocess
    import sys

    code = (
        "import sys, oxyde, oxyde.db;"
        "bad = [m for m in ('psycopg', 'psycopg_pool', 'MySQLdb') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_driver_names_the_extra_to_install() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['MySQLdb'] = None\n"
        "from oxyde.backends import backend_class\n"
        "for name, extra in (('postgresql', 'postgres'), ('mariadb', 'mysql')):\n"
        "    try:\n"
        "        backend_class(name)\n"
        "    except ImportError as exc:\n"
        "        assert f\"pip install 'oxyde-cy[{extra}]'\" in str(exc), exc\n"
        "    else:\n"
        "        raise AssertionError(name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_sqlite_driver_names_the_package() -> None:
    # apsw is a dependency of oxyde itself: there is no extra to name
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['apsw'] = None\n"
        "from oxyde.backends import backend_class\n"
        "try:\n"
        "    backend_class('sqlite')\n"
        "except ImportError as exc:\n"
        '    assert str(exc).endswith("driver: pip install apsw"), exc\n'
        "else:\n"
        "    raise AssertionError('sqlite')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_extra_a_message_names_exists() -> None:
    from importlib.metadata import metadata

    from oxyde.backends import BACKENDS

    extras = set(metadata("oxyde-cy").get_all("Provides-Extra") or ())
    named = {entry.extra for entry in BACKENDS.values() if entry.extra is not None}
    assert named <= extras, named - extras
