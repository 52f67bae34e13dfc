"""``create_tables`` / ``drop_tables``: dependency order, idempotence, foreign keys."""

from __future__ import annotations

from typing import Any

import pytest

from oxyde import Field, Model
from oxyde.db import atomic, create_tables, drop_tables
from oxyde.exceptions import ForeignKeyViolationError, OxydeError
from oxyde.models import registered_tables, unregister_table


class SchemaCountry(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50, db_unique=True)

    class Meta:
        is_table = True
        table_name = "sch_country"


class SchemaPerson(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    city: SchemaCity | None = Field(default=None, db_on_delete="SET NULL")
    manager: SchemaPerson | None = Field(default=None, db_on_delete="SET NULL")

    class Meta:
        is_table = True
        table_name = "sch_person"


# Declared after the model that references it: creation order must not follow the
# order of declaration.
class SchemaCity(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    country: SchemaCountry = Field(db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "sch_city"


class SchemaTeam(Model):
    id: int | None = Field(default=None, db_pk=True)
    captain: SchemaPlayer | None = Field(default=None, db_on_delete="SET NULL")

    class Meta:
        is_table = True
        table_name = "sch_team"


class SchemaPlayer(Model):
    id: int | None = Field(default=None, db_pk=True)
    team: SchemaTeam | None = Field(default=None, db_on_delete="SET NULL")

    class Meta:
        is_table = True
        table_name = "sch_player"


CHAIN = (SchemaPerson, SchemaCity, SchemaCountry)
CYCLE = (SchemaTeam, SchemaPlayer)
# Kept out of the registry, so other tests' create_tables() do not create them.
for _model in (*CHAIN, *CYCLE):
    registered_tables()
    unregister_table(_model)

sqlite_only = pytest.mark.parametrize("backend_name", ["sqlite"])


def marks(database: Any, n: int) -> str:
    style = database.dialect.placeholder
    if style == "numeric":
        return ", ".join(f"${i}" for i in range(1, n + 1))
    return ", ".join(["?" if style == "qmark" else "%s"] * n)


async def table_exists(database: Any, name: str) -> bool:
    try:
        await database.fetch(f"SELECT 1 FROM {database.dialect.quote_ident(name)} WHERE 1 = 0", ())
    except OxydeError:
        return False
    return True


async def test_create_in_dependency_order_and_idempotent(database: Any) -> None:
    await drop_tables(database, models=CHAIN)
    try:
        await create_tables(database, models=CHAIN)
        await create_tables(database, models=CHAIN)  # again: nothing to do, no error
        for name in ("sch_country", "sch_city", "sch_person"):
            assert await table_exists(database, name), name
        await database.execute(
            f"INSERT INTO sch_country (id, name) VALUES ({marks(database, 2)})", (1, "FR")
        )
        await database.execute(
            f"INSERT INTO sch_city (id, name, country_id) VALUES ({marks(database, 3)})",
            (1, "Lyon", 1),
        )
        # The foreign keys exist and are enforced.
        with pytest.raises(ForeignKeyViolationError):
            await database.execute(
                f"INSERT INTO sch_city (id, name, country_id) VALUES ({marks(database, 3)})",
                (2, "Nowhere", 99),
            )
    finally:
        await drop_tables(database, models=CHAIN)
    for name in ("sch_country", "sch_city", "sch_person"):
        assert not await table_exists(database, name), name


async def test_drop_with_rows_that_reference_each_other(database: Any) -> None:
    await drop_tables(database, models=CHAIN)
    await create_tables(database, models=CHAIN)
    await database.execute(
        f"INSERT INTO sch_country (id, name) VALUES ({marks(database, 2)})", (1, "FR")
    )
    await database.execute(
        f"INSERT INTO sch_city (id, name, country_id) VALUES ({marks(database, 3)})",
        (1, "Lyon", 1),
    )
    await database.execute(
        f"INSERT INTO sch_person (id, name, city_id, manager_id) VALUES ({marks(database, 4)})",
        (1, "Ana", 1, None),
    )
    await database.execute(
        f"INSERT INTO sch_person (id, name, city_id, manager_id) VALUES ({marks(database, 4)})",
        (2, "Bo", 1, 1),
    )
    await drop_tables(database, models=CHAIN)
    assert not await table_exists(database, "sch_person")
    await drop_tables(database, models=CHAIN)  # nothing left: still fine


@sqlite_only
async def test_sqlite_drops_a_reference_cycle(database: Any) -> None:
    await create_tables(database, models=CYCLE)
    await database.execute("INSERT INTO sch_team (id, captain_id) VALUES (1, NULL)", ())
    await database.execute("INSERT INTO sch_player (id, team_id) VALUES (1, 1)", ())
    await database.execute("UPDATE sch_team SET captain_id = 1", ())
    await drop_tables(database, models=CYCLE)
    assert not await table_exists(database, "sch_team")
    assert not await table_exists(database, "sch_player")
    # Enforcement is back on for the connection that dropped them.
    assert await database.fetch("PRAGMA foreign_keys", (), write=True) == [(1,)]


async def test_create_tables_for_the_registry(database: Any) -> None:
    """With no ``models``, every registered table model (none of the ones above)."""
    await create_tables(database)
    await drop_tables(database)
    assert not await table_exists(database, "sch_country")


async def test_models_write_through_the_task_transaction(database: Any, model_tables: Any) -> None:
    await model_tables(SchemaCountry)
    with pytest.raises(RuntimeError):
        async with atomic():
            await SchemaCountry.objects.create(name="FR")
            assert await SchemaCountry.objects.count() == 1
            raise RuntimeError
    assert await SchemaCountry.objects.count() == 0
    await SchemaCountry.objects.create(name="DE")
    assert await database.fetch("SELECT name FROM sch_country", ()) == [("DE",)]
