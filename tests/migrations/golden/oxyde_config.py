"""Settings of the golden sqlmigrate tests (no models are imported by sqlmigrate)."""

MODELS = ["models"]
DIALECT = "postgres"
MIGRATIONS_DIR = "migrations"
DATABASES = {"default": "sqlite://unused.db"}
