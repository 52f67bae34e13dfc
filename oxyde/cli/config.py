"""``oxyde_config.py``: where the CLI finds the models, the dialect, the migrations and
the databases."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["CONFIG_FILE", "Config", "ConfigError", "load_config", "render_config"]

CONFIG_FILE = "oxyde_config.py"
DIALECTS = ("postgres", "sqlite", "mysql")


class ConfigError(Exception):
    """The configuration is missing or wrong; the message says what to fix."""


@dataclass
class Config:
    path: Path
    models: list[str]
    dialect: str
    migrations_dir: Path
    #: alias -> URL, or a mapping with "url" and "replicas" (migrations use the URL)
    databases: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent

    def url(self, alias: str) -> str:
        """The URL of the primary of ``alias`` (where migrations run)."""
        try:
            value = self.databases[alias]
            return value if isinstance(value, str) else str(value["url"])
        except KeyError:
            known = ", ".join(self.databases) or "none"
            raise ConfigError(
                f"{self.path.name}: DATABASES has no {alias!r} (configured: {known})"
            ) from None

    def import_models(self) -> list[ModuleType]:
        """Import the MODELS modules (the config's folder first on ``sys.path``)."""
        from oxyde.meta.registry import assert_no_pending_models

        root = str(self.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        modules = []
        for name in self.models:
            try:
                modules.append(importlib.import_module(name))
            except ImportError as exc:
                raise ConfigError(f"cannot import models module {name!r}: {exc}") from exc
        try:
            assert_no_pending_models()
        except TypeError as exc:
            raise ConfigError(str(exc).replace("\n", " ")) from exc
        return modules


def _dialect_of_url(url: str) -> str | None:
    scheme = url.partition(":")[0].lower()
    for prefix, dialect in (("postgres", "postgres"), ("mysql", "mysql"), ("mariadb", "mysql")):
        if scheme.startswith(prefix):
            return dialect
    return "sqlite" if scheme.startswith("sqlite") else None


def load_config(path: str | Path | None = None) -> Config:
    """Read the configuration file (default: ``oxyde_config.py`` in the current folder)."""
    file = Path(path) if path is not None else Path.cwd() / CONFIG_FILE
    if not file.is_file():
        raise ConfigError(f"{file} not found; run `oxyde init` to write one")
    spec = importlib.util.spec_from_file_location("_oxyde_config", file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"{file.name} failed to load: {exc}") from exc
    values: dict[str, Any] = vars(module)

    models = values.get("MODELS")
    if isinstance(models, str):
        models = [models]
    if (
        not isinstance(models, list | tuple)
        or not models
        or not all(isinstance(m, str) and m for m in models)
    ):
        raise ConfigError(f'{file.name}: MODELS must list the models modules, e.g. ["models"]')

    databases = values.get("DATABASES", {})
    if not isinstance(databases, dict) or not all(
        isinstance(k, str) and (isinstance(v, str) or (isinstance(v, dict) and "url" in v))
        for k, v in databases.items()
    ):
        raise ConfigError(
            f'{file.name}: DATABASES must map aliases to URLs, e.g. {{"default": "..."}}, '
            'or to {"url": "...", "replicas": ["..."]}'
        )
    for alias, value in databases.items():
        if isinstance(value, dict):
            from oxyde.db.lifecycle import database_from

            try:
                database_from(alias, value)  # the replicas' URLs and options, checked
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{file.name}: DATABASES[{alias!r}]: {exc}") from exc

    dialect = values.get("DIALECT")
    if dialect is None and "default" in databases:
        default = databases["default"]
        dialect = _dialect_of_url(default if isinstance(default, str) else str(default["url"]))
    if dialect == "postgresql":
        dialect = "postgres"
    if dialect not in DIALECTS:
        raise ConfigError(
            f"{file.name}: DIALECT must be one of {', '.join(map(repr, DIALECTS))}, got {dialect!r}"
        )

    migrations_dir = values.get("MIGRATIONS_DIR", "migrations")
    if not isinstance(migrations_dir, str | Path) or not str(migrations_dir):
        raise ConfigError(f"{file.name}: MIGRATIONS_DIR must be a folder name")
    folder = Path(migrations_dir)
    if not folder.is_absolute():
        folder = file.parent / folder
    return Config(
        path=file.resolve(),
        models=list(models),
        dialect=dialect,
        migrations_dir=folder,
        databases=dict(databases),
    )


def render_config(models: list[str], dialect: str, url: str, migrations_dir: str) -> str:
    """The text ``oxyde init`` writes."""
    return (
        '"""oxyde settings: read by the `oxyde` command line."""\n'
        "\n"
        "# Modules that define the table models.\n"
        f"MODELS = {models!r}\n"
        "\n"
        "# SQL dialect for `makemigrations` and `sqlmigrate`: postgres, sqlite or mysql.\n"
        f"DIALECT = {dialect!r}\n"
        "\n"
        "# Folder of the migration files, relative to this file.\n"
        f"MIGRATIONS_DIR = {migrations_dir!r}\n"
        "\n"
        "# Databases by alias; `oxyde migrate --db-alias NAME` picks one.\n"
        f"DATABASES = {{\n    'default': {url!r},\n}}\n"
    )
