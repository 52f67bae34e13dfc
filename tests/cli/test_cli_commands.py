"""The ``oxyde`` command line, through ``python -m oxyde`` and Typer's runner: exit codes,
output, and errors as one line."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oxyde.cli import app
from oxyde.cli.config import load_config

ROOT = Path(__file__).resolve().parents[2]

MODELS_V1 = """\
from oxyde import Field, Model


class MgItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    price: int = 0

    class Meta:
        is_table = True
        table_name = "mg_item"
"""

MODELS_V2 = MODELS_V1.replace("name: str", "title: str")


def oxyde(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m oxyde`` in ``cwd`` (stdin is not a terminal)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("OXYDE_TRACEBACK", None)
    return subprocess.run(
        [sys.executable, "-m", "oxyde", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "models.py").write_text(MODELS_V1)
    (tmp_path / "oxyde_config.py").write_text(
        textwrap.dedent(
            f"""\
            MODELS = ["models"]
            DIALECT = "sqlite"
            MIGRATIONS_DIR = "migrations"
            DATABASES = {{"default": "sqlite://{tmp_path / "app.db"}"}}
            """
        )
    )
    return tmp_path


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project)
    return project


def test_the_entry_point_lists_the_commands(tmp_path: Path) -> None:
    result = oxyde(tmp_path, "--help")
    assert result.returncode == 0
    for command in (
        "init",
        "makemigrations",
        "migrate",
        "showmigrations",
        "sqlmigrate",
        "migrations",
        "generate-stubs",
    ):
        assert command in result.stdout


def test_a_missing_config_is_one_error_line(tmp_path: Path) -> None:
    result = oxyde(tmp_path, "migrate")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ") and "oxyde_config.py not found" in lines[0]
    assert "oxyde init" in lines[0]


def test_the_whole_cycle_through_the_entry_point(project: Path) -> None:
    made = oxyde(project, "makemigrations")
    assert made.returncode == 0, made.stderr
    assert "Wrote migrations/0001_initial.py" in made.stdout
    assert "Create table mg_item" in made.stdout
    assert "Stubs: models.pyi" in made.stdout
    assert (project / "models.pyi").exists()
    assert oxyde(project, "makemigrations").stdout.splitlines()[0] == "No changes detected."

    applied = oxyde(project, "migrate")
    assert applied.returncode == 0, applied.stderr
    assert "Applying 0001_initial... OK" in applied.stdout

    # a likely rename without a terminal to ask: refused, with the flag to use
    (project / "models.py").write_text(MODELS_V2)
    refused = oxyde(project, "makemigrations")
    assert refused.returncode == 1
    assert "--rename mg_item.name:title" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (project / "migrations" / "0002_rename_name_to_title.py").exists()

    dry = oxyde(project, "makemigrations", "--dry-run", "--no-renames")
    assert dry.returncode == 0, dry.stderr
    assert "Would write migrations/0002_add_title_to_mg_item_and_more.py" in dry.stdout
    assert "Drop column name from mg_item" in dry.stdout
    assert "def downgrade(ctx: MigrationContext) -> None:" in dry.stdout
    assert sorted(p.name for p in (project / "migrations").glob("*.py")) == ["0001_initial.py"]

    renamed = oxyde(project, "makemigrations", "--rename", "mg_item.name:title")
    assert renamed.returncode == 0, renamed.stderr
    assert "Rename column mg_item.name to title" in renamed.stdout
    assert oxyde(project, "migrate").returncode == 0

    shown = oxyde(project, "showmigrations")
    assert shown.stdout.splitlines() == [
        "[X] 0001_initial",
        "[X] 0002_rename_name_to_title",
        "2 of 2 applied.",
    ]
    back = oxyde(project, "migrate", "zero")
    assert back.returncode == 0
    assert "Unapplying 0002_rename_name_to_title... OK" in back.stdout
    assert "Unapplying 0001_initial... OK" in back.stdout


def test_migrate_and_friends_in_process(in_project: Path) -> None:
    runner = CliRunner()
    migrations = in_project / "migrations"
    migrations.mkdir()
    (migrations / "0001_initial.py").write_text(
        textwrap.dedent(
            """\
            depends_on = None

            def upgrade(ctx):
                ctx.create_table("mg_item", fields=[
                    {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
                    {"name": "name", "kind": "str", "max_length": 50},
                ])

            def downgrade(ctx):
                ctx.drop_table("mg_item")
            """
        )
    )
    sql = runner.invoke(app, ["sqlmigrate", "0001"])
    assert sql.exit_code == 0
    assert sql.stdout == (
        'CREATE TABLE "mg_item" ("id" INTEGER PRIMARY KEY, "name" VARCHAR(50) NOT NULL);\n'
    )
    sql = runner.invoke(app, ["sqlmigrate", "0001", "--dialect", "mysql", "--backwards"])
    assert sql.stdout == "DROP TABLE `mg_item`;\n"

    result = runner.invoke(app, ["showmigrations"])
    assert result.stdout.splitlines() == ["[ ] 0001_initial", "0 of 1 applied."]
    result = runner.invoke(app, ["migrate", "--fake"])
    assert result.exit_code == 0
    assert "Applying 0001_initial (fake)... OK" in result.stdout
    result = runner.invoke(app, ["showmigrations"])
    assert result.stdout.splitlines()[0] == "[X] 0001_initial"

    result = runner.invoke(app, ["migrate", "0007"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: no migration matches '0007'; known: 0001_initial"

    result = runner.invoke(app, ["migrate", "--db-alias", "replica"])
    assert result.exit_code == 1
    assert "DATABASES has no 'replica'" in result.stderr


def test_squash_asks_first(in_project: Path) -> None:
    runner = CliRunner()
    folder = in_project / "migrations"
    folder.mkdir()
    for n, depends in (("0001_a", None), ("0002_b", "0001_a")):
        (folder / f"{n}.py").write_text(
            f"depends_on = {depends!r}\n\ndef upgrade(ctx):\n    pass\n\n"
            "def downgrade(ctx):\n    pass\n"
        )
    refused = runner.invoke(app, ["migrations", "squash"])
    assert refused.exit_code == 1
    assert "pass --yes" in refused.stderr
    done = runner.invoke(app, ["migrations", "squash", "--yes", "--name", "all"])
    assert done.exit_code == 0, done.stderr
    assert "Wrote migrations/0001_all.py, replacing 2 migration(s)." in done.stdout
    assert sorted(p.name for p in folder.glob("*.py")) == ["0001_all.py"]


def test_init_writes_a_loadable_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = [
        "init",
        "--models",
        "app.models, app.more",
        "--dialect",
        "mysql",
        "--url",
        "mysql://x/y",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    config = load_config()
    assert config.models == ["app.models", "app.more"]
    assert config.dialect == "mysql"
    assert config.databases == {"default": "mysql://x/y"}
    assert config.migrations_dir == tmp_path / "migrations"
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "exists; pass --force" in again.stderr
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_a_bad_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "oxyde_config.py").write_text('MODELS = ["m"]\nDIALECT = "oracle"\n')
    result = CliRunner().invoke(app, ["sqlmigrate", "0001"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: oxyde_config.py: DIALECT must be one of")


@pytest.fixture
def models_module(in_project: Path) -> Iterator[str]:
    """A uniquely named models module of the project, forgotten after the test."""
    from oxyde.meta.registry import registered_tables, unregister_table

    name = f"mg_cli_models_{uuid.uuid4().hex[:8]}"
    (in_project / f"{name}.py").write_text(MODELS_V1)
    config = in_project / "oxyde_config.py"
    config.write_text(config.read_text().replace('MODELS = ["models"]', f"MODELS = [{name!r}]"))
    before = set(registered_tables())
    yield name
    for key, model in registered_tables().items():
        if key not in before:
            unregister_table(model)
    sys.modules.pop(name, None)
    if str(in_project) in sys.path:
        sys.path.remove(str(in_project))


def test_a_rename_is_asked_in_a_terminal(
    models_module: str, in_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["makemigrations", "--no-stubs"]).exit_code == 0
    # the second version of the module, as a new class in a fresh import
    from oxyde.meta.registry import registered_tables, unregister_table

    for key, model in registered_tables().items():
        if key.startswith(models_module):
            unregister_table(model)
    sys.modules.pop(models_module, None)
    (in_project / f"{models_module}.py").write_text(MODELS_V2)

    # the package exports the Typer app under the module's name: patch the module
    monkeypatch.setattr(importlib.import_module("oxyde.cli.app"), "interactive", lambda: True)
    result = runner.invoke(app, ["makemigrations", "--no-stubs"], input="y\n")
    assert result.exit_code == 0, result.stderr
    assert "Was mg_item.name -> mg_item.title a rename?" in result.stdout
    assert "Rename column mg_item.name to title" in result.stdout


def test_version(tmp_path: Path) -> None:
    from oxyde import __version__

    result = oxyde(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"oxyde {__version__}"


def _closed_port() -> int:
    """A port nothing listens on (the OS picked it free, and it is closed again)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("dialect", "url"),
    [("postgres", "postgresql://postgres@127.0.0.1:{port}/x"),
     ("mysql", "mysql://root@127.0.0.1:{port}/x")],
)  # fmt: skip
def test_a_database_that_is_down_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialect: str, url: str
) -> None:
    pytest.importorskip("psycopg" if dialect == "postgres" else "MySQLdb")
    (tmp_path / "models.py").write_text(MODELS_V1)
    (tmp_path / "oxyde_config.py").write_text(
        f'MODELS = ["models"]\nDIALECT = "{dialect}"\nMIGRATIONS_DIR = "migrations"\n'
        f'DATABASES = {{"default": "{url.format(port=_closed_port())}"}}\n'
    )
    monkeypatch.setenv("OXYDE_CONNECT_TIMEOUT", "1")
    result = oxyde(tmp_path, "showmigrations")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot connect to database 'default'"), result.stderr
    assert result.stderr.count("Error") == 1
    assert "error connecting" not in result.stderr  # no pool retry warnings
    assert "Traceback" not in result.stderr
