"""Tables, keys, indexes, checks, defaults and an enum type."""

import datetime
from decimal import Decimal

from oxyde.migrations import MigrationContext

depends_on = None


def upgrade(ctx: MigrationContext) -> None:
    ctx.create_enum_type("mg_state_enum", ["draft", "published"])
    ctx.create_table(
        "mg_author",
        fields=[
            {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
            {"name": "name", "kind": "str", "max_length": 100, "unique": True},
            {
                "name": "bio",
                "kind": "str",
                "max_length": 500,
                "nullable": True,
                "comment": "Author's bio, 100% optional",
            },
        ],
    )
    ctx.create_table(
        "mg_post",
        fields=[
            {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
            {"name": "title", "kind": "str", "max_length": 200},
            {"name": "state", "kind": "enum", "enum": "mg_state_enum", "default": "draft"},
            {
                "name": "price",
                "kind": "decimal",
                "max_digits": 8,
                "decimal_places": 2,
                "default": Decimal("9.50"),
            },
            {"name": "published", "kind": "date", "default": datetime.date(2024, 1, 31)},
            {"name": "pinned", "kind": "bool", "default": False},
            {"name": "data", "kind": "json", "nullable": True},
            {"name": "created", "kind": "datetime", "db_default": "CURRENT_TIMESTAMP"},
            {"name": "author_id", "kind": "int", "nullable": True},
        ],
        indexes=[{"name": "mg_post_title_state_idx", "columns": ["title", "state"]}],
        foreign_keys=[
            {
                "name": "fk_mg_post_author_id",
                "column": "author_id",
                "ref_table": "mg_author",
                "ref_column": "id",
                "on_delete": "SET NULL",
                "on_update": "CASCADE",
            },
        ],
        checks=[{"name": "mg_post_price_pos", "expression": "price >= 0"}],
        uniques=[{"name": "mg_post_title_author_id_uniq", "columns": ["title", "author_id"]}],
    )


def downgrade(ctx: MigrationContext) -> None:
    ctx.drop_table("mg_post")
    ctx.drop_table("mg_author")
    ctx.drop_enum_type("mg_state_enum")
